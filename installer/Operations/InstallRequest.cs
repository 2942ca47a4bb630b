using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Installer.Activation;

namespace OsVenvArtifacts.Installer.Operations;

internal sealed record InstallRequest
{
    public required string Service { get; init; }
    public required string TagOrAlias { get; init; }
    public required StoreLocation Store { get; init; }
    public required S3Settings S3 { get; init; }
    public string? Platform { get; init; }
    /// <summary>Where to put the venv when not where it was built for; the venv is then relocated.</summary>
    public string? InstallPath { get; init; }
    public bool NoActivate { get; init; }
    /// <summary>PEM public keys; when any are given the manifest's signature must verify under one of them.</summary>
    public IReadOnlyList<string> TrustedKeys { get; init; } = [];
    public bool DryRun { get; init; }
    public ActivationSettings Activation { get; init; } = new();
}
