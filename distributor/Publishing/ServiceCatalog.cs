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
/// Every write of the index gives it a higher <see cref="StoreIndex.Version"/>, a new expiry, and, with a signing key,
/// a new <c>index.json.sig</c> written right after it.
/// </summary>
internal sealed class ServiceCatalog(IObjectStore store, TimeProvider clock, IndexPolicy policy)
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

    /// <summary>The entry a yank removed, kept so the same tag cannot quietly come back with other bytes.</summary>
    public async Task<IndexArtifact?> ReadYankedAsync(string service, string tag, string platform, CancellationToken ct)
    {
        var key = ServiceKeys.Yanked(service, tag, platform);
        return await store.GetSmallAsync(key, ct) is { } f ? Parse(f.Data, ArtifactJsonContext.Default.IndexArtifact, key) : null;
    }

    public Task WriteYankedAsync(string service, string tag, IndexArtifact entry, CancellationToken ct) =>
        store.PutSmallAsync(ServiceKeys.Yanked(service, tag, entry.Platform), SerializeEntry(entry), null, ct);

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

    /// <summary>
    /// Refuses a change to a signed index without a signing key, before anything is written: an unsigned index.json
    /// beside its old signature would make every host that trusts the key refuse the service. With a key, tells
    /// whether the signature in the store fails to verify (a change interrupted between its two writes, or a
    /// signature by another key): the change signs the index again.
    /// </summary>
    public async Task<SignatureState> CheckSigningAsync(string service, CancellationToken ct)
    {
        var signature = await store.GetSmallAsync(StoreKeys.IndexSignature(service), ct);
        if (signature is not { } s) return SignatureState.Unsigned;
        if (policy.Signer is not { } signer) throw UnsignedChange(service);
        var index = await store.GetSmallAsync(StoreKeys.Index(service), ct);
        return index is { } i && signer.Verifies(i.Data, s.Data) ? SignatureState.Valid : SignatureState.Stale;
    }

    /// <summary>
    /// Brings index.json in line with the records and returns it. See the class comment for why this never loses an
    /// entry. <paramref name="renew"/> writes a new version (new expiry, new signature) even when nothing else changed.
    /// </summary>
    public async Task<StoreIndex> SettleIndexAsync(string service, CancellationToken ct, bool renew = false)
    {
        await using var serviceLock = await store.LockServiceAsync(service, ct);
        var indexKey = StoreKeys.Index(service);
        var mustWrite = renew;
        for (var round = 1; round <= MaxSettleRounds; round++)
        {
            bool written;
            try
            {
                var records = await ListRecordsAsync(service, ct);
                var current = await store.GetSmallAsync(indexKey, ct);
                var signature = await store.GetSmallAsync(StoreKeys.IndexSignature(service), ct);
                // Checked every round too: another publisher may have signed the index since CheckSigningAsync.
                if (signature is not null && policy.Signer is null) throw UnsignedChange(service);
                var index = current is { } c ? TryParseIndex(c.Data) : null;
                var rebuilt = await BuildAsync(service, records, index, ct);
                if (!mustWrite && current is { } existing && index is not null && IsSettled(existing.Data, index, rebuilt, records.HighestVersion, signature?.Data))
                {
                    return index;
                }
                // Above both the index read and every version written before: a slow publisher's late write of an older
                // version over a newer one is outgrown here, so hosts that saw the newer one accept the next.
                rebuilt = rebuilt with
                {
                    Version = Math.Max(index?.Version ?? 0, records.HighestVersion) + 1,
                    Expires = DateTimeOffset.FromUnixTimeSeconds(clock.GetUtcNow().ToUnixTimeSeconds()) + policy.Expiry,
                };
                var bytes = ArtifactJson.Serialize(rebuilt);
                written = await store.PutSmallAsync(indexKey, bytes, current?.ETag ?? "*", ct);
                if (written)
                {
                    // The signature follows its index. A crash between the two leaves a pair hosts refuse (never one they
                    // accept wrongly), which the next signed change repairs.
                    if (policy.Signer is { } signer) await store.PutSmallAsync(StoreKeys.IndexSignature(service), signer.Sign(bytes), null, ct);
                    await store.PutSmallAsync(ServiceKeys.Version(service, rebuilt.Version), [], null, ct);
                    mustWrite = false;
                }
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

    /// <summary>
    /// The stored index needs no write when it is, byte for byte, the rebuild at its own version and expiry (so nothing
    /// the rebuild would drop survives), no version written before is higher, and with a key its signature verifies.
    /// </summary>
    private bool IsSettled(byte[] stored, StoreIndex index, StoreIndex rebuilt, long highestVersion, byte[]? signature) =>
        stored.AsSpan().SequenceEqual(ArtifactJson.Serialize(rebuilt with { Version = index.Version, Expires = index.Expires }))
        && index.Version >= highestVersion
        && (policy.Signer is not { } signer || (signature is not null && signer.Verifies(stored, signature)));

    private static PublishException UnsignedChange(string service) =>
        new("OSVA-P081", $"{StoreKeys.Index(service)} is signed and no signing key was given; an unsigned change would make every host that trusts the key refuse {service}",
            $"pass --signing-key KEY.pem or set {IndexSigner.EnvironmentVariable} to the release key", ExitCode.Conflict);

    /// <summary>Reads index.json as readers see it, or null when the service has none.</summary>
    public async Task<StoreIndex?> ReadIndexAsync(string service, CancellationToken ct)
    {
        var current = await store.GetSmallAsync(StoreKeys.Index(service), ct);
        return current is { } c ? Parse(c.Data, ArtifactJsonContext.Default.StoreIndex, StoreKeys.Index(service)) : null;
    }

    private sealed record Records(List<StoredObject> Entries, List<StoredObject> Aliases, List<StoredObject> Events, long HighestVersion);

    private async Task<Records> ListRecordsAsync(string service, CancellationToken ct)
    {
        async Task<List<StoredObject>> ListAsync(string prefix)
        {
            var list = new List<StoredObject>();
            await foreach (var o in store.ListAsync(prefix, ct)) list.Add(o);
            return list;
        }
        // Version markers list highest first, so one page says which is the highest.
        long highest = 0;
        await foreach (var o in store.ListAsync(ServiceKeys.VersionsPrefix(service), ct))
        {
            highest = ServiceKeys.ParseVersion(service, o.Key) ?? 0;
            break;
        }
        return new Records(await ListAsync(ServiceKeys.EntriesPrefix(service)), await ListAsync(ServiceKeys.AliasesPrefix(service)),
            await ListAsync(ServiceKeys.EventsPrefix(service)), highest);
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

/// <summary>How a catalog writes index.json: signed with this key (or unsigned) and valid for this long.</summary>
internal sealed record IndexPolicy(IndexSigner? Signer, TimeSpan Expiry) : IDisposable
{
    public static readonly TimeSpan DefaultExpiry = TimeSpan.FromDays(90);

    public void Dispose() => Signer?.Dispose();
}

/// <summary>The store's index.json.sig before a change: none, verifying under the signing key, or not (signed again).</summary>
internal enum SignatureState
{
    Unsigned,
    Valid,
    Stale,
}
