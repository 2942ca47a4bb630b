using System.CommandLine;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Distributor.Stores;

namespace OsVenvArtifacts.Distributor.Commands;

internal sealed record ListOptions(StoreOptions Store, string? Service, bool Json);

/// <summary><c>osva-publish list --store LOCATION [SERVICE] [--json]</c>: services, or one service's tags, as readers see them (index.json).</summary>
internal static class ListCommand
{
    public static readonly Argument<string?> Service = new("SERVICE") { Description = "List this service's tags", Arity = ArgumentArity.ZeroOrOne };

    public static Command Create()
    {
        var command = new Command("list", "List services, or the tags, platforms and aliases of one service");
        command.Arguments.Add(Service);
        CommonOptions.AddTo(command);
        CommonOptions.SetGuardedAction(command, (r, ct) =>
            RunAsync(new ListOptions(CommonOptions.BindStore(r), r.GetValue(Service), r.GetValue(CommonOptions.Json)), ct));
        return command;
    }

    public static async Task<int> RunAsync(ListOptions options, CancellationToken ct)
    {
        using var store = options.Store.OpenReader();
        if (options.Service is { } service)
        {
            var index = await RequireIndexAsync(store, service, ct);
            if (options.Json)
            {
                await Output.JsonAsync(index, ArtifactJsonContext.Default.StoreIndex);
                return 0;
            }
            foreach (var tag in index.Tags)
            {
                foreach (var a in tag.Artifacts)
                {
                    await Output.LineAsync($"{tag.Tag}\t{a.Platform}\t{a.ArchiveSha256}\t{Output.Size(a.ArchiveSize)}\t{a.Published:yyyy-MM-ddTHH:mm:ssZ}");
                }
            }
            foreach (var (alias, tag) in index.Aliases) await Output.LineAsync($"{alias} -> {tag}");
            return 0;
        }

        if (store is not IObjectStore listable)
        {
            throw new PublishException("OSVA-P051", $"cannot list the services of HTTP mirror {store.Location}",
                "name the service: osva-publish list --store URL SERVICE", ExitCode.Usage);
        }
        var summaries = new List<ServiceSummary>();
        await foreach (var folder in listable.ListFoldersAsync("", ct))
        {
            if (await store.ReadIndexAsync(folder, ct) is { } index)
            {
                summaries.Add(new ServiceSummary(index.Service, index.Tags.Count, index.Aliases));
            }
        }
        if (options.Json)
        {
            await Output.JsonAsync(summaries, PublishJsonContext.Default.ListServiceSummary);
            return 0;
        }
        foreach (var s in summaries)
        {
            await Output.LineAsync($"{s.Service}\t{s.Tags} tags" + string.Concat(s.Aliases.Select(a => $"\t{a.Key} -> {a.Value}")));
        }
        return 0;
    }

    public static async Task<StoreIndex> RequireIndexAsync(IStoreReader store, string service, CancellationToken ct) =>
        await store.ReadIndexAsync(Names.Service(service), ct) ?? throw NothingPublished(store, service);

    public static PublishException NothingPublished(IStoreReader store, string service) =>
        new("OSVA-P052", $"{service} has nothing published in {store.Location}",
            "check the service name and --store (osva-publish list --store LOCATION shows the services)", ExitCode.StoreError);
}
