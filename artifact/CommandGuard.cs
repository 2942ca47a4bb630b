using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace OsVenvArtifacts.Artifact;

/// <summary>
/// The one top-level handler every command's action runs inside: an <see cref="OsvaException"/> becomes
/// one line on stderr (code, problem, hint) and its exit code; a stack trace only with --verbose.
/// With --json the same error is also one JSON object on stdout, so Ansible and scripts never parse text.
/// Cancellation is reported here because System.CommandLine swallows it silently.
/// </summary>
public static class CommandGuard
{
    /// <summary>
    /// Reports command-line errors as usage errors (exit 2, as docs/exit-codes.md promises) instead of
    /// System.CommandLine's default exit 1, so scripts can tell a wrong call from a failed one.
    /// </summary>
    public static int UsageError(string program, IEnumerable<string> errors, bool json)
    {
        var messages = errors.ToList();
        foreach (var error in messages)
        {
            Console.Error.WriteLine($"{program}: usage: {error}");
        }
        var hint = $"see '{program} --help'";
        Console.Error.WriteLine($"{program}: {hint}");
        if (json) Console.Out.WriteLine(FailureJson("OSVA-X002", string.Join("; ", messages), hint));
        return (int)ExitCode.Usage;
    }

    /// <summary>
    /// Whether the command line asked for JSON, read from the raw arguments because a line that does not parse
    /// has no option values to ask.
    /// </summary>
    public static bool WantsJson(IReadOnlyList<string> args) => args.Contains("--json", StringComparer.Ordinal);

    public static async Task<int> RunAsync(string program, bool verbose, bool json, Func<CancellationToken, Task<int>> action, CancellationToken ct)
    {
        try
        {
            return await action(ct);
        }
        catch (OsvaException e)
        {
            await FailAsync(program, json, e.Code, e.Message, e.Hint);
            if (verbose) await Console.Error.WriteLineAsync(e.ToString());
            return (int)e.ExitCode;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"{program}: cancelled; nothing was left half-done");
            if (json) await Console.Out.WriteLineAsync(FailureJson("OSVA-X130", "cancelled; nothing was left half-done", "run the command again"));
            return (int)ExitCode.Cancelled;
        }
        catch (OperationCanceledException e)
        {
            await FailAsync(program, json, "OSVA-X124", $"timed out: {e.Message}", "retry, or raise the timeout");
            return (int)ExitCode.Timeout;
        }
        catch (Exception e)
        {
            var message = $"{e.GetType().Name}: {e.Message}";
            const string hint = "rerun with --verbose and report it";
            await Console.Error.WriteLineAsync($"{program}: internal error: {message} (hint: {hint})");
            if (json) await Console.Out.WriteLineAsync(FailureJson("OSVA-X001", $"internal error: {message}", hint));
            if (verbose) await Console.Error.WriteLineAsync(e.ToString());
            return (int)ExitCode.InternalError;
        }
    }

    private static async Task FailAsync(string program, bool json, string code, string message, string hint)
    {
        await Console.Error.WriteLineAsync($"{program}: error {code}: {message} (hint: {hint})");
        if (json) await Console.Out.WriteLineAsync(FailureJson(code, message, hint));
    }

    /// <summary>The failure in Ansible's result shape; written by hand so the NativeAOT installer needs no serializer metadata.</summary>
    public static string FailureJson(string code, string message, string hint)
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping keeps quotes and apostrophes readable; this is never embedded in HTML.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteBoolean("changed", false);
            writer.WriteBoolean("failed", true);
            writer.WriteString("code", code);
            writer.WriteString("msg", message);
            writer.WriteString("hint", hint);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
