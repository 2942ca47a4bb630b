using System.Diagnostics;
using OsVenvArtifacts.Installer.Activation;
using OsVenvArtifacts.Installer.Operations;
using OsVenvArtifacts.Installer.State;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// The real osva-install killed with SIGKILL at random points of each command that changes a host. After the next run
/// (doctor, which finishes or undoes interrupted work first) the host is wholly on one tag and works: state parses,
/// drop-in, sudoers and wrapper name the active tag, visudo accepts the sudoers file, the console script runs, and
/// every venv under the venvs root is a listed tag that verifies. Running the killed command again then converges
/// with nothing left over: no staging content, partial download, temp file, intent, journal or held lock.
/// Seeded, so a failure names the seed that replays it; each stage appends its figures to the trust log.
/// <c>make test</c> runs 3 kills per stage, <c>make faults</c> OSVA_FAULT_KILLS per stage.
/// </summary>
public sealed class ActivationCrashTests
{
    private static readonly string[] ActivationFiles = ["/etc/systemd/system/demo-api.service.d/osva-venv.conf", "/etc/sudoers.d/demo_osva", "/usr/local/bin/osva-hello-manage"];

    private static int Kills => int.TryParse(Environment.GetEnvironmentVariable("OSVA_FAULT_KILLS"), out var n) ? n : 3;

    [Fact]
    public async Task An_install_killed_at_any_point_leaves_the_old_or_the_new_tag_and_a_rerun_converges()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        // Big enough that kills land in download, unpack, rename and activation alike.
        var big = ScratchHost.Demo("2.0.0");
        for (var i = 0; i < 300; i++) big.Entries.Add(InstallEntry.Text($"lib/python3.11/site-packages/many_{i}.py", $"X = {i}\n"));
        big.Entries.Add(InstallEntry.Noise("lib/blob.bin", 8 << 20, 2));
        await host.PublishAsync(big);
        await host.InstallAsync("demo", "1.0.0");

