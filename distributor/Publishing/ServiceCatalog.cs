using System.Security.Cryptography;
using System.Text.Json;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Distributor.Stores;

namespace OsVenvArtifacts.Distributor.Publishing;

/// <summary>
/// The records behind <c>&lt;service&gt;/index.json</c> and the protocol that keeps the index complete when many
/// publishers run at once (docs/osva-publish.md, "Index updates"):
/// <list type="number">
/// <item>each publisher writes its own records (entry per artifact, alias, event), each under its own key, so no two
/// publishers ever write the same record;</item>
/// <item>the index is then settled: list the records, read the index, and if they differ rebuild the index from the
/// records and write it (If-Match on the index's ETag where the server honours it), then check again;</item>
/// <item>a publisher stops only when it has read an index that matches a listing taken after its own records were written.</item>
/// </list>
/// Whoever writes the index last checks it afterwards, so a stale write by a slower publisher is always repaired,
/// with or without conditional writes. A directory store also takes a lock file, which makes the first round final.
/// </summary>
internal sealed class ServiceCatalog(IObjectStore store, TimeProvider clock)
{
    public const int MaxSettleRounds = 60;

    public IObjectStore Store => store;

    public async Task<IndexArtifact?> ReadEntryAsync(string service, string tag, string platform, CancellationToken ct)
    {
        var found = await store.GetSmallAsync(ServiceKeys.Entry(service, tag, platform), ct);
        return found is { } f ? Parse(f.Data, ArtifactJsonContext.Default.IndexArtifact, "entry") : null;
    }

    public async Task<IReadOnlyList<IndexArtifact>> ReadEntriesAsync(string service, string tag, CancellationToken ct)
    {
        var result = new List<IndexArtifact>();
        await foreach (var o in store.ListAsync($"{ServiceKeys.EntriesPrefix(service)}{Names.Tag(tag)}/", ct))
        {
            if (await store.GetSmallAsync(o.Key, ct) is { } f) result.Add(Parse(f.Data, ArtifactJsonContext.Default.IndexArtifact, o.Key));
        }
        return result;
    }

    public Task WriteEntryAsync(string service, string tag, IndexArtifact entry, CancellationToken ct) =>
        store.PutSmallAsync(ServiceKeys.Entry(service, tag, entry.Platform), SerializeEntry(entry), null, ct);

    public Task DeleteEntryAsync(string service, string tag, string platform, CancellationToken ct) =>
        store.DeleteAsync(ServiceKeys.Entry(service, tag, platform), ct);

    public Task WriteAliasAsync(string service, string alias, string tag, CancellationToken ct) =>
        store.PutSmallAsync(ServiceKeys.Alias(service, alias), SerializeAlias(new AliasRecord(alias, tag)), null, ct);

    public Task DeleteAliasAsync(string service, string alias, CancellationToken ct) =>
        store.DeleteAsync(ServiceKeys.Alias(service, alias), ct);

    public async Task RecordAsync(string service, string action, string tag, string? platform, string? detail, CancellationToken ct)
    {
        var e = new IndexEvent(clock.GetUtcNow(), action, tag, platform, detail);
        var data = SerializeEvent(e);
        await store.PutSmallAsync(ServiceKeys.Event(service, e.Time, data), data, null, ct);
    }

