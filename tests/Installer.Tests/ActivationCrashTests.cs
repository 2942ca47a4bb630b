using System.Diagnostics;
using OsVenvArtifacts.Installer.Activation;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// The real osva-install killed with SIGKILL at random points of switch and rollback: after the next run (doctor,
/// which finishes or undoes an interrupted activation from its journal) the host is wholly on one tag: state,
/// drop-in, sudoers and wrappers agree, visudo accepts the sudoers file, and no journal or temp file is left.
/// Seeded, so a failure names the seed that replays it; <c>make faults</c> runs more kills.
/// </summary>
public sealed class ActivationCrashTests
{
    private static int Kills => int.TryParse(Environment.GetEnvironmentVariable("OSVA_FAULT_KILLS"), out var n) ? n : 10;

    [Fact]
    public async Task A_switch_killed_at_any_point_leaves_the_host_on_one_tag_after_the_next_run()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.PublishAsync(ScratchHost.Demo("2.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        await host.InstallAsync("demo", "2.0.0");
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var killedMidway = 0;
        var timer = Stopwatch.StartNew();
        var full = await Cli.RunAsync("switch", "demo", "1.0.0", "--root", host.Root);
        var duration = timer.Elapsed;
        Assert.True(full.ExitCode == 0, full.ToString());
        for (var run = 0; run < Kills; run++)
        {
            var target = (await host.StateAsync("demo")).Active == "1.0.0" ? "2.0.0" : "1.0.0";
            var verb = random.Next(2) == 0 ? ["switch", "demo", target] : new[] { "rollback", "demo" };
            // Kills spread over how long the same verb takes unkilled, so they land in every phase of it.
            var delay = TimeSpan.FromMilliseconds(random.NextDouble() * duration.TotalMilliseconds);
            var finished = await RunAndKillAsync([.. verb, "--root", host.Root], delay);
            if (File.Exists(ActivationJournal.PathFor(host.Environment, "demo"))) killedMidway++;

            var doctor = await Cli.RunAsync("doctor", "demo", "--root", host.Root);
            Assert.True(doctor.ExitCode == 0, $"seed {seed}, run {run}, {string.Join(' ', verb)} killed after {delay.TotalMilliseconds} ms (finished: {finished}): {doctor}");
            await AssertOnOneTagAsync(host, $"seed {seed}, run {run}, {string.Join(' ', verb)} killed after {delay.TotalMilliseconds} ms");
        }
        // Not an assertion on timing: the figure shows how many kills hit the window between journal and commit.
        Console.WriteLine($"activation kills: {Kills} over {duration.TotalMilliseconds:0} ms runs, interrupted mid-transaction: {killedMidway} (seed {seed})");
    }

    private static async Task AssertOnOneTagAsync(ScratchHost host, string context)
    {
        var state = await host.StateAsync("demo");
        var venv = $"/openstack/venvs/demo-{state.Active}";
        Assert.True(state.Active is "1.0.0" or "2.0.0", context);
        Assert.True(host.Read("/etc/systemd/system/demo-api.service.d/osva-venv.conf").Contains($"ExecStart={venv}/bin/osva-hello", StringComparison.Ordinal), context);
        Assert.True(host.Read("/etc/sudoers.d/demo_osva").Contains($"{venv}/bin/demo-rootwrap", StringComparison.Ordinal), context);
        Assert.True(host.Read("/usr/local/bin/osva-hello-manage").Contains($"{venv}/bin/osva-hello-manage", StringComparison.Ordinal), context);
        var visudo = await ProcessRunner.RunAsync("visudo", ["-c", "-q", "-f", host.OnDisk("/etc/sudoers.d/demo_osva")]);
        Assert.True(visudo.ExitCode == 0, $"{context}: {visudo}");
        Assert.False(File.Exists(ActivationJournal.PathFor(host.Environment, "demo")), context);
        var temps = Directory.EnumerateFiles(host.Root, "*.tmp", SearchOption.AllDirectories).Select(t => t[host.Root.Length..]).ToList();
        Assert.True(temps.Count == 0, $"{context}: left {string.Join(", ", temps)}");
    }

    /// <summary>Starts the real program and sends SIGKILL after <paramref name="delay"/>; true when it finished first.</summary>
    private static async Task<bool> RunAndKillAsync(string[] args, TimeSpan delay)
    {
        var native = Environment.GetEnvironmentVariable("OSVA_INSTALLER_BINARY");
        var start = native is { Length: > 0 }
            ? new ProcessStartInfo(native, args)
            : new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "osva-install.dll"), .. args]);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var exited = process.WaitForExitAsync();
        if (await Task.WhenAny(exited, Task.Delay(delay)) == exited) return true;
        process.Kill();
        await exited;
        return false;
    }
}
