namespace OsVenvArtifacts.Installer.State;

/// <summary>
/// <c>/var/lib/osva/&lt;service&gt;.json</c>: the tags on this host, which one is active, and what happened.
/// Optional collections use <c>set</c>: see the note on <see cref="Artifact.Manifest"/> (dotnet/runtime#84484).
/// </summary>
internal sealed record ServiceState
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; set; } = CurrentSchemaVersion;
    public required string Service { get; init; }
    public string? Active { get; init; }
    /// <summary>The tag active before <see cref="Active"/>: what rollback returns to, and what gc always keeps.</summary>
    public string? Previous { get; init; }
    public IReadOnlyList<InstalledTag> Installed { get; set; } = [];
    /// <summary>Set by disable (the service runs from its distro packages again, no tag active); cleared by the next activation.</summary>
    public bool Disabled { get; init; }
    public ActivationRecord? Activation { get; init; }
    public IReadOnlyList<StateEvent> History { get; set; } = [];
    /// <summary>
    /// Per store location, the highest index version this host accepted for the service: an older index from that
    /// store is a rollback and is refused (docs/security.md). Raise or remove an entry by hand only after a key rotation.
    /// </summary>
    public IReadOnlyDictionary<string, long> IndexVersions { get; set; } = new Dictionary<string, long>();

    public InstalledTag? Find(string tag) => Installed.FirstOrDefault(t => t.Tag == tag);

    /// <summary>The state once <paramref name="tag"/> is removed (uninstall, gc, or a removal finished after a kill).</summary>
    public ServiceState Without(string tag, StateEvent why) => this with
    {
        Installed = Installed.Where(t => t.Tag != tag).ToList(),
        Previous = Previous == tag ? null : Previous,
        History = [.. History, why],
    };
}

internal sealed record InstalledTag
{
    public required string Tag { get; init; }
    public required string Platform { get; init; }
    /// <summary>The venv's path on the host (without --root).</summary>
    public required string InstallPath { get; init; }
    /// <summary>The path the artifact was built for; differs from <see cref="InstallPath"/> when relocated.</summary>
    public required string BuiltFor { get; init; }
    public required string ArchiveSha256 { get; init; }
    /// <summary>Tree hash the venv has on disk (the manifest's, or the relocated tree's).</summary>
    public required string TreeHash { get; init; }
    public long UnpackedSize { get; init; }
    public long FileCount { get; init; }
    public DateTimeOffset InstalledAt { get; init; }
    /// <summary><see cref="ImageFormat"/> when the tag is a mounted image; null for an unpacked tarball (and in older states).</summary>
    public string? Format { get; init; }
    /// <summary>The image file's sha256, which verify checks (image tags only).</summary>
    public string? ImageSha256 { get; init; }

    public const string ImageFormat = "image";

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsImage => Format == ImageFormat;
}

/// <summary>What the active tag's activation wrote, so a switch knows what to replace and uninstall what to remove.</summary>
internal sealed record ActivationRecord
{
    public required string Tag { get; init; }
    public IReadOnlyList<string> Units { get; set; } = [];
    public IReadOnlyList<string> Files { get; set; } = [];
}

internal sealed record StateEvent(DateTimeOffset Time, string Action, string Tag, string? From);
