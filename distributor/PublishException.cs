using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Distributor;

/// <summary>A publishing failure the user can act on (codes OSVA-Pxxx, listed in docs/osva-publish.md).</summary>
internal sealed class PublishException(string code, string message, string hint, ExitCode exitCode = ExitCode.InvalidInput, Exception? inner = null)
    : OsvaException(code, message, hint, exitCode, inner);
