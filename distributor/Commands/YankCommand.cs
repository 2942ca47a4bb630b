using System.CommandLine;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Distributor.Publishing;

namespace OsVenvArtifacts.Distributor.Commands;

internal sealed record YankOptions(StoreOptions Store, IndexOptions Index, string Service, string Tag, string? Platform, bool Json);

/// <summary>
/// <c>osva-publish yank --store LOCATION SERVICE TAG [--platform P] [--signing-key KEY] [--index-expires D]</c>: take a tag (or one platform of it) out of the
/// index first, then delete its files, so no reader is ever sent to a file that is gone. Aliases on a removed tag go too.
/// Each removed entry is kept as a tombstone, so the tag cannot come back with other bytes without --force.
/// </summary>
internal static class YankCommand
{
    public static readonly Argument<string> Service = new("SERVICE") { Description = "Service name" };

    public static readonly Argument<string> Tag = new("TAG") { Description = "Tag to remove" };

    public static readonly Option<string?> Platform = new("--platform") { Description = "Remove only this platform of the tag" };

    public static Command Create()
    {
        var command = new Command("yank", "Remove a tag from the index, then delete its files");
        command.Aliases.Add("delete");
        command.Arguments.Add(Service);
        command.Arguments.Add(Tag);
        command.Options.Add(Platform);
        CommonOptions.AddIndexOptions(command);
        CommonOptions.AddTo(command);
        CommonOptions.SetGuardedAction(command, (r, ct) => RunAsync(new YankOptions(CommonOptions.BindStore(r), CommonOptions.BindIndex(r), r.GetValue(Service)!,
            r.GetValue(Tag)!, r.GetValue(Platform), r.GetValue(CommonOptions.Json)), ct));
        return command;
    }

    public static async Task<int> RunAsync(YankOptions options, CancellationToken ct)
    {
        using var policy = options.Index.Open();
        using var store = options.Store.OpenWritable();
        var catalog = new ServiceCatalog(store, TimeProvider.System, policy);
        var service = Names.Service(options.Service);
        var tag = Names.Tag(options.Tag);
        var signature = await catalog.CheckSigningAsync(service, ct);
        var entries = await catalog.ReadEntriesAsync(service, tag, ct);
        var removing = entries.Where(e => options.Platform is null || e.Platform == options.Platform).ToList();
        var removed = removing.Select(e => e.Platform).ToList();
        if (removed.Count == 0)
        {
            throw new PublishException("OSVA-P041", $"{service} has no published tag {tag}" + (options.Platform is { } p ? $" for platform {p}" : ""),
                "pick a tag and platform from osva-publish list", ExitCode.InvalidInput);
        }
        var wholeTag = removed.Count == entries.Count;

        foreach (var entry in removing)
        {
            await catalog.WriteYankedAsync(service, tag, entry, ct);
            await catalog.DeleteEntryAsync(service, tag, entry.Platform, ct);
        }
        if (wholeTag)
        {
            var index = await catalog.ReadIndexAsync(service, ct);
            foreach (var alias in index?.Aliases.Where(a => a.Value == tag).Select(a => a.Key) ?? []) await catalog.DeleteAliasAsync(service, alias, ct);
        }
        await catalog.RecordAsync(service, "yank", tag, options.Platform, wholeTag ? "all platforms" : string.Join(", ", removed), ct);
        await catalog.SettleIndexAsync(service, ct);
        if (signature == SignatureState.Stale) await Output.RepairedSignatureAsync(service, policy.Signer!);

        // Only now, with the index no longer naming them, do the files go.
        var deleted = new List<string>();
        await foreach (var o in store.ListAsync(StoreKeys.TagPrefix(service, tag), ct))
        {
            var name = o.Key[StoreKeys.TagPrefix(service, tag).Length..];
            if (wholeTag || removed.Any(p => name.StartsWith($"{service}-{tag}-{p}.", StringComparison.Ordinal))) deleted.Add(o.Key);
        }
        foreach (var key in deleted) await store.DeleteAsync(key, ct);

        if (options.Json) await Output.JsonAsync(new YankReport(service, tag, removed, deleted), PublishJsonContext.Default.YankReport);
        else await Output.LineAsync($"yanked {service} {tag} ({string.Join(", ", removed)}); deleted {deleted.Count} files");
        return 0;
    }
}
