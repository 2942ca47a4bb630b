using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Host;

namespace OsVenvArtifacts.Installer.Activation;

/// <summary>After a restart: an HTTP URL that must answer 2xx, or a shell command that must exit 0, retried until a deadline.</summary>
internal static class HealthCheck
{
    public static async Task RunAsync(InstallerEnvironment env, string check, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = env.Now + timeout;
        var isUrl = check.StartsWith("http://", StringComparison.Ordinal) || check.StartsWith("https://", StringComparison.Ordinal);
        using var http = isUrl ? new HttpClient { Timeout = TimeSpan.FromSeconds(10) } : null;
        string last;
        do
        {
            if (http is not null)
            {
                try
                {
                    using var response = await http.GetAsync(new Uri(check), ct);
                    if (response.IsSuccessStatusCode) return;
                    last = $"HTTP {(int)response.StatusCode}";
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    last = e.Message;
                }
            }
            else
            {
                var result = await HostProcess.RunAsync("/bin/sh", ["-c", check], ct, timeout);
                if (result.ExitCode == 0) return;
                last = $"exit {result.ExitCode}: {result.FirstLine}";
            }
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
        }
        while (env.Now < deadline);
        throw new InstallerException("OSVA-I054", $"health check '{check}' failed: {last}",
            "the previous tag was restored; look at the service's log before trying the new tag again", ExitCode.ActivationFailed);
    }
}
