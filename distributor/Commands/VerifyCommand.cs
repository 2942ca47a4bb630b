using System.CommandLine;
using System.Security.Cryptography;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;

namespace OsVenvArtifacts.Distributor.Commands;

internal sealed record VerifyOptions(StoreOptions Store, string Service, string Tag, string? Platform, IReadOnlyList<string> PublicKeys, bool Json);

/// <summary>
/// <c>osva-publish verify --store LOCATION SERVICE TAG [--platform P] [--public-key PEM]...</c>: download what a host would
/// and check it: the index's expiry (and with public keys its signature), manifest against the index, <c>.sha256</c> and
/// manifest against the index, the archive's real hash and size, and with public keys the manifest's signature.
/// </summary>
internal static class VerifyCommand
{
    public static readonly Argument<string> Service = new("SERVICE") { Description = "Service name" };

    public static readonly Argument<string> Tag = new("TAG") { Description = "Tag or alias" };

    public static readonly Option<string?> Platform = new("--platform") { Description = "Only this platform (default: every platform of the tag)" };

    public static readonly Option<string[]> PublicKey = new("--public-key")
    {
        Description = "PEM public key (ECDSA P-256) to check index.json.sig and .manifest.json.sig with; repeatable, any one suffices",
    };

    public static Command Create()
    {
        var command = new Command("verify", "Download a published tag and check its hashes (and signature with --public-key)");
        command.Arguments.Add(Service);
        command.Arguments.Add(Tag);
        command.Options.Add(Platform);
        command.Options.Add(PublicKey);
        CommonOptions.AddTo(command);
        CommonOptions.SetGuardedAction(command, (r, ct) => RunAsync(new VerifyOptions(CommonOptions.BindStore(r), r.GetValue(Service)!,
            r.GetValue(Tag)!, r.GetValue(Platform), r.GetValue(PublicKey) ?? [], r.GetValue(CommonOptions.Json)), ct));
        return command;
    }

    public static async Task<int> RunAsync(VerifyOptions options, CancellationToken ct)
    {
        var keys = LoadKeys(options.PublicKeys);
        try
        {
            using var store = options.Store.OpenReader();
            var service = Names.Service(options.Service);
            var (index, indexReport) = await VerifyIndexAsync(store, service, keys, ct);
            var tag = ShowCommand.RequireTag(index, options.Tag, store.Location.ToString());
            var artifacts = tag.Artifacts.Where(a => options.Platform is null || a.Platform == options.Platform).ToList();
            if (artifacts.Count == 0)
            {
                throw new PublishException("OSVA-P061", $"{index.Service} {tag.Tag} has no platform {options.Platform}",
                    $"published platforms: {string.Join(", ", tag.Artifacts.Select(a => a.Platform))}", ExitCode.StoreError);
            }
            if (!options.Json)
            {
                await Output.LineAsync($"ok index {StoreKeys.Index(service)}  version {indexReport.Version}  expires {indexReport.Expires}  signature {indexReport.Signature}");
            }
            foreach (var entry in artifacts)
            {
                var report = await VerifyAsync(store, index.Service, tag.Tag, entry, keys, ct) with { Index = indexReport };
                if (options.Json) await Output.JsonAsync(report, PublishJsonContext.Default.VerifyReport);
                else await Output.LineAsync($"ok {index.Service} {tag.Tag} {entry.Platform}  sha256 {report.ArchiveSha256}  {Output.Size(report.ArchiveSize)}  signature {report.Signature}");
            }
            return 0;
        }
        finally
        {
            foreach (var key in keys) key.Dispose();
        }
    }

    private static List<ECDsa> LoadKeys(IReadOnlyList<string> paths)
    {
        var keys = new List<ECDsa>();
        foreach (var path in paths)
        {
            if (!File.Exists(path))
            {
                foreach (var key in keys) key.Dispose();
                throw new PublishException("OSVA-P065", $"--public-key {path} does not exist",
                    "give the PEM public key that matches the --signing-key (PREFIX.pub from osva-publish keygen, or openssl ec -in key.pem -pubout -out pub.pem)", ExitCode.InvalidInput);
            }
            // The shared contract code: a key that is not P-256 PEM is a one-line error too.
            keys.Add(Signatures.LoadKey(path));
        }
        return keys;
    }

