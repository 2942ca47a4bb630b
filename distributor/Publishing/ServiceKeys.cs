using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Distributor.Publishing;

/// <summary>
/// The publisher's own records, under <c>&lt;service&gt;/.osva/</c>: a folder no tag can name (tags never start
/// with '.'), not copied by <c>mirror</c>. They are the source of truth; <c>index.json</c> is rebuilt from them.
/// </summary>
internal static class ServiceKeys
{
    public static string State(string service) => $"{Names.Service(service)}/.osva/";

    public static string EntriesPrefix(string service) => State(service) + "entries/";

    /// <summary>One object per published artifact: the <see cref="IndexArtifact"/> the index lists for it.</summary>
    public static string Entry(string service, string tag, string platform) =>
        $"{EntriesPrefix(service)}{Names.Tag(tag)}/{PlatformId.Parse(platform)}.json";

    public static string AliasesPrefix(string service) => State(service) + "aliases/";

    public static string Alias(string service, string alias) => $"{AliasesPrefix(service)}{Names.Tag(alias)}.json";

    public static string EventsPrefix(string service) => State(service) + "events/";

    /// <summary>Events are never rewritten; the name orders them by time and is derived from the content, so it is unique.</summary>
    public static string Event(string service, DateTimeOffset time, byte[] content) =>
        $"{EventsPrefix(service)}{time.UtcTicks:D19}-{Sha256.Of(content)[..16]}.json";

    /// <summary>The entry of a yanked artifact (a tombstone): a republish of other bytes under its tag needs --force.</summary>
    public static string Yanked(string service, string tag, string platform) =>
        $"{State(service)}yanked/{Names.Tag(tag)}/{PlatformId.Parse(platform)}.json";

    public static string VersionsPrefix(string service) => State(service) + "versions/";

    /// <summary>
    /// An empty object per index version written, named so the highest lists first: the floor a new version must
    /// exceed even after a slow publisher has written an older index over a newer one.
    /// </summary>
    public static string Version(string service, long version) => $"{VersionsPrefix(service)}{long.MaxValue - version:D19}";

    public static long? ParseVersion(string service, string key) =>
        long.TryParse(key.AsSpan(VersionsPrefix(service).Length), System.Globalization.NumberStyles.None, null, out var inverted)
            ? long.MaxValue - inverted
            : null;

    public static string LockFile(string service) => State(service) + "lock";

    /// <summary>Parses <c>entries/&lt;tag&gt;/&lt;platform&gt;.json</c> back into its tag and platform, or null for a stray key.</summary>
    public static (string Tag, string Platform)? ParseEntry(string service, string key)
    {
        var rest = key[EntriesPrefix(service).Length..];
        var parts = rest.Split('/');
        return parts.Length == 2 && parts[1].EndsWith(".json", StringComparison.Ordinal)
            ? (parts[0], parts[1][..^".json".Length])
            : null;
    }
}
