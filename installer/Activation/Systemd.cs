using System.Globalization;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Host;

namespace OsVenvArtifacts.Installer.Activation;

/// <summary>systemctl, and the check that a unit's running process really comes from a venv.</summary>
internal sealed class Systemd(InstallerEnvironment env)
{
    public async Task<bool> IsActiveAsync(string unit, CancellationToken ct) =>
        (await HostProcess.RunAsync(env.Systemctl, ["is-active", "--quiet", unit + ".service"], ct)).ExitCode == 0;

    public async Task RunAsync(CancellationToken ct, params string[] args)
    {
        var result = await HostProcess.RunAsync(env.Systemctl, args, ct);
        if (result.ExitCode != 0)
        {
            throw new InstallerException("OSVA-I052", $"systemctl {string.Join(' ', args)} failed: {result.FirstLine}",
                $"see journalctl -u {args.LastOrDefault()}", ExitCode.ActivationFailed);
        }
    }

    /// <summary><c>systemd-analyze verify</c> on the unit with its new drop-in: catches a program that is not there before anything starts.</summary>
    public async Task VerifyAsync(string unit, CancellationToken ct)
    {
        // --man=no: packaged units name man pages (Debian's nova-api.service: man:nova-api(1)), and a host without man-db
        // would otherwise fail every one of them.
        var result = await HostProcess.RunAsync(env.SystemdAnalyze, ["verify", "--man=no", unit + ".service"], ct);
        if (result.ExitCode != 0)
        {
            throw new InstallerException("OSVA-I056", $"systemd-analyze verify {unit}.service failed: {result.FirstLine}",
                "the previous activation was restored; check the unit file and the manifest's systemd hints", ExitCode.ActivationFailed);
        }
    }

    /// <summary>
    /// Waits until the unit's main process runs from <paramref name="venv"/> (its executable or command line); with no
    /// venv (after a disable), until it runs from anywhere but the venvs root.
    /// </summary>
    public async Task ConfirmAsync(string unit, string? venv, CancellationToken ct)
    {
        var deadline = env.Now + env.ConfirmTimeout;
        var seen = "no main process";
        while (true)
        {
            var show = await HostProcess.RunAsync(env.Systemctl, ["show", "-p", "MainPID", "--value", unit + ".service"], ct);
            if (int.TryParse(show.Stdout.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0)
            {
                var (exe, cmdline) = Describe(pid);
                var under = (venv ?? env.Config.VenvsRoot) + "/";
                var inVenv = exe.StartsWith(under, StringComparison.Ordinal) || cmdline.Split('\0').Any(a => a.StartsWith(under, StringComparison.Ordinal));
                if (inVenv == (venv is not null))
                {
                    // A process that starts and dies at once would pass a single look; it must still be there after the settle time.
                    await Task.Delay(env.SettleTime, ct);
                    if (await IsActiveAsync(unit, ct) && Directory.Exists($"/proc/{pid}")) return;
                    throw new InstallerException("OSVA-I053", $"unit {unit} started{(venv is null ? "" : " from " + venv)} but its process {pid} did not keep running",
                        $"check the unit with systemctl status {unit} and journalctl -u {unit}", ExitCode.ActivationFailed);
                }
                else
                {
                    seen = $"pid {pid} runs {exe} ({cmdline.Replace('\0', ' ').Trim()})";
                }
            }
            if (env.Now > deadline)
            {
                throw new InstallerException("OSVA-I053", venv is null ? $"unit {unit} still runs from a venv: {seen}" : $"unit {unit} does not run from {venv}: {seen}",
                    $"check the unit with systemctl status {unit} and journalctl -u {unit}", ExitCode.ActivationFailed);
            }
            await Task.Delay(250, ct);
        }
    }

    public static (string Exe, string Cmdline) Describe(int pid)
    {
        try
        {
            var exe = new FileInfo($"/proc/{pid}/exe").LinkTarget ?? "";
            return (exe, File.ReadAllText($"/proc/{pid}/cmdline"));
        }
        catch (IOException)
        {
            return ("", "");
        }
    }
}
