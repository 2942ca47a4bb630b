namespace OsVenvArtifacts.Artifact;

/// <summary>Process exit codes shared by every osva program; documented in docs/exit-codes.md.</summary>
public enum ExitCode
{
    Ok = 0,
    InternalError = 1,
    Usage = 2,
    InvalidInput = 3,
    VerificationFailed = 4,
    HostMismatch = 5,
    StoreError = 6,
    Conflict = 7,
    BuildFailed = 8,
    ActivationFailed = 9,
    Timeout = 124,
    Cancelled = 130,
}
