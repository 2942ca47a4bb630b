using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Installer.Activation;

namespace OsVenvArtifacts.Installer.Operations;

internal static class InstallFormats
{
    public const string Tarball = "tarball";
    public const string Image = "image";
    public const string Auto = "auto";
}

internal sealed record InstallRequest
{
    public required string Service { get; init; }
    public required string TagOrAlias { get; init; }
    /// <summary>The store; the host's <c>store</c> setting when null.</summary>
    public StoreLocation? Store { get; init; }
    public required S3Settings S3 { get; init; }
    public string? Platform { get; init; }
    /// <summary>Where to put the venv when not where it was built for; the venv is then relocated.</summary>
    public string? InstallPath { get; init; }
    public bool NoActivate { get; init; }
    /// <summary>PEM public keys trusted besides the host's; when any is trusted, index and manifest must be signed.</summary>
    public IReadOnlyList<string> TrustedKeys { get; init; } = [];
    /// <summary>Install without checking signatures although the host requires them; warned about and recorded.</summary>
    public bool InsecureSkipSignature { get; init; }
    /// <summary>Overrides the host's stall-timeout.</summary>
    public TimeSpan? StallTimeout { get; init; }
    public bool DryRun { get; init; }
    /// <summary>tarball (default), image (a mounted read-only image; refused where mounting is impossible) or auto (image where possible).</summary>
    public string Format { get; init; } = InstallFormats.Tarball;
    public ActivationSettings Activation { get; init; } = new();
}
