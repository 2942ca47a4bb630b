using OsVenvArtifacts.Installer.Activation;
using OsVenvArtifacts.Installer.Operations;

namespace OsVenvArtifacts.Installer.Tests;

public sealed class LifecycleTests
{
    private static async Task<ScratchHost> TwoTagsAsync()
    {
        var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.PublishAsync(ScratchHost.Demo("2.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        await host.InstallAsync("demo", "2.0.0");
        return host;
    }

    [Fact]
    public async Task Upgrade_then_downgrade_is_a_switch_without_download_and_repeats_report_no_change()
    {
        using var host = await TwoTagsAsync();
        Directory.Delete(host.Store, recursive: true);

        var down = await host.Lifecycle.SwitchAsync(new SwitchOptions("demo", "1.0.0", new ActivationSettings(), false), default);
        var again = await host.Lifecycle.SwitchAsync(new SwitchOptions("demo", "1.0.0", new ActivationSettings(), false), default);

        Assert.True(down.Changed);
        Assert.False(again.Changed);
        Assert.Equal("1.0.0", down.Active);
        Assert.Equal("2.0.0", down.Previous);
        Assert.Contains("ExecStart=/openstack/venvs/demo-1.0.0/bin/osva-hello", host.Read("/etc/systemd/system/demo-api.service.d/osva-venv.conf"), StringComparison.Ordinal);
        Assert.Contains("/openstack/venvs/demo-1.0.0/bin/demo-rootwrap", host.Read("/etc/sudoers.d/demo_osva"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Switch_replaces_the_old_venv_in_rootwrap_exec_dirs_and_keeps_comments_and_other_keys()
    {
        using var host = new ScratchHost();
        Directory.CreateDirectory(host.OnDisk("/etc/demo"));
        await File.WriteAllTextAsync(host.OnDisk("/etc/demo/rootwrap.conf"),
            "# operator comment\n[DEFAULT]\n# where filters live\nfilters_path=/etc/demo/rootwrap.d\nexec_dirs=/sbin,/usr/bin\nuse_syslog=True\n\n[xenapi]\nxenapi_connection_url=x\n");
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.PublishAsync(ScratchHost.Demo("2.0.0"));
        await host.InstallAsync("demo", "1.0.0");

        await host.InstallAsync("demo", "2.0.0");

        Assert.Equal("# operator comment\n[DEFAULT]\n# where filters live\nfilters_path=/etc/demo/rootwrap.d\nexec_dirs=/openstack/venvs/demo-2.0.0/bin,/sbin,/usr/bin\nuse_syslog=True\n\n[xenapi]\nxenapi_connection_url=x\n",
            host.Read("/etc/demo/rootwrap.conf"));
    }

    [Fact]
    public async Task Rollback_returns_to_the_previous_tag()
    {
        using var host = await TwoTagsAsync();

        var result = await host.Lifecycle.RollbackAsync(new RollbackOptions("demo", new ActivationSettings(), false), default);

        Assert.Equal("1.0.0", result.Active);
        Assert.Equal("2.0.0", result.Previous);
    }

    [Fact]
    public async Task Gc_keeps_the_newest_plus_active_and_previous_tags()
    {
        using var host = new ScratchHost();
        foreach (var tag in new[] { "1.0.0", "2.0.0", "3.0.0", "4.0.0" })
        {
            await host.PublishAsync(ScratchHost.Demo(tag));
            await host.InstallAsync("demo", tag);
        }
        await host.Lifecycle.SwitchAsync(new SwitchOptions("demo", "1.0.0", new ActivationSettings(), false), default);

        var result = await host.Lifecycle.GcAsync(new GcOptions("demo", 0, false), default);
        var again = await host.Lifecycle.GcAsync(new GcOptions("demo", 0, false), default);

        Assert.True(result.Changed);
        Assert.False(again.Changed);
        var state = await host.StateAsync("demo");
        Assert.Equal(["1.0.0", "4.0.0"], state.Installed.Select(t => t.Tag).Order().ToArray());
        Assert.False(Directory.Exists(host.OnDisk("/openstack/venvs/demo-2.0.0")));
        Assert.False(Directory.Exists(host.OnDisk("/openstack/venvs/demo-3.0.0")));
    }

    [Fact]
    public async Task Verify_is_clean_after_install_and_reports_each_drifted_entry()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        Assert.True((await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", null), default)).Ok);
        var venv = host.OnDisk("/openstack/venvs/demo-1.0.0");
        await File.AppendAllTextAsync(Path.Combine(venv, "bin/osva-hello"), "# patched by hand\n");
        File.Delete(Path.Combine(venv, "bin/activate.csh"));
        await File.WriteAllTextAsync(Path.Combine(venv, "lib/extra.py"), "");
        File.SetUnixFileMode(Path.Combine(venv, "pyvenv.cfg"), (UnixFileMode)0x1B6);

        var result = await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", "1.0.0"), default);

        Assert.False(result.Ok);
        Assert.Equal(["added lib/extra.py", "missing bin/activate.csh", "modified bin/osva-hello", "modified pyvenv.cfg"], result.Drift!.Order().ToArray());
    }

    [Fact]
    public async Task Uninstall_refuses_the_active_tag_and_removes_an_inactive_one()
    {
        using var host = await TwoTagsAsync();

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.Lifecycle.UninstallAsync(new UninstallOptions("demo", "2.0.0", false), default));
        var removed = await host.Lifecycle.UninstallAsync(new UninstallOptions("demo", "1.0.0", false), default);
        var again = await host.Lifecycle.UninstallAsync(new UninstallOptions("demo", "1.0.0", false), default);

        Assert.Equal("OSVA-I073", e.Code);
        Assert.True(removed.Changed);
        Assert.False(again.Changed);
        Assert.False(Directory.Exists(host.OnDisk("/openstack/venvs/demo-1.0.0")));
        Assert.Null((await host.StateAsync("demo")).Previous);
    }

    [Fact]
    public async Task List_marks_the_active_and_previous_tags()
    {
        using var host = await TwoTagsAsync();

        var list = await host.Lifecycle.ListAsync(new ListOptions(null), default);

        Assert.Equal(["1.0.0 previous", "2.0.0 active"],
            list.Tags!.Select(t => $"{t.Tag} {(t.Active ? "active" : t.Previous ? "previous" : "")}").ToArray());
    }

    [Fact]
    public async Task Doctor_finds_a_venv_whose_interpreter_an_os_upgrade_removed()
    {
        using var host = new ScratchHost();
        // A root that is a whole system: host facts come from it, so removing its python is an "OS upgrade".
        Directory.CreateDirectory(host.OnDisk("/etc"));
        Directory.CreateDirectory(host.OnDisk("/usr/bin"));
        await File.WriteAllTextAsync(host.OnDisk("/etc/os-release"), "ID=debian\nVERSION_ID=\"12\"\n");
        await File.WriteAllTextAsync(host.OnDisk("/usr/bin/python3.11"), "");
        File.CreateSymbolicLink(host.OnDisk("/usr/bin/python3"), "python3.11");
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        Assert.True((await host.Lifecycle.DoctorAsync(new DoctorOptions(null), default)).Ok);

        File.Delete(host.OnDisk("/usr/bin/python3.11"));
        var result = await host.Lifecycle.DoctorAsync(new DoctorOptions("demo"), default);

        Assert.False(result.Ok);
        Assert.Contains(result.Findings!, f => f.Problem.Contains("pyvenv.cfg home /usr/bin holds no python3", StringComparison.Ordinal));
        var link = Assert.Single(result.Findings!, f => f.Problem.Contains("bin/python", StringComparison.Ordinal));
        Assert.Contains("apt-get install python3.11", link.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Visudo_rejection_leaves_the_old_sudoers_and_tag_in_place_with_visudo_stubbed_to_reject()
    {
        using var host = await TwoTagsAsync();
        var stub = Path.Combine(host.TempPath, "visudo-rejects");
        await File.WriteAllTextAsync(stub, "#!/bin/sh\necho \"stub: syntax error near line 2\" >&2\nexit 1\n");
        File.SetUnixFileMode(stub, (UnixFileMode)0x1ED);
        host.Env = new Host.InstallerEnvironment(host.Root) { Visudo = stub };
        var before = host.ServiceFiles();

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.Lifecycle.SwitchAsync(new SwitchOptions("demo", "1.0.0", new ActivationSettings(), false), default));

        Assert.Equal("OSVA-I050", e.Code);
        Assert.Contains("stub: syntax error near line 2", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, host.ServiceFiles());
        Assert.Equal("2.0.0", (await host.StateAsync("demo")).Active);
        Assert.Equal(["demo_osva"], Directory.EnumerateFiles(host.OnDisk("/etc/sudoers.d")).Select(f => Path.GetFileName(f)).ToArray());
    }

    [Fact]
    public async Task Failing_health_check_restores_every_file_and_keeps_the_previous_tag_active()
    {
        using var host = await TwoTagsAsync();
        var before = host.ServiceFiles();

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.Lifecycle.SwitchAsync(new SwitchOptions("demo", "1.0.0",
            new ActivationSettings { HealthCheck = "echo unhealthy >&2; exit 3", HealthTimeout = TimeSpan.FromSeconds(1) }, false), default));

        Assert.Equal("OSVA-I054", e.Code);
        Assert.Equal(before, host.ServiceFiles());
        Assert.Equal("2.0.0", (await host.StateAsync("demo")).Active);
    }

    [Fact]
    public async Task Json_result_carries_changed_for_ansible()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        string[] args = ["install", "demo", "1.0.0", "--store", host.Store, "--root", host.Root, "--json"];

        var first = await Cli.RunAsync(args);
        var second = await Cli.RunAsync(args);

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("\"changed\": true", first.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"changed\": false", second.Stdout, StringComparison.Ordinal);
    }
}
