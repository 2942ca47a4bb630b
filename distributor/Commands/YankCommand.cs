using System.CommandLine;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Distributor.Publishing;

namespace OsVenvArtifacts.Distributor.Commands;

internal sealed record YankOptions(StoreOptions Store, IndexOptions Index, string Service, string Tag, string? Platform, bool Json,
    bool DryRun, bool Yes);

/// <summary>
/// <c>osva-publish yank --store LOCATION SERVICE TAG [--platform P] [--signing-key KEY] [--index-expires D]</c>: take a tag (or one platform of it) out of the
/// index first, then delete its files, so no reader is ever sent to a file that is gone. Aliases on a removed tag go too.
/// Each removed entry is kept as a tombstone, so the tag cannot come back without --force. It names what it removes
/// (platforms, aliases, files) and asks first: on a terminal it prompts, elsewhere it needs --yes; --dry-run only names.
/// </summary>
internal static class YankCommand
{
    public static readonly Argument<string> Service = new("SERVICE") { Description = "Service name" };

    public static readonly Argument<string> Tag = new("TAG") { Description = "Tag to remove" };

    public static readonly Option<string?> Platform = new("--platform") { Description = "Remove only this platform of the tag" };

    public static readonly Option<bool> DryRun = new("--dry-run") { Description = "Name the platforms, aliases and files a yank would remove, and change nothing" };

    public static readonly Option<bool> Yes = new("--yes", "-y") { Description = "Yank without asking (needed when not run from a terminal)" };

    public static Command Create()
    {
        var command = new Command("yank", "Remove a tag from the index, then delete its files");
        command.Aliases.Add("delete");
        command.Arguments.Add(Service);
        command.Arguments.Add(Tag);
        command.Options.Add(Platform);
        command.Options.Add(DryRun);
        command.Options.Add(Yes);
        CommonOptions.AddIndexOptions(command);
        CommonOptions.AddTo(command);
        CommonOptions.SetGuardedAction(command, (r, ct) => RunAsync(new YankOptions(CommonOptions.BindStore(r), CommonOptions.BindIndex(r), r.GetValue(Service)!,
            r.GetValue(Tag)!, r.GetValue(Platform), r.GetValue(CommonOptions.Json), r.GetValue(DryRun), r.GetValue(Yes)), ct));
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
        var aliases = wholeTag ? (await catalog.ReadIndexAsync(service, ct))?.Aliases.Where(a => a.Value == tag).Select(a => a.Key).Order(StringComparer.Ordinal).ToList() ?? [] : [];
        var files = new List<string>();
        await foreach (var o in store.ListAsync(StoreKeys.TagPrefix(service, tag), ct))
        {
            var name = o.Key[StoreKeys.TagPrefix(service, tag).Length..];
            if (wholeTag || removed.Any(p => name.StartsWith($"{service}-{tag}-{p}.", StringComparison.Ordinal))) files.Add(o.Key);
        }
        var what = $"{service} {tag} ({string.Join(", ", removed)})" + (aliases.Count > 0 ? $", its aliases {string.Join(", ", aliases)}" : "") + $" and {files.Count} files";
        if (options.DryRun)
        {
            if (options.Json) await Output.JsonAsync(new YankReport(service, tag, removed, aliases, files, DryRun: true), PublishJsonContext.Default.YankReport);
            else await Output.LineAsync($"would yank {what}");
            return 0;
        }
        await ConfirmAsync(options, what);

        foreach (var entry in removing)
        {
            await catalog.WriteYankedAsync(service, tag, entry, ct);
            await catalog.DeleteEntryAsync(service, tag, entry.Platform, ct);
        }
        foreach (var alias in aliases) await catalog.DeleteAliasAsync(service, alias, ct);
        await catalog.RecordAsync(service, "yank", tag, options.Platform,
            (wholeTag ? "all platforms" : string.Join(", ", removed)) + (aliases.Count > 0 ? $"; dropped aliases {string.Join(", ", aliases)}" : ""), ct);
        await catalog.SettleIndexAsync(service, ct);
        if (signature == SignatureState.Stale) await Output.RepairedSignatureAsync(service, policy.Signer!);

        // Only now, with the index no longer naming them, do the files go.
        foreach (var key in files) await store.DeleteAsync(key, ct);

        if (options.Json) await Output.JsonAsync(new YankReport(service, tag, removed, aliases, files, DryRun: false), PublishJsonContext.Default.YankReport);
        else await Output.LineAsync($"yanked {what}");
        return 0;
    }

    /// <summary>A yank cannot be undone with the same bytes without --force: a terminal is asked, a script must say --yes.</summary>
    private static async Task ConfirmAsync(YankOptions options, string what)
    {
        if (options.Yes) return;
        if (Console.IsInputRedirected || options.Json)
        {
            throw new PublishException("OSVA-P085", $"yank of {what} needs confirming, and there is no terminal to ask",
                "pass --yes to yank it (--dry-run shows what would go)", ExitCode.Usage);
        }
        await Console.Error.WriteAsync($"yank {what}? [y/N] ");
        var answer = Console.ReadLine()?.Trim();
        if (answer is not ("y" or "Y" or "yes"))
        {
            throw new PublishException("OSVA-P085", $"yank of {what} not confirmed", "nothing was changed; answer y, or pass --yes", ExitCode.Usage);
        }
    }
}
