using System.CommandLine;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Distributor.Commands;

internal sealed record ShowOptions(StoreOptions Store, string Service, string Tag, bool Json);

/// <summary><c>osva-publish show --store LOCATION SERVICE TAG_OR_ALIAS [--json]</c></summary>
internal static class ShowCommand
{
    public static readonly Argument<string> Service = new("SERVICE") { Description = "Service name" };

    public static readonly Argument<string> Tag = new("TAG") { Description = "Tag or alias" };

    public static Command Create()
    {
        var command = new Command("show", "Show one tag's platforms, hashes, sizes and store keys");
        command.Arguments.Add(Service);
        command.Arguments.Add(Tag);
        CommonOptions.AddTo(command);
        CommonOptions.SetGuardedAction(command, (r, ct) =>
            RunAsync(new ShowOptions(CommonOptions.BindStore(r), r.GetValue(Service)!, r.GetValue(Tag)!, r.GetValue(CommonOptions.Json)), ct));
        return command;
    }

    public static async Task<int> RunAsync(ShowOptions options, CancellationToken ct)
    {
        using var store = options.Store.OpenReader();
        var index = await ListCommand.RequireIndexAsync(store, options.Service, ct);
        var tag = RequireTag(index, options.Tag, store.Location.ToString());
        if (options.Json)
        {
            await Output.JsonAsync(tag, PublishJsonContext.Default.IndexTag);
            return 0;
        }
        var aliases = index.Aliases.Where(a => a.Value == tag.Tag).Select(a => a.Key).ToList();
        await Output.LineAsync($"{index.Service} {tag.Tag}" + (aliases.Count > 0 ? $" ({string.Join(", ", aliases)})" : ""));
        foreach (var a in tag.Artifacts)
        {
            await Output.LineAsync($"  {a.Platform}");
            await Output.LineAsync($"    archive   {StoreKeys.File(index.Service, tag.Tag, a.ArchiveFileName)}");
            await Output.LineAsync($"    sha256    {a.ArchiveSha256}");
            await Output.LineAsync($"    size      {a.ArchiveSize} ({Output.Size(a.ArchiveSize)})");
            await Output.LineAsync($"    manifest  sha256 {a.ManifestSha256}");
            await Output.LineAsync($"    published {a.Published:yyyy-MM-ddTHH:mm:ssZ}");
        }
        return 0;
    }

    public static IndexTag RequireTag(StoreIndex index, string tagOrAlias, string location) =>
        index.Resolve(tagOrAlias) is { } resolved && index.FindTag(resolved) is { } tag
            ? tag
            : throw new PublishException("OSVA-P053", $"{index.Service} has no tag or alias '{tagOrAlias}' in {location}",
                $"published tags: {string.Join(", ", index.Tags.Select(t => t.Tag).DefaultIfEmpty("none"))}", ExitCode.StoreError);
}
