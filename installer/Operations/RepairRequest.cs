using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Installer.Activation;

namespace OsVenvArtifacts.Installer.Operations;

/// <summary>repair SERVICE [TAG]: the store options are install's, since the tag is fetched again.</summary>
internal sealed record RepairRequest
{
    public required string Service { get; init; }
    /// <summary>The active tag when null.</summary>
    public string? Tag { get; init; }
    /// <summary>The store; the host's <c>store</c> setting when null.</summary>
    public StoreLocation? Store { get; init; }
    public required S3Settings S3 { get; init; }
    public IReadOnlyList<string> TrustedKeys { get; init; } = [];
    public bool InsecureSkipSignature { get; init; }
    public TimeSpan? StallTimeout { get; init; }
    public bool DryRun { get; init; }
    public ActivationSettings Activation { get; init; } = new();
}
