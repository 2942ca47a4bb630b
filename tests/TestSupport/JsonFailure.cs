using System.Text.Json;
using Xunit;

namespace OsVenvArtifacts.TestSupport;

/// <summary>The failure a program prints with --json (docs/exit-codes.md): one object on stdout that says what the stderr line says.</summary>
public static class JsonFailure
{
    /// <summary>Checks the exit code, that stdout is exactly one failure object with <paramref name="code"/>, and that the stderr line agrees.</summary>
    public static JsonElement AssertPrinted(ProcessResult result, int exit, string code)
    {
        Assert.True(result.ExitCode == exit, result.ToString());
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, result.ToString());
        var json = JsonDocument.Parse(lines[0]).RootElement.Clone();
        Assert.False(json.GetProperty("changed").GetBoolean());
        Assert.True(json.GetProperty("failed").GetBoolean());
        Assert.Equal(code, json.GetProperty("code").GetString());
        var msg = json.GetProperty("msg").GetString();
        var hint = json.GetProperty("hint").GetString();
        Assert.False(string.IsNullOrWhiteSpace(msg));
        Assert.False(string.IsNullOrWhiteSpace(hint));
        // A usage failure joins its several stderr lines with "; ".
        foreach (var part in msg!.Split("; ")) Assert.Contains(part, result.Stderr, StringComparison.Ordinal);
        Assert.Contains(hint!, result.Stderr, StringComparison.Ordinal);
        return json;
    }

    /// <summary>Without --json a failure prints nothing on stdout, only its line on stderr.</summary>
    public static void AssertTextOnly(ProcessResult result, int exit, string code)
    {
        Assert.True(result.ExitCode == exit, result.ToString());
        Assert.True(result.Stdout.Length == 0, result.ToString());
        Assert.Contains($"error {code}: ", result.Stderr, StringComparison.Ordinal);
    }
}
