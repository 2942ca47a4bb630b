using System.CommandLine;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Distributor.Publishing;

namespace OsVenvArtifacts.Distributor.Commands;

internal sealed record SignIndexOptions(StoreOptions Store, IndexOptions Index, string Service, bool ResignManifests, bool Json);

/// <summary>
/// <c>osva-publish sign-index --store LOCATION SERVICE --signing-key KEY [--index-expires D] [--resign-manifests]</c>:
/// writes the index again with a higher version and a new expiry, signed. Run it before the index expires (hosts refuse
/// an expired one), and with <c>--resign-manifests</c> to move every published manifest to a new key.
/// </summary>
internal static class SignIndexCommand
{
    public static readonly Argument<string> Service = new("SERVICE") { Description = "Service whose index to sign" };

    public static readonly Option<bool> ResignManifests = new("--resign-manifests")
    {
        Description = "Also sign every published manifest with this key (.manifest.json.sig), to move to a new key",
    };

    public static Command Create()
    {
        var command = new Command("sign-index", "Renew a service's index (version + 1, new expiry) and sign it; optionally re-sign its manifests");
        command.Arguments.Add(Service);
        command.Options.Add(ResignManifests);
        CommonOptions.AddIndexOptions(command);
        CommonOptions.AddTo(command);
        CommonOptions.SetGuardedAction(command, (r, ct) => RunAsync(new SignIndexOptions(CommonOptions.BindStore(r), CommonOptions.BindIndex(r),
            r.GetValue(Service)!, r.GetValue(ResignManifests), r.GetValue(CommonOptions.Json)), ct));
        return command;
    }

    public static async Task<int> RunAsync(SignIndexOptions options, CancellationToken ct)
    {
        using var policy = options.Index.Open();
        if (policy.Signer is not { } signer)
        {
            throw new PublishException("OSVA-P080", "sign-index needs a signing key",
                $"pass --signing-key KEY.pem or set {IndexSigner.EnvironmentVariable}", ExitCode.Usage);
        }
        using var store = options.Store.OpenWritable();
        var service = Names.Service(options.Service);
        var catalog = new ServiceCatalog(store, TimeProvider.System, policy);
        var signature = await catalog.CheckSigningAsync(service, ct);
        var current = await ListCommand.RequireIndexAsync(store, service, ct);

        var manifests = 0;
        if (options.ResignManifests)
        {
            foreach (var tag in current.Tags)
            {
                foreach (var entry in tag.Artifacts)
                {
                    var id = new ArtifactId(service, tag.Tag, PlatformId.Parse(entry.Platform));
                    var manifest = await store.GetSmallAsync(id.StoreKey(id.ManifestFileName), ct)
                        ?? throw new StoreNotFoundException(store.Location.Root, id.StoreKey(id.ManifestFileName));
                    // Sign only what the index vouches for: a manifest changed in the store must not gain a good signature.
                    VerifyCommand.Expect(id.ManifestFileName, Sha256.Of(manifest.Data), entry.ManifestSha256, "the index");
                    await store.PutSmallAsync(id.StoreKey(id.SignatureFileName), signer.Sign(manifest.Data), null, ct);
                    manifests++;
                }
            }
        }
        var index = await catalog.SettleIndexAsync(service, ct, renew: true);
        if (signature == SignatureState.Stale) await Output.RepairedSignatureAsync(service, signer);

        var report = new SignIndexReport(service, index.Version, index.Expires, signer.KeyId, manifests);
        if (options.Json) await Output.JsonAsync(report, PublishJsonContext.Default.SignIndexReport);
        else await Output.LineAsync($"signed {StoreKeys.Index(service)} version {index.Version}, expires {index.Expires:yyyy-MM-ddTHH:mm:ssZ}, key {signer.KeyId}"
            + (options.ResignManifests ? $"; signed {manifests} manifests" : ""));
        return 0;
    }
}