    /// <summary>Brings index.json in line with the records and returns it. See the class comment for why this never loses an entry.</summary>
    public async Task<StoreIndex> SettleIndexAsync(string service, CancellationToken ct)
    {
        await using var serviceLock = await store.LockServiceAsync(service, ct);
        var indexKey = StoreKeys.Index(service);
        for (var round = 1; round <= MaxSettleRounds; round++)
        {
            bool written;
            try
            {
                var records = await ListRecordsAsync(service, ct);
                var current = await store.GetSmallAsync(indexKey, ct);
                var index = current is { } c ? TryParseIndex(c.Data) : null;
                var rebuilt = await BuildAsync(service, records, index, ct);
                var bytes = ArtifactJson.Serialize(rebuilt);
                if (current is { } existing && existing.Data.AsSpan().SequenceEqual(bytes)) return rebuilt;
                written = await store.PutSmallAsync(indexKey, bytes, current?.ETag ?? "*", ct);
            }
            catch (TornReadException)
            {
                // Another writer is mid-write; nothing can be decided from a torn read, so look again shortly.
                written = false;
            }
            // Either way, go round again: a publisher that wrote a moment later may have written an older view.
            var spread = written ? 50 : 200;
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(spread / 2, spread) * Math.Min(round, 8)), clock, ct);
        }
        throw new PublishException("OSVA-P030", $"the index of {service} did not settle after {MaxSettleRounds} rounds",
            "other publishers keep rewriting it, or a record under .osva/ is damaged; rerun the command (publishing is idempotent)", ExitCode.Conflict);
    }

    /// <summary>Reads index.json as readers see it, or null when the service has none.</summary>
    public async Task<StoreIndex?> ReadIndexAsync(string service, CancellationToken ct)
    {
        var current = await store.GetSmallAsync(StoreKeys.Index(service), ct);
        return current is { } c ? Parse(c.Data, ArtifactJsonContext.Default.StoreIndex, StoreKeys.Index(service)) : null;
    }

    private sealed record Records(List<StoredObject> Entries, List<StoredObject> Aliases, List<StoredObject> Events);

    private async Task<Records> ListRecordsAsync(string service, CancellationToken ct)
    {
        async Task<List<StoredObject>> ListAsync(string prefix)
        {
            var list = new List<StoredObject>();
            await foreach (var o in store.ListAsync(prefix, ct)) list.Add(o);
            return list;
        }
        return new Records(await ListAsync(ServiceKeys.EntriesPrefix(service)), await ListAsync(ServiceKeys.AliasesPrefix(service)),
            await ListAsync(ServiceKeys.EventsPrefix(service)));
    }

    private async Task<StoreIndex> BuildAsync(string service, Records records, StoreIndex? index, CancellationToken ct)
    {
        var artifacts = new List<(string Tag, IndexArtifact Artifact)>();
        foreach (var o in records.Entries)
        {
            if (ServiceKeys.ParseEntry(service, o.Key) is not { } id) continue;
            var known = index?.FindTag(id.Tag)?.FindPlatform(id.Platform);
            if (known is not null && SameContent(o, SerializeEntry(known)))
            {
                artifacts.Add((id.Tag, known));
            }
            else if (await store.GetSmallAsync(o.Key, ct) is { } f)
            {
                // A record deleted between the listing and this read is simply left out; the next round sees the same.
                artifacts.Add((id.Tag, ParseRecord(f.Data, ArtifactJsonContext.Default.IndexArtifact, o.Key)));
            }
        }

        var aliases = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var o in records.Aliases)
        {
            var name = Path.GetFileNameWithoutExtension(o.Key);
            if (index?.Aliases.TryGetValue(name, out var tag) == true && SameContent(o, SerializeAlias(new AliasRecord(name, tag))))
            {
                aliases[name] = tag;
            }
            else if (await store.GetSmallAsync(o.Key, ct) is { } f)
            {
                var alias = ParseRecord(f.Data, PublishJsonContext.Default.AliasRecord, o.Key);
                aliases[alias.Alias] = alias.Tag;
            }
        }

        var knownEvents = (index?.History ?? []).ToDictionary(e => ServiceKeys.Event(service, e.Time, SerializeEvent(e)));
        var history = new List<(string Key, IndexEvent Event)>();
        foreach (var o in records.Events)
        {
            if (knownEvents.TryGetValue(o.Key, out var e)) history.Add((o.Key, e));
            else if (await store.GetSmallAsync(o.Key, ct) is { } f) history.Add((o.Key, ParseRecord(f.Data, ArtifactJsonContext.Default.IndexEvent, o.Key)));
        }

        return new StoreIndex
        {
            Service = service,
            Tags = [.. artifacts.GroupBy(a => a.Tag)
                .OrderBy(g => g.Min(a => a.Artifact.Published)).ThenBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new IndexTag
                {
                    Tag = g.Key,
                    Artifacts = [.. g.Select(a => a.Artifact).OrderBy(a => a.Platform, StringComparer.Ordinal)],
                })],
            Aliases = new Dictionary<string, string>(aliases),
            History = [.. history.OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => h.Event)],
        };
    }

    /// <summary>
    /// An S3 ETag of a single-part, unencrypted object is its MD5, which spares reading every record each round.
    /// Where the ETag is something else (a directory store, SSE-KMS) the record is simply read.
    /// </summary>
#pragma warning disable CA5351 // MD5 here only reproduces S3's ETag to detect change; nothing trusts it for integrity.
    private static bool SameContent(StoredObject stored, byte[] expected) =>
        stored.ETag is { } etag && string.Equals(etag.Trim('"'), Convert.ToHexStringLower(MD5.HashData(expected)), StringComparison.Ordinal);
#pragma warning restore CA5351

    /// <summary>
    /// A record that does not parse while settling is taken as one still being written (s3rver lists an object
    /// before its bytes are in place) and looked at again next round; one that stays damaged ends in OSVA-P030.
    /// </summary>
    private static T ParseRecord<T>(byte[] data, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string key)
    {
        try
        {
            return JsonSerializer.Deserialize(data, type) ?? throw new JsonException("empty document");
        }
        catch (JsonException e)
        {
            throw new TornReadException(key, e);
        }
    }

    private static StoreIndex? TryParseIndex(byte[] data)
    {
        try
        {
            return JsonSerializer.Deserialize(data, ArtifactJsonContext.Default.StoreIndex);
        }
        catch (JsonException)
        {
            // A torn or foreign index.json is rebuilt from the records, which are the truth.
            return null;
        }
    }

    public static byte[] SerializeEntry(IndexArtifact entry) => JsonSerializer.SerializeToUtf8Bytes(entry, ArtifactJsonContext.Default.IndexArtifact);

    private static byte[] SerializeAlias(AliasRecord alias) => JsonSerializer.SerializeToUtf8Bytes(alias, PublishJsonContext.Default.AliasRecord);

    private static byte[] SerializeEvent(IndexEvent e) => JsonSerializer.SerializeToUtf8Bytes(e, ArtifactJsonContext.Default.IndexEvent);

    private static T Parse<T>(byte[] data, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string source)
    {
        try
        {
            return JsonSerializer.Deserialize(data, type) ?? throw new JsonException("empty document");
        }
        catch (JsonException e)
        {
            throw new PublishException("OSVA-P031", $"store record {source} is damaged: {e.Message}",
                "delete the record and republish the artifact it belongs to", ExitCode.StoreError, e);
        }
    }
}
