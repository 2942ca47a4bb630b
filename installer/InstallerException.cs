using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Installer;

/// <summary>A failure of osva-install the operator can act on (codes OSVA-Ixxx, listed in docs/osva-install.md).</summary>
internal sealed class InstallerException(string code, string message, string hint, ExitCode exitCode = ExitCode.InvalidInput, Exception? inner = null)
    : OsvaException(code, message, hint, exitCode, inner);