        await KillRunsAsync(host, "install", _ => ["install", "demo", "2.0.0", "--store", host.Store],
            converged: s => s.Active == "2.0.0",
            reset: async () =>
            {
                await host.Lifecycle.SwitchAsync(new SwitchOptions("demo", "1.0.0", new ActivationSettings(), false), default);
                await host.Lifecycle.UninstallAsync(new UninstallOptions("demo", "2.0.0", false), default);
            });
    }

    [Fact]
    public async Task A_switch_or_rollback_killed_at_any_point_leaves_the_host_on_one_tag_and_a_rerun_converges()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.PublishAsync(ScratchHost.Demo("2.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        await host.InstallAsync("demo", "2.0.0");

        await KillRunsAsync(host, "switch", random =>
            {
                var target = host.StateAsync("demo").GetAwaiter().GetResult().Active == "1.0.0" ? "2.0.0" : "1.0.0";
                return random.Next(2) == 0 ? ["switch", "demo", target] : ["rollback", "demo"];
            },
            // A rollback run twice goes back again, so only a switch has one end state.
            converged: s => s.Active is "1.0.0" or "2.0.0",
            reset: () => Task.CompletedTask);
    }

    [Fact]
    public async Task A_gc_killed_at_any_point_leaves_the_tag_whole_or_gone_and_a_rerun_converges()
    {
        using var host = await ThreeTagsAsync();
        await KillRunsAsync(host, "gc", _ => ["gc", "demo", "--keep", "0"],
            converged: s => s.Find("1.0.0") is null && s.Active == "3.0.0", reset: () => ReinstallAsync(host, "1.0.0"));
    }

    [Fact]
    public async Task An_uninstall_killed_at_any_point_leaves_the_tag_whole_or_gone_and_a_rerun_converges()
    {
        using var host = await ThreeTagsAsync();
        await KillRunsAsync(host, "uninstall", _ => ["uninstall", "demo", "1.0.0"],
            converged: s => s.Find("1.0.0") is null && s.Active == "3.0.0", reset: () => ReinstallAsync(host, "1.0.0"));
    }

    [Fact]
    public async Task A_removal_killed_after_its_rename_is_finished_and_an_unrecorded_install_taken_out_by_the_next_run()
    {
        using var host = await ThreeTagsAsync();
        // What kills leave: 1.0.0 renamed aside by an uninstall but still listed; 4.0.0 renamed into place but never recorded.
        Directory.CreateDirectory(host.OnDisk("/openstack/venvs/.staging/demo"));
        Directory.Move(host.OnDisk("/openstack/venvs/demo-1.0.0"), host.OnDisk($"/openstack/venvs/.staging/demo/removing.1.0.0.{Guid.NewGuid():N}"));
        Directory.CreateDirectory(host.OnDisk("/openstack/venvs/demo-4.0.0/bin"));
        await File.WriteAllTextAsync(host.OnDisk("/var/lib/osva/demo/4.0.0.installing"), "/openstack/venvs/demo-4.0.0\n");

        var doctor = await Cli.RunAsync("doctor", "demo", "--root", host.Root);

        Assert.True(doctor.ExitCode == 0, doctor.ToString());
        Assert.Contains("recovering a removal of demo 1.0.0", doctor.Stderr, StringComparison.Ordinal);
        Assert.Contains("recovering an install of demo 4.0.0", doctor.Stderr, StringComparison.Ordinal);
        var state = await host.StateAsync("demo");
        Assert.Equal(["2.0.0", "3.0.0"], state.Installed.Select(t => t.Tag).Order());
        Assert.False(File.Exists(host.OnDisk("/var/lib/osva/demo/1.0.0.manifest.json")));
        Assert.Empty(await BrokenAsync(host));
        Assert.Empty(Interrupted(host));
    }

    [Fact]
    public async Task A_disable_killed_at_any_point_leaves_the_venv_or_the_packages_in_charge_and_a_rerun_converges()
    {
        using var host = new ScratchHost();
        // What the service's distro packages left: a sudoers rule for their rootwrap and a rootwrap.conf.
        var packaged = new Dictionary<string, string>
        {
            ["/etc/sudoers.d/demo-common"] = "demo ALL = (root) NOPASSWD: /usr/bin/demo-rootwrap /etc/demo/rootwrap.conf *\n",
            ["/etc/demo/rootwrap.conf"] = "[DEFAULT]\nfilters_path=/etc/demo/rootwrap.d\nexec_dirs=/sbin,/usr/sbin,/bin,/usr/bin\n",
        };
        foreach (var (hostPath, text) in packaged)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(host.OnDisk(hostPath))!);
            await File.WriteAllTextAsync(host.OnDisk(hostPath), text);
        }
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");

        await KillRunsAsync(host, "disable", _ => ["disable", "demo"],
            converged: s => s.Disabled,
            reset: () => host.Lifecycle.SwitchAsync(new SwitchOptions("demo", "1.0.0", new ActivationSettings(), false), default),
            check: async () =>
            {
                var state = await host.StateAsync("demo");
                if (!state.Disabled) return await BrokenAsync(host);
                // Disabled: the packages' files are back as they were, none of osva's activation files is left.
                var problems = packaged.Where(p => !File.Exists(host.OnDisk(p.Key)) || File.ReadAllText(host.OnDisk(p.Key)) != p.Value)
                    .Select(p => $"{p.Key} is not the packaged file").ToList();
                problems.AddRange(ActivationFiles.Where(f => File.Exists(host.OnDisk(f))).Select(f => $"{f} is left while disabled"));
                if (Directory.Exists(host.OnDisk("/var/lib/osva/demo/originals")) && Directory.EnumerateFiles(host.OnDisk("/var/lib/osva/demo/originals"), "*", SearchOption.AllDirectories).Any())
                {
                    problems.Add("originals/ still holds files while disabled");
                }
                return problems;
            });
    }

    /// <summary>1.0.0 (large, so removing it takes a while), 2.0.0 and 3.0.0 installed; 3.0.0 active, 2.0.0 previous.</summary>
    private static async Task<ScratchHost> ThreeTagsAsync()
    {
        var host = new ScratchHost();
        var big = ScratchHost.Demo("1.0.0");
        for (var i = 0; i < 600; i++) big.Entries.Add(InstallEntry.Text($"lib/python3.11/site-packages/many_{i}.py", $"X = {i}\n"));
        await host.PublishAsync(big);
        await host.PublishAsync(ScratchHost.Demo("2.0.0"));
        await host.PublishAsync(ScratchHost.Demo("3.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        await host.InstallAsync("demo", "2.0.0");
        await host.InstallAsync("demo", "3.0.0");
        return host;
    }

    private static async Task ReinstallAsync(ScratchHost host, string tag)
    {
        if ((await host.StateAsync("demo")).Find(tag) is not null) return;
        await new InstallOperation(host.Environment).RunAsync(new InstallRequest
        {
            Service = "demo", TagOrAlias = tag, Store = Artifact.Store.StoreLocation.Parse(host.Store), S3 = Artifact.Store.S3Settings.FromEnvironment(),
            Activation = new ActivationSettings(), TrustedKeys = [], NoActivate = true,
        }, CancellationToken.None);
    }

    /// <summary>
    /// Runs the command once unkilled to time it (then resets), then <see cref="Kills"/> times: kill after a random
    /// share of that time, doctor, check the host works, run the command again, check it converged with nothing left.
    /// </summary>
    private static async Task KillRunsAsync(ScratchHost host, string stage, Func<Random, string[]> command, Func<ServiceState, bool> converged, Func<Task> reset,
        Func<Task<List<string>>>? check = null)
    {
        check ??= () => BrokenAsync(host);
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var timer = Stopwatch.StartNew();
        var full = await Cli.RunAsync([.. command(random), "--root", host.Root]);
        var duration = timer.Elapsed;
        Assert.True(full.ExitCode == 0, full.ToString());
        await reset();

        var (midTransaction, broken, leftovers) = (0, 0, 0);
        var failures = new List<string>();
        for (var run = 0; run < Kills; run++)
        {
            var args = command(random);
            // Kills spread over how long the same command takes unkilled, so they land in every phase of it.
            var delay = TimeSpan.FromMilliseconds(random.NextDouble() * duration.TotalMilliseconds);
            var finished = await RunAndKillAsync([.. args, "--root", host.Root], delay);
            var context = $"seed {seed}, run {run}, {string.Join(' ', args)} killed after {delay.TotalMilliseconds:0} ms (finished: {finished})";
            if (!finished && Interrupted(host).Count > 0) midTransaction++;

            var doctor = await Cli.RunAsync("doctor", "demo", "--root", host.Root);
            var problems = doctor.ExitCode == 0 ? [] : new List<string> { $"doctor: {doctor}" };
            problems.AddRange(await check());
            if (problems.Count > 0)
            {
                broken++;
                failures.Add($"{context}: broken: {string.Join("; ", problems)}");
            }

            var rerun = await Cli.RunAsync([.. args, "--root", host.Root]);
            var left = rerun.ExitCode == 0 ? [] : new List<string> { $"rerun: {rerun}" };
            if (rerun.ExitCode == 0 && !converged(await host.StateAsync("demo"))) left.Add("rerun did not reach the command's end state");
            left.AddRange(Interrupted(host));
            left.AddRange(await check());
            var flock = await ProcessRunner.RunAsync("flock", ["-n", Path.Combine(host.Environment.StateDirectory, "demo.lock"), "true"]);
            if (flock.ExitCode != 0) left.Add($"the service lock is still held: {flock}");
            if (left.Count > 0)
            {
                leftovers++;
                failures.Add($"{context}: after the rerun: {string.Join("; ", left)}");
            }
            await reset();
        }
        TrustLog.Append(new { kind = "kill", stage, runs = Kills, midTransaction, broken, leftovers, seed });
        Console.WriteLine($"{stage} kills: {Kills} over {duration.TotalMilliseconds:0} ms runs, interrupted mid-transaction: {midTransaction}, broken: {broken}, leftovers: {leftovers} (seed {seed})");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    /// <summary>What a killed run may leave and the next run must clear: staging content, partial downloads, temp files, intents, journals.</summary>
    private static List<string> Interrupted(ScratchHost host)
    {
        var found = new List<string>();
        var staging = host.OnDisk("/openstack/venvs/.staging");
        if (Directory.Exists(staging)) found.AddRange(Directory.EnumerateFileSystemEntries(staging, "*", SearchOption.AllDirectories).Take(3));
        foreach (var pattern in new[] { "*.partial", "*.tmp", "*.osva-new", "*.installing", "*.journal" })
        {
            found.AddRange(Directory.EnumerateFiles(host.Root, pattern, SearchOption.AllDirectories).Where(f => !f.StartsWith(staging, StringComparison.Ordinal)));
        }
        return found.Select(f => f[host.Root.Length..]).ToList();
    }

    /// <summary>Everything that must hold for the host to work; an empty list when it does.</summary>
    private static async Task<List<string>> BrokenAsync(ScratchHost host)
    {
        var problems = new List<string>();
        ServiceState state;
        try
        {
            state = await host.StateAsync("demo");
        }
        catch (InstallerException e)
        {
            return [$"state does not parse: {e.Message}"];
        }
        if (state.Active is not { } active || state.Find(active) is null) return [$"no installed tag is active ({state.Active})"];
        var venv = $"/openstack/venvs/demo-{active}";
        void Expect(string hostPath, string text)
        {
            var path = host.OnDisk(hostPath);
            if (!File.Exists(path) || !File.ReadAllText(path).Contains(text, StringComparison.Ordinal)) problems.Add($"{hostPath} does not name {text}");
        }
        Expect("/etc/systemd/system/demo-api.service.d/osva-venv.conf", $"ExecStart={venv}/bin/osva-hello");
        Expect("/etc/sudoers.d/demo_osva", $"{venv}/bin/demo-rootwrap");
        Expect("/usr/local/bin/osva-hello-manage", $"{venv}/bin/osva-hello-manage");
        var visudo = await ProcessRunner.RunAsync("visudo", ["-c", "-q", "-f", host.OnDisk("/etc/sudoers.d/demo_osva")]);
        if (visudo.ExitCode != 0) problems.Add($"visudo: {visudo}");
        // The console script as the unit runs it, through the venv's own python (its shebang names the path on a real host).
        var script = await ProcessRunner.RunAsync(host.OnDisk($"{venv}/bin/python"), [host.OnDisk($"{venv}/bin/osva-hello")]);
        if (script.ExitCode != 0 || !script.Stdout.StartsWith($"osva-hello {active} ", StringComparison.Ordinal)) problems.Add($"console script: {script}");
        // No half-unpacked tag: every venv on disk is a listed tag, and every listed tag is whole.
        var venvs = Directory.EnumerateDirectories(host.OnDisk("/openstack/venvs")).Select(Path.GetFileName).Where(n => !n!.StartsWith('.'));
        foreach (var unlisted in venvs.Except(state.Installed.Select(t => Path.GetFileName(t.InstallPath)))) problems.Add($"{unlisted} is under the venvs root but not listed");
        foreach (var tag in state.Installed)
        {
            var verify = await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", tag.Tag), default);
            if (verify.Ok != true) problems.Add($"{tag.Tag} is listed but does not verify ({verify.Drift?.Count} entries differ)");
        }
        return problems;
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
