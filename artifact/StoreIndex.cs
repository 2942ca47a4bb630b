namespace OsVenvArtifacts.Artifact;

/// <summary>
/// <c>&lt;service&gt;/index.json</c>: every published tag of one service, its platforms and aliases.
/// Written last on publish, so a tag that is listed has all its files in place.
/// Optional members use <c>set</c>, not <c>init</c>: the JSON source generator passes default (null) for an
/// init-only member missing from the document, losing its initializer (dotnet/runtime#84484).
/// </summary>
public sealed record StoreIndex
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; set; } = CurrentSchemaVersion;
    public required string Service { get; init; }
    /// <summary>
    /// Grows with every change a publisher makes, so a host that remembers the highest version it accepted can
    /// refuse an older index (a rollback to a yanked tag, or a stale mirror). 0 in indexes written before it.
    /// </summary>
    public long Version { get; set; }
    /// <summary>
    /// After this time hosts refuse the index (a freeze: a store or mirror that keeps serving an old view).
    /// Publishers set it on every change and <c>osva-publish sign-index</c> renews it. Null in indexes written before it.
    /// </summary>
    public DateTimeOffset? Expires { get; set; }
    public IReadOnlyList<IndexTag> Tags { get; set; } = [];
    /// <summary>Alias name (stable, candidate, ...) to tag.</summary>
    public IReadOnlyDictionary<string, string> Aliases { get; set; } = new Dictionary<string, string>();
    public IReadOnlyList<IndexEvent> History { get; set; } = [];

    public IndexTag? FindTag(string tag) => Tags.FirstOrDefault(t => t.Tag == tag);

    /// <summary>The tag an alias or tag name stands for, or null.</summary>
    public string? Resolve(string tagOrAlias) =>
        Aliases.TryGetValue(tagOrAlias, out var tag) ? tag : FindTag(tagOrAlias)?.Tag;
}

public sealed record IndexTag
{
    public required string Tag { get; init; }
    public IReadOnlyList<IndexArtifact> Artifacts { get; set; } = [];

    public IndexArtifact? FindPlatform(string platform) => Artifacts.FirstOrDefault(a => a.Platform == platform);
}

public sealed record IndexArtifact
{
    public required string Platform { get; init; }
    public required string ArchiveFileName { get; init; }
    public required string ArchiveSha256 { get; init; }
    public long ArchiveSize { get; init; }
    public required string ManifestSha256 { get; init; }
    public DateTimeOffset Published { get; init; }
    /// <summary>The image-mode file published beside the archive (the manifest's <c>image</c>), or null: absent in older indexes.</summary>
    public string? ImageFileName { get; set; }
    public string? ImageSha256 { get; set; }
    public long? ImageSize { get; set; }
}

/// <summary>One change to the index, kept so forced republishes and alias moves can be audited.</summary>
public sealed record IndexEvent(DateTimeOffset Time, string Action, string Tag, string? Platform, string? Detail);
