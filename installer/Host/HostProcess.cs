using System.Diagnostics;

namespace OsVenvArtifacts.Installer.Host;

internal sealed record ProcessOutput(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The first non-empty line of stderr, else stdout: enough for a one-line error.</summary>
    public string FirstLine => (Stderr.Trim().Length > 0 ? Stderr : Stdout).Trim().Split('\n')[0];
}

/// <summary>Runs the host's own tools (visudo, systemctl, systemd-analyze, health checks).</summary>
internal static class HostProcess
{
    public static async Task<ProcessOutput> RunAsync(string file, IEnumerable<string> args, CancellationToken ct, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new IOException($"cannot start {file}");
        process.StandardInput.Close();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout ?? TimeSpan.FromMinutes(5));
        var stdout = process.StandardOutput.ReadToEndAsync(limit.Token);
        var stderr = process.StandardError.ReadToEndAsync(limit.Token);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return new ProcessOutput(process.ExitCode, await stdout, await stderr);
    }

    public static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':')
        .Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, program)));
}
