using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Builder;

/// <summary>A build failure the user can act on (codes OSVA-Bxxx, listed in docs/osva-build.md).</summary>
internal sealed class BuilderException(string code, string message, string hint, ExitCode exitCode = ExitCode.BuildFailed, Exception? inner = null)
    : OsvaException(code, message, hint, exitCode, inner)
{
    /// <summary>The same failure with the service it happened to named in front.</summary>
    public BuilderException ForService(string service) =>
        Message.StartsWith($"service {service}:", StringComparison.Ordinal)
            ? this
            : new BuilderException(Code, $"service {service}: {Message}", Hint, ExitCode, InnerException);
}
