using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Builder.Release;

/// <summary>A parsed release file: every service with its defaults already applied and paths made absolute.</summary>
internal sealed record ReleaseFile(string Path, string? Label, IReadOnlyList<ServiceSpec> Services);

/// <summary>One service of a release, as it will be built on each of its platforms.</summary>
internal sealed record ServiceSpec
{
    public required string Name { get; init; }
    public required string Tag { get; init; }
    public required IReadOnlyList<string> Platforms { get; init; }
    public required string InstallPath { get; init; }
    /// <summary>Absolute wheelhouse directory, or null when <see cref="Index"/> is used.</summary>
    public string? Wheelhouse { get; init; }
    public string? Index { get; init; }
    public string? Constraints { get; init; }
    public long SourceDateEpoch { get; init; }
    public IReadOnlyList<string> Requirements { get; init; } = [];
    public IReadOnlyList<string> ConsoleScripts { get; init; } = [];
    /// <summary>The service's management tools (nova-manage): must be in the venv like consoleScripts; the installer wraps only these in /usr/local/bin.</summary>
    public IReadOnlyList<string> ManagementScripts { get; init; } = [];
    public IReadOnlyList<string> BuildPackages { get; init; } = [];
    public IReadOnlyList<string> RuntimePackages { get; init; } = [];
    public IReadOnlyList<string> DistroPackages { get; init; } = [];
    /// <summary>The release's <c>formats</c> names <c>image</c>: a squashfs image is built beside the tarball (always built).</summary>
    public bool Image { get; init; }
    public SystemdHints? Systemd { get; init; }
    public RootwrapHints? Rootwrap { get; init; }
    /// <summary>Where the service starts in the release file, for errors that happen later.</summary>
    public required string Origin { get; init; }
}
