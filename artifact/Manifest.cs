namespace OsVenvArtifacts.Artifact;

/// <summary>
/// Everything in one artifact and how it was made. Written by osva-build beside the archive,
/// signed, and checked by osva-install before anything is unpacked. See docs/artifact-format.md.
/// Optional members use <c>set</c>, not <c>init</c>: the JSON source generator passes default (null) for an
/// init-only member missing from the document, losing its initializer (dotnet/runtime#84484).
/// </summary>
public sealed record Manifest
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; set; } = CurrentSchemaVersion;
    public required string Service { get; init; }
    public required string Tag { get; init; }
    public required ManifestPlatform Platform { get; init; }
    public required string InstallPath { get; init; }
    public required BuildImage BuildImage { get; init; }
    /// <summary>sha256 over every build input (image, requirements, constraints, wheel hashes, platform, builder version): the cache key.</summary>
    public required string BuildInputsHash { get; init; }
    public long SourceDateEpoch { get; init; }
    public IReadOnlyList<PackageEntry> Packages { get; set; } = [];
    public IReadOnlyList<string> ConsoleScripts { get; set; } = [];
    /// <summary>
    /// The service's own management tools (the release's managementScripts, such as nova-manage): the only scripts
    /// osva-install puts on the host's PATH as wrappers in /usr/local/bin. Empty in manifests written before it.
    /// </summary>
    public IReadOnlyList<string> ManagementScripts { get; set; } = [];
    /// <summary>Debian (or rpm) packages the host must have installed for the venv to work.</summary>
    public IReadOnlyList<string> RuntimePackages { get; set; } = [];
    /// <summary>
    /// Modules the venv takes from the distro through system site-packages (the release's distroPackages);
    /// <c>osva-build rebuild</c> makes the venv the same way and checks each imports. Empty in manifests written before it.
    /// </summary>
    public IReadOnlyList<string> DistroPackages { get; set; } = [];
    /// <summary>Extra distro packages of the derived build image (the release's buildPackages), so <c>rebuild</c> can derive it again.</summary>
    public IReadOnlyList<string> BuildPackages { get; set; } = [];
    public long FileCount { get; init; }
    public long UnpackedSize { get; init; }
    public required ArchiveInfo Archive { get; init; }
    /// <summary>
    /// The image-mode file beside the archive (a squashfs of the same tree), or null when only the tarball was built.
    /// Optional and absent from older manifests; readers that do not know it ignore it (schema 1 ignores unknown fields).
    /// </summary>
    public ImageInfo? Image { get; set; }
    /// <summary>sha256 over the sorted entry list; see <see cref="TreeHash"/>.</summary>
    public required string TreeHash { get; init; }
    public RootwrapHints? Rootwrap { get; init; }
    public SystemdHints? Systemd { get; init; }
    public required ToolInfo Tool { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public ArtifactId Id => new(Service, Tag, PlatformId.Parse(Platform.Id));
}

public sealed record ManifestPlatform
{
    public required string Id { get; init; }
    public required string Distro { get; init; }
    public required string DistroVersion { get; init; }
    public required string Arch { get; init; }
    public required string PythonVersion { get; init; }
    /// <summary>The interpreter the venv's bin/python links to; it must exist on the host.</summary>
    public required string PythonPath { get; init; }
    public required string Glibc { get; init; }
}

public sealed record BuildImage(string Name, string Id);

public sealed record PackageEntry(string Name, string Version, string? WheelSha256);

public sealed record ArchiveInfo
{
    public required string FileName { get; init; }
    /// <summary>sha256 of the .tar.gz as stored.</summary>
    public required string Sha256 { get; init; }
    public long Size { get; init; }
    /// <summary>sha256 of the uncompressed tar: content identity that does not depend on the zlib build.</summary>
    public required string TarSha256 { get; init; }
    public long TarSize { get; init; }
}

/// <summary>A read-only filesystem image of the venv tree, mounted at the install path instead of unpacked.</summary>
public sealed record ImageInfo
{
    public const string Squashfs = "squashfs";

    /// <summary><c>&lt;base&gt;.squashfs</c>, in the same store folder as the archive.</summary>
    public required string FileName { get; init; }
    /// <summary>The filesystem type, what <c>mount -t</c> takes: <see cref="Squashfs"/>.</summary>
    public required string Format { get; init; }
    /// <summary>sha256 of the image file: byte-reproducible, so the identity itself.</summary>
    public required string Sha256 { get; init; }
    public long Size { get; init; }
}

public sealed record RootwrapHints
{
    /// <summary>Path of rootwrap.conf on the host, such as /etc/nova/rootwrap.conf.</summary>
    public string? ConfigPath { get; init; }
    /// <summary>The rootwrap console script in the venv, such as nova-rootwrap.</summary>
    public string? Command { get; init; }
    public string? DaemonCommand { get; init; }
    /// <summary>Filter directory shipped inside the venv (relative to it); osva-install adds it to filters_path on request, never copies it.</summary>
    public string? FiltersDir { get; init; }
}

public sealed record SystemdHints
{
    public IReadOnlyList<SystemdUnit> Units { get; set; } = [];
}

/// <summary>A unit the service runs as and the console script (in the venv's bin) it starts.</summary>
public sealed record SystemdUnit(string Name, string ExecStart);

public sealed record ToolInfo(string Name, string Version);
