using System.CommandLine;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Distributor.Publishing;

namespace OsVenvArtifacts.Distributor.Commands;

internal sealed record PublishOptions(StoreOptions Store, IndexOptions Index, IReadOnlyList<string> Paths, bool Force, string? Alias, bool Json);

/// <summary><c>osva-publish publish DIR_OR_MANIFEST... --store LOCATION [--force] [--alias NAME] [--signing-key KEY] [--index-expires D] [--json]</c></summary>
internal static class PublishCommand
{
    public static readonly Argument<string[]> Paths = new("DIR_OR_MANIFEST")
    {
        Description = "Directories written by osva-build, or .manifest.json files",
        Arity = ArgumentArity.OneOrMore,
    };

    public static readonly Option<bool> Force = new("--force")
    {
        Description = "Replace an artifact already published under the same tag and platform (recorded in the index history)",
    };

    public static readonly Option<string?> Alias = new("--alias") { Description = "Also point this alias (stable, candidate, ...) at the published tag" };

    public static Command Create()
    {
        var command = new Command("publish", "Upload artifacts: files first, index last; identical republishing is a no-op");
        command.Arguments.Add(Paths);
        command.Options.Add(Force);
        command.Options.Add(Alias);
        CommonOptions.AddIndexOptions(command);
        CommonOptions.AddTo(command);
        CommonOptions.SetGuardedAction(command, (r, ct) => RunAsync(new PublishOptions(CommonOptions.BindStore(r), CommonOptions.BindIndex(r), r.GetValue(Paths) ?? [],
            r.GetValue(Force), r.GetValue(Alias), r.GetValue(CommonOptions.Json)), ct));
        return command;
    }

    public static async Task<int> RunAsync(PublishOptions options, CancellationToken ct)
    {
        // Check every artifact before uploading any, so a bad one in a batch leaves the store untouched.
        var artifacts = new List<LocalArtifact>();
        foreach (var manifest in LocalArtifact.FindManifests(options.Paths))
        {
            artifacts.Add(await LocalArtifact.LoadAsync(manifest, ct));
        }
        using var policy = options.Index.Open();
        using var store = options.Store.OpenWritable();
        // A directory store is made by its first publish; said, so a mistyped --store does not go unnoticed.
        if (store.Location.Kind == StoreKind.Directory && !Directory.Exists(store.Location.Root))
        {
            Directory.CreateDirectory(store.Location.Root);
            if (!options.Json) await Output.LineAsync($"created the store directory {store.Location.Root}");
        }
        var catalog = new ServiceCatalog(store, TimeProvider.System, policy);
        var stale = new List<string>();
        foreach (var service in artifacts.Select(a => a.Id.Service).Distinct())
        {
            if (await catalog.CheckSigningAsync(service, ct) == SignatureState.Stale) stale.Add(service);
        }
        var reports = new List<PublishReport>();
        foreach (var artifact in artifacts)
        {
            PublishReport report;
            using (var progress = TerminalProgress.Create(artifact.Id.ToString(), artifact.Files.Sum(f => f.Size), options.Json))
            {
                report = await new Publisher(catalog, TimeProvider.System, progress).PublishAsync(artifact, options.Force, options.Alias, ct);
            }
            reports.Add(report);
            if (!options.Json)
            {
                await Output.LineAsync($"{report.Status,-9} {store.Location.Root.TrimEnd('/')}/{artifact.Id.StoreKey(artifact.Id.ArchiveFileName)}  sha256 {report.ArchiveSha256}  {Output.Size(report.ArchiveSize)}"
                    + (report.FilesSkipped > 0 && report.Status != "unchanged" ? $"  ({report.FilesSkipped} files already there)" : "")
                    + (report.Alias is { } a ? $"  {a} -> {report.Tag}" : ""));
            }
        }
        foreach (var service in stale) await Output.RepairedSignatureAsync(service, policy.Signer!);
        if (options.Json) await Output.JsonAsync(reports, PublishJsonContext.Default.ListPublishReport);
        return 0;
    }
}
