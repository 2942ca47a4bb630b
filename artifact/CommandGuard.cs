namespace OsVenvArtifacts.Artifact;

/// <summary>
/// The one top-level handler every command's action runs inside: an <see cref="OsvaException"/> becomes
/// one line on stderr (code, problem, hint) and its exit code; a stack trace only with --verbose.
/// Cancellation is reported here because System.CommandLine swallows it silently.
/// </summary>
public static class CommandGuard
{
    /// <summary>
    /// Reports command-line errors as usage errors (exit 2, as docs/exit-codes.md promises) instead of
    /// System.CommandLine's default exit 1, so scripts can tell a wrong call from a failed one.
    /// </summary>
    public static int UsageError(string program, IEnumerable<string> errors)
    {
        foreach (var error in errors)
        {
            Console.Error.WriteLine($"{program}: usage: {error}");
        }
        Console.Error.WriteLine($"{program}: see '{program} --help'");
        return (int)ExitCode.Usage;
    }

    public static async Task<int> RunAsync(string program, bool verbose, Func<CancellationToken, Task<int>> action, CancellationToken ct)
    {
        try
        {
            return await action(ct);
        }
        catch (OsvaException e)
        {
            await Console.Error.WriteLineAsync($"{program}: error {e.Code}: {e.Message} (hint: {e.Hint})");
            if (verbose) await Console.Error.WriteLineAsync(e.ToString());
            return (int)e.ExitCode;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"{program}: cancelled; nothing was left half-done");
            return (int)ExitCode.Cancelled;
        }
        catch (OperationCanceledException e)
        {
            await Console.Error.WriteLineAsync($"{program}: error OSVA-X124: timed out: {e.Message} (hint: retry, or raise the timeout)");
            return (int)ExitCode.Timeout;
        }
        catch (Exception e)
        {
            await Console.Error.WriteLineAsync($"{program}: internal error: {e.GetType().Name}: {e.Message} (hint: rerun with --verbose and report it)");
            if (verbose) await Console.Error.WriteLineAsync(e.ToString());
            return (int)ExitCode.InternalError;
        }
    }
}