    /// <summary>
    /// The index as hosts will judge it, from one read of its bytes: not expired, and with keys signed by one of them.
    /// An index from before versions and expiry (expires null) is reported, not refused; hosts decide.
    /// </summary>
    private static async Task<(StoreIndex Index, IndexReport Report)> VerifyIndexAsync(IStoreReader store, string service, List<ECDsa> keys, CancellationToken ct)
    {
        var key = StoreKeys.Index(service);
        byte[] bytes;
        try
        {
            bytes = await ReadAllAsync(store, key, ct);
        }
        catch (StoreNotFoundException)
        {
            throw ListCommand.NothingPublished(store, service);
        }
        StoreIndex index;
        using (var stream = new MemoryStream(bytes, writable: false))
        {
            index = await ArtifactJson.ReadIndexAsync(stream, $"{store.Location}/{key}", ct);
        }
        if (index.Expires is { } expires && expires <= DateTimeOffset.UtcNow)
        {
            throw new PublishException("OSVA-P068", $"{key} (version {index.Version}) expired at {expires:yyyy-MM-ddTHH:mm:ssZ}; hosts refuse it",
                $"renew it: osva-publish sign-index {service} --signing-key KEY.pem", ExitCode.VerificationFailed);
        }

        var sigKey = StoreKeys.IndexSignature(service);
        string signature;
        if (keys.Count == 0)
        {
            signature = await store.ExistsAsync(sigKey, ct) ? "present (not checked: no --public-key)" : "none";
        }
        else
        {
            string text;
            try
            {
                text = System.Text.Encoding.ASCII.GetString(await ReadAllAsync(store, sigKey, ct));
            }
            catch (StoreNotFoundException)
            {
                throw new PublishException("OSVA-P066", $"{sigKey} is not in the store, so the index cannot be checked",
                    $"sign it: osva-publish sign-index {service} --signing-key KEY.pem, or verify without --public-key", ExitCode.VerificationFailed);
            }
            signature = Signatures.SignedBy(bytes, text, keys) is { } signer
                ? $"valid (key {Signatures.KeyId(signer)})"
                : throw new PublishException("OSVA-P067", $"{sigKey} does not verify {key} under any --public-key",
                    $"the index was changed outside osva-publish or signed with another key; if the store is sound, sign it again: osva-publish sign-index {service} --signing-key KEY.pem",
                    ExitCode.VerificationFailed);
        }
        return (index, new IndexReport(index.Version, index.Expires is { } e ? $"{e:yyyy-MM-ddTHH:mm:ssZ}" : "never (an index from before expiry)", signature));
    }

    public static async Task<VerifyReport> VerifyAsync(IStoreReader store, string service, string tag, IndexArtifact entry, IReadOnlyList<ECDsa> keys, CancellationToken ct)
    {
        var id = new ArtifactId(service, tag, PlatformId.Parse(entry.Platform));
        var manifestBytes = await ReadAllAsync(store, id.StoreKey(id.ManifestFileName), ct);
        Expect(id.ManifestFileName, Sha256.Of(manifestBytes), entry.ManifestSha256, "the index");
        Manifest manifest;
        using (var stream = new MemoryStream(manifestBytes, writable: false))
        {
            manifest = await ArtifactJson.ReadManifestAsync(stream, id.ManifestFileName, ct);
        }
        Expect(id.ArchiveFileName + " (per manifest)", manifest.Archive.Sha256, entry.ArchiveSha256, "the index");

        var checksumText = System.Text.Encoding.UTF8.GetString(await ReadAllAsync(store, id.StoreKey(id.ChecksumFileName), ct));
        Expect(id.ChecksumFileName, Sha256.ParseChecksumLine(checksumText, id.ArchiveFileName, id.ChecksumFileName), entry.ArchiveSha256, "the index");

        string actual;
        long size;
        await using (var archive = await store.OpenReadAsync(id.StoreKey(id.ArchiveFileName), ct))
        await using (var hashing = new HashingStream(archive))
        {
            await hashing.CopyToAsync(Stream.Null, 1 << 20, ct);
            size = hashing.BytesHashed;
            actual = hashing.Finish();
        }
        Expect(id.ArchiveFileName, actual, entry.ArchiveSha256, "the index and manifest");
        if (size != entry.ArchiveSize)
        {
            throw new PublishException("OSVA-P062", $"{id.ArchiveFileName} has {size} bytes in the store but the index says {entry.ArchiveSize}",
                "republish the artifact with --force", ExitCode.VerificationFailed);
        }

        var signature = await CheckSignatureAsync(store, id, manifestBytes, keys, ct);
        return new VerifyReport(service, tag, entry.Platform, actual, size, signature);
    }

    private static async Task<string> CheckSignatureAsync(IStoreReader store, ArtifactId id, byte[] manifest, IReadOnlyList<ECDsa> keys, CancellationToken ct)
    {
        var key = id.StoreKey(id.SignatureFileName);
        if (keys.Count == 0) return await store.ExistsAsync(key, ct) ? "present (not checked: no --public-key)" : "none";
        if (!await store.ExistsAsync(key, ct))
        {
            throw new PublishException("OSVA-P063", $"{id.SignatureFileName} is not in the store, so the manifest cannot be checked",
                "sign the manifest when building and republish (or osva-publish sign-index --resign-manifests), or verify without --public-key", ExitCode.VerificationFailed);
        }
        // A signature that is not base64 DER is the same one-line refusal as a wrong one.
        var signature = System.Text.Encoding.ASCII.GetString(await ReadAllAsync(store, key, ct));
        if (!Signatures.Verify(manifest, signature, keys))
        {
            throw new PublishException("OSVA-P064", $"{id.SignatureFileName} does not match {id.ManifestFileName} under any --public-key",
                "the manifest was changed or signed with another key; rebuild and republish", ExitCode.VerificationFailed);
        }
        return "valid";
    }

    public static void Expect(string what, string actual, string expected, string source)
    {
        if (actual != expected)
        {
            throw new PublishException("OSVA-P060", $"{what} has sha256 {actual} but {source} says {expected}",
                "the store copy is damaged or was replaced outside osva-publish; republish the tag with --force", ExitCode.VerificationFailed);
        }
    }

    private static async Task<byte[]> ReadAllAsync(IStoreReader store, string key, CancellationToken ct)
    {
        await using var stream = await store.OpenReadAsync(key, ct);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, ct);
        return buffer.ToArray();
    }
}
