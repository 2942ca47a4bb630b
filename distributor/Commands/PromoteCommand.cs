using System.CommandLine;
using OsVenvArtifacts.Distributor.Publishing;

namespace OsVenvArtifacts.Distributor.Commands;

internal sealed record PromoteOptions(StoreOptions Store, IndexOptions Index, string Service, string Alias, string Tag, bool Json);

/// <summary><c>osva-publish promote --store LOCATION SERVICE ALIAS TAG [--signing-key KEY] [--index-expires D]</c>: point an alias (stable, candidate) at a published tag.</summary>
internal static class PromoteCommand
{
    public static readonly Argument<string> Service = new("SERVICE") { Description = "Service name" };

    public static readonly Argument<string> Alias = new("ALIAS") { Description = "Alias to move, such as stable" };

    public static readonly Argument<string> Tag = new("TAG") { Description = "Published tag the alias points to" };

    public static Command Create()
    {
        var command = new Command("promote", "Point an alias (stable, candidate, ...) at a published tag; recorded in the index history");
        command.Arguments.Add(Service);
        command.Arguments.Add(Alias);
        command.Arguments.Add(Tag);
        CommonOptions.AddIndexOptions(command);
        CommonOptions.AddTo(command);
        CommonOptions.SetGuardedAction(command, (r, ct) => RunAsync(new PromoteOptions(CommonOptions.BindStore(r), CommonOptions.BindIndex(r),
            r.GetValue(Service)!, r.GetValue(Alias)!, r.GetValue(Tag)!, r.GetValue(CommonOptions.Json)), ct));
        return command;
    }

    public static async Task<int> RunAsync(PromoteOptions options, CancellationToken ct)
    {
        using var policy = options.Index.Open();
        using var store = options.Store.OpenWritable();
        var catalog = new ServiceCatalog(store, TimeProvider.System, policy);
        var signature = await catalog.CheckSigningAsync(options.Service, ct);
        var moved = await Aliases.PointAsync(catalog, options.Service, options.Alias, options.Tag, knownTag: false, ct);
        var index = await catalog.SettleIndexAsync(options.Service, ct);
        if (signature == SignatureState.Stale) await Output.RepairedSignatureAsync(options.Service, policy.Signer!);
        if (options.Json) await Output.JsonAsync(index, OsVenvArtifacts.Artifact.ArtifactJsonContext.Default.StoreIndex);
        else await Output.LineAsync($"{(moved ? "promoted" : "unchanged")} {options.Service} {options.Alias} -> {options.Tag}");
        return 0;
    }
}
