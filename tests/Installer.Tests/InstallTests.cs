using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Host;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

public sealed class InstallTests
{
    [Fact]
    public async Task Install_unpacks_the_venv_at_its_install_path_and_activates_it()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));

        var result = await host.InstallAsync("demo", "1.0.0");

        Assert.True(result.Changed);
        var venv = host.OnDisk("/openstack/venvs/demo-1.0.0");
        Assert.Equal("/usr/bin/python3.11", new FileInfo(Path.Combine(venv, "bin/python3.11")).LinkTarget);
        var run = await ProcessRunner.RunAsync(Path.Combine(venv, "bin/python"), [Path.Combine(venv, "bin/osva-hello")]);
        Assert.Equal($"osva-hello 1.0.0 {venv}", run.Stdout.Trim());
        Assert.Contains("ExecStart=/openstack/venvs/demo-1.0.0/bin/osva-hello", host.Read("/etc/systemd/system/demo-api.service.d/osva-venv.conf"), StringComparison.Ordinal);
        Assert.Contains("Environment=PATH=/openstack/venvs/demo-1.0.0/bin:", host.Read("/etc/systemd/system/demo-api.service.d/osva-venv.conf"), StringComparison.Ordinal);
        Assert.Contains("exec_dirs=/openstack/venvs/demo-1.0.0/bin,", host.Read("/etc/demo/rootwrap.conf"), StringComparison.Ordinal);
        Assert.Contains("exec /openstack/venvs/demo-1.0.0/bin/osva-hello-manage \"$@\"", host.Read("/usr/local/bin/osva-hello-manage"), StringComparison.Ordinal);
        Assert.False(File.Exists(host.OnDisk("/usr/local/bin/demo-rootwrap")));
        Assert.Equal("1.0.0", (await host.StateAsync("demo")).Active);
        Assert.Empty(Directory.EnumerateFileSystemEntries(host.OnDisk("/openstack/venvs/.staging")));
    }

    [Fact]
    public async Task Install_writes_a_sudoers_file_that_real_visudo_accepts_with_mode_0440()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));

        await host.InstallAsync("demo", "1.0.0");

        var sudoers = host.OnDisk("/etc/sudoers.d/demo_osva");
        Assert.Equal((UnixFileMode)0x120, File.GetUnixFileMode(sudoers));
        var text = File.ReadAllText(sudoers);
        Assert.Contains("Defaults:demo secure_path=\"/openstack/venvs/demo-1.0.0/bin:", text, StringComparison.Ordinal);
        Assert.Contains("demo ALL = (root) NOPASSWD: /openstack/venvs/demo-1.0.0/bin/demo-rootwrap /etc/demo/rootwrap.conf *", text, StringComparison.Ordinal);
        var check = await ProcessRunner.RunAsync("visudo", ["-c", "-f", sudoers]);
        Assert.True(check.ExitCode == 0, check.ToString());
    }

    [Fact]
    public async Task Install_resolves_an_alias_from_the_index()
    {
        using var host = new ScratchHost();
        var files = await host.PublishAsync(ScratchHost.Demo("2.1.0"));
        await InstallStore.PublishAsync(host.Store, files, new Dictionary<string, string> { ["stable"] = "2.1.0" });

        var result = await host.InstallAsync("demo", "stable");

        Assert.Equal("2.1.0", result.Tag);
        Assert.True(Directory.Exists(host.OnDisk("/openstack/venvs/demo-2.1.0")));
    }

    [Fact]
    public async Task Tampered_archive_is_refused_before_unpacking_and_the_old_tag_stays_active()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        var files = await host.PublishAsync(ScratchHost.Demo("2.0.0"));
        var stored = Path.Combine(host.Store, "demo", "2.0.0", Path.GetFileName(files.Archive));
        FlipOneByte(stored);
        var before = host.ServiceFiles();

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "2.0.0"));

        Assert.Equal("OSVA-I010", e.Code);
        Assert.Contains(Path.GetFileName(files.Archive), e.Message, StringComparison.Ordinal);
        Assert.Contains(files.Manifest.Archive.Sha256, e.Message, StringComparison.Ordinal);
        Assert.Contains(await Sha256.OfFileAsync(stored, default), e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(host.OnDisk("/openstack/venvs/demo-2.0.0")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(host.OnDisk("/openstack/venvs/.staging")));
        Assert.Equal("1.0.0", (await host.StateAsync("demo")).Active);
        Assert.Equal(before, host.ServiceFiles());
    }

    [Fact]
    public async Task Tampered_archive_exits_non_zero_with_one_line_naming_the_file_and_both_hashes()
    {
        using var host = new ScratchHost();
        var files = await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        var stored = Path.Combine(host.Store, "demo", "1.0.0", Path.GetFileName(files.Archive));
        FlipOneByte(stored);

        var run = await Cli.RunAsync("install", "demo", "1.0.0", "--store", host.Store, "--root", host.Root);

        Assert.Equal((int)ExitCode.VerificationFailed, run.ExitCode);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("OSVA-I010", line, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(files.Archive), line, StringComparison.Ordinal);
        Assert.Contains(files.Manifest.Archive.Sha256, line, StringComparison.Ordinal);
        Assert.Contains(await Sha256.OfFileAsync(stored, default), line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(host.OnDisk("/openstack/venvs/demo-1.0.0")));
    }

    [Fact]
    public async Task Host_mismatch_is_refused_with_what_differs_and_the_old_tag_stays_active()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        var b = ScratchHost.Demo("2.0.0");
        b.RuntimePackages.Add("osva-no-such-package");
        await host.PublishAsync(b);
        var before = host.ServiceFiles();

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "2.0.0"));

        Assert.Equal("OSVA-I020", e.Code);
        Assert.Equal(ExitCode.HostMismatch, e.ExitCode);
        Assert.Contains("runtime packages missing: osva-no-such-package", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(host.OnDisk("/openstack/venvs/demo-2.0.0")));
        Assert.Equal("1.0.0", (await host.StateAsync("demo")).Active);
        Assert.Equal(before, host.ServiceFiles());
    }

    [Fact]
    public async Task Host_check_names_a_missing_interpreter()
    {
        using var host = new ScratchHost();
        var b = ScratchHost.Demo("1.0.0");
        b.PythonPath = "/usr/bin/python3.11-osva-missing";
        await host.PublishAsync(b);

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "1.0.0"));

        Assert.Contains("interpreter /usr/bin/python3.11-osva-missing is missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Second_identical_install_reports_no_change_and_touches_nothing()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        var before = host.ServiceFiles();

        var again = await host.InstallAsync("demo", "1.0.0");

        Assert.False(again.Changed);
        Assert.Equal(before, host.ServiceFiles());
    }

    [Fact]
    public async Task Dry_run_lists_the_changes_and_makes_none()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));

        var result = await host.InstallAsync("demo", "1.0.0", dryRun: true);

        Assert.True(result.Changed);
        Assert.Contains(result.Actions, a => a.StartsWith("download demo-1.0.0-", StringComparison.Ordinal));
        Assert.Contains(result.Actions, a => a == "write /etc/sudoers.d/demo_osva");
        Assert.False(Directory.Exists(host.OnDisk("/openstack/venvs/demo-1.0.0")));
        Assert.False(File.Exists(host.OnDisk("/etc/sudoers.d/demo_osva")));
    }

    [Fact]
    public async Task Dry_run_json_lists_each_file_with_the_content_the_install_then_writes()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        string[] install = ["install", "demo", "1.0.0", "--store", host.Store, "--root", host.Root, "--json"];

        var dry = await Cli.RunAsync([.. install, "--dry-run"]);
        Assert.True(dry.ExitCode == 0, dry.ToString());
        var files = System.Text.Json.JsonDocument.Parse(dry.Stdout).RootElement.GetProperty("files").EnumerateArray()
            .ToDictionary(f => f.GetProperty("path").GetString()!, f => (Change: f.GetProperty("change").GetString(), Content: f.GetProperty("content").GetString()));
        Assert.Contains("/etc/sudoers.d/demo_osva", files.Keys);
        Assert.Contains("/etc/systemd/system/demo-api.service.d/osva-venv.conf", files.Keys);
        Assert.False(File.Exists(host.OnDisk("/etc/sudoers.d/demo_osva")));

        var real = await Cli.RunAsync(install);
        Assert.True(real.ExitCode == 0, real.ToString());
        foreach (var (path, (change, content)) in files)
        {
            Assert.Equal("write", change);
            Assert.Equal(content, host.Read(path));
        }
        var again = await Cli.RunAsync(install);
        Assert.Empty(System.Text.Json.JsonDocument.Parse(again.Stdout).RootElement.GetProperty("files").EnumerateArray());
    }

    [Fact]
    public async Task Install_waits_for_the_service_lock_and_gives_up_with_a_conflict()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        host.Env = new InstallerEnvironment(host.Root) { LockTimeout = TimeSpan.FromMilliseconds(300) };
        using var held = await ServiceLock.AcquireAsync(host.Env, "demo", default);

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "1.0.0"));

        Assert.Equal("OSVA-I060", e.Code);
        Assert.Equal(ExitCode.Conflict, e.ExitCode);
        Assert.Contains($"held by pid {Environment.ProcessId}", e.Message, StringComparison.Ordinal);

        // The real program waiting on the same lock says once for whom, then gives up after --lock-timeout.
        var waiting = await Cli.RunAsync("install", "demo", "1.0.0", "--store", host.Store, "--root", host.Root, "--lock-timeout", "1");
        Assert.True(waiting.ExitCode == (int)ExitCode.Conflict, waiting.ToString());
        var lines = waiting.Stderr.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"osva-install: waiting for the lock on demo held by pid {Environment.ProcessId}", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("up to 1 s (--lock-timeout)", lines[0], StringComparison.Ordinal);
        Assert.Contains("OSVA-I060", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrapper_never_overwrites_a_file_osva_did_not_write()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        Directory.CreateDirectory(host.OnDisk("/usr/local/bin"));
        await File.WriteAllTextAsync(host.OnDisk("/usr/local/bin/osva-hello"), "#!/bin/sh\necho operator's own\n");

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "1.0.0"));

        Assert.Equal("OSVA-I051", e.Code);
        Assert.Equal("#!/bin/sh\necho operator's own\n", host.Read("/usr/local/bin/osva-hello"));
    }

    internal static void FlipOneByte(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = file.Length / 2;
        var b = file.ReadByte();
        file.Position = file.Length / 2;
        file.WriteByte((byte)(b ^ 0x01));
    }
}
