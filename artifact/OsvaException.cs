namespace OsVenvArtifacts.Artifact;

/// <summary>
/// A failure the user can act on: a stable code (OSVA-A001), one-line message naming the problem,
/// and a hint naming the fix. Each part derives its own sealed type; the top-level handler prints
/// it as one line and exits with <see cref="ExitCode"/>.
/// </summary>
public class OsvaException(string code, string message, string hint, ExitCode exitCode = ExitCode.InvalidInput, Exception? inner = null)
    : Exception(message, inner)
{
    public string Code { get; } = code;
    public string Hint { get; } = hint;
    public ExitCode ExitCode { get; } = exitCode;
}

/// <summary>Errors in reading or checking an artifact's own files (codes OSVA-Axxx).</summary>
public sealed class ArtifactFormatException(string code, string message, string hint, ExitCode exitCode = ExitCode.VerificationFailed)
    : OsvaException(code, message, hint, exitCode);
