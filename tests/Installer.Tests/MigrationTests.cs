using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Activation;
using OsVenvArtifacts.Installer.Operations;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// Taking over a host where a service ran from its distro packages, and giving it back (disable), in a scratch root:
/// the packaged files are the ones Debian 12's nova-common ships (text as in the .deb; DebianNovaHostTests uses the
/// real .deb in a systemd host).
/// </summary>
public sealed class MigrationTests
{
    /// <summary>/etc/sudoers.d/nova-common of Debian 12's nova-common 2:26.2.2-1~deb12u5.</summary>
    private const string PackagedSudoers = "nova ALL = (root) NOPASSWD: /usr/bin/nova-rootwrap /etc/nova/rootwrap.conf *\nnova ALL = (root) NOPASSWD: /usr/bin/privsep-helper *\n";

    /// <summary>The [DEFAULT] lines of Debian's /etc/nova/rootwrap.conf, comments and all.</summary>
    private const string PackagedRootwrapConf = """
        # Configuration for nova-rootwrap
        # This file should be owned by (and only-writeable by) the root user

        [DEFAULT]
        # List of directories to load filter definitions from (separated by ',').
        # These directories MUST all be only writeable by root !
        filters_path=/etc/nova/rootwrap.d,/usr/share/nova/rootwrap

        # List of directories to search executables in, in case filters do not
        # explicitly specify a full path (separated by ',')
        exec_dirs=/sbin,/usr/sbin,/bin,/usr/bin,/usr/local/sbin,/usr/local/bin

        # Rootwrap daemon exits after this seconds of inactivity
        daemon_timeout=600

        """;

    private const string PackagedFilter = "[Filters]\nid: CommandFilter, id, root\n";

    /// <summary>A nova venv with a server, its management tool, rootwrap programs, privsep and scripts many services ship.</summary>
    private static InstallArtifactBuilder Nova(string tag, string service = "nova", params string[] management)
    {
        var b = InstallArtifactBuilder.Venv(service, tag, null, $"{service}-api", $"{service}-manage", $"{service}-rootwrap", $"{service}-rootwrap-daemon",
            "privsep-helper", "oslo-rootwrap", "alembic");
        b.ManagementScripts.Clear();
        b.ManagementScripts.AddRange(management.Length > 0 ? management : [$"{service}-manage"]);
        b.Systemd = new SystemdHints { Units = [new SystemdUnit($"{service}-api", $"{service}-api"), new SystemdUnit($"{service}-compute", $"{service}-api")] };
        b.Rootwrap = new RootwrapHints { ConfigPath = $"/etc/{service}/rootwrap.conf", Command = $"{service}-rootwrap", FiltersDir = $"etc/{service}/rootwrap.d" };
        b.Entries.Add(InstallEntry.Dir("etc"));
        b.Entries.Add(InstallEntry.Dir($"etc/{service}"));
        b.Entries.Add(InstallEntry.Dir($"etc/{service}/rootwrap.d"));
        b.Entries.Add(InstallEntry.Text($"etc/{service}/rootwrap.d/venv.filters", "[Filters]\nwhoami: CommandFilter, whoami, root\n"));
        return b;
    }

    /// <summary>What nova-common and nova-api leave on a host: the unit, the sudoers file, rootwrap.conf and a filter.</summary>
    private static void PackagedNova(ScratchHost host)
    {
        host.AddUnit("nova-api");
        Write(host, "/etc/sudoers.d/nova-common", PackagedSudoers, (UnixFileMode)0x120);
        Write(host, "/etc/nova/rootwrap.conf", PackagedRootwrapConf, (UnixFileMode)0x1A4);
        Write(host, "/etc/nova/rootwrap.d/compute.filters", PackagedFilter, (UnixFileMode)0x1A4);
    }

    private static void Write(ScratchHost host, string hostPath, string text, UnixFileMode mode)
    {
        var path = host.OnDisk(hostPath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, mode);
    }

    private static Task<CommandResult> DisableAsync(ScratchHost host, bool dryRun = false) =>
        host.Lifecycle.DisableAsync(new DisableOptions("nova", dryRun), CancellationToken.None);

    [Fact]
    public async Task Drop_ins_go_only_to_units_the_host_has_or_the_deployer_names_and_the_rest_are_reported()
    {
        using var host = new ScratchHost();
        PackagedNova(host);
        await InstallStore.AddAsync(host.Store, Nova("1.0.0"), host.Work);

        var result = await host.InstallAsync("nova", "1.0.0", activation: new ActivationSettings { Units = ["nova-conductor=nova-api --conductor"] });

        Assert.True(File.Exists(host.OnDisk("/etc/systemd/system/nova-api.service.d/osva-venv.conf")));
        Assert.Contains("ExecStart=/openstack/venvs/nova-1.0.0/bin/nova-api --conductor", host.Read("/etc/systemd/system/nova-conductor.service.d/osva-venv.conf"), StringComparison.Ordinal);
        Assert.False(Directory.Exists(host.OnDisk("/etc/systemd/system/nova-compute.service.d")));
        Assert.Contains(result.Actions, a => a.StartsWith("skip unit nova-compute: no nova-compute.service on this host", StringComparison.Ordinal));
        Assert.Equal(["nova-api", "nova-conductor"], (await host.StateAsync("nova")).Activation!.Units);
    }

    [Fact]
    public async Task Sudoers_covers_every_rootwrap_entry_point_the_venv_has_and_takes_over_the_packaged_rules()
    {
        using var host = new ScratchHost();
        PackagedNova(host);
        await InstallStore.AddAsync(host.Store, Nova("1.0.0"), host.Work);

        var result = await host.InstallAsync("nova", "1.0.0");

        var sudoers = host.OnDisk("/etc/sudoers.d/nova_osva");
        var venv = "/openstack/venvs/nova-1.0.0";
        Assert.Equal(
            $"Defaults:nova secure_path=\"{venv}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n"
            + $"nova ALL = (root) NOPASSWD: {venv}/bin/nova-rootwrap /etc/nova/rootwrap.conf *\n"
            + $"nova ALL = (root) NOPASSWD: {venv}/bin/nova-rootwrap-daemon /etc/nova/rootwrap.conf\n"
            + $"nova ALL = (root) NOPASSWD: {venv}/bin/privsep-helper *\n",
            string.Join('\n', File.ReadAllText(sudoers).Split('\n').Skip(1)));
        var check = await ProcessRunner.RunAsync("visudo", ["-c", "-f", sudoers]);
        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.False(File.Exists(host.OnDisk("/etc/sudoers.d/nova-common")), "the packaged rule for /usr/bin/nova-rootwrap would still let nova run it");
        var kept = host.OnDisk("/var/lib/osva/nova/originals/etc/sudoers.d/nova-common");
        Assert.Equal(PackagedSudoers, File.ReadAllText(kept));
        Assert.Equal((UnixFileMode)0x120, File.GetUnixFileMode(kept));
        Assert.Contains("keep the packaged /etc/sudoers.d/nova-common as /var/lib/osva/nova/originals/etc/sudoers.d/nova-common", result.Actions);
        Assert.Contains("remove /etc/sudoers.d/nova-common", result.Actions);
    }

    [Fact]
    public async Task Dry_run_of_a_first_install_names_the_takeover_and_changes_nothing()
    {
        using var host = new ScratchHost();
        PackagedNova(host);
        await InstallStore.AddAsync(host.Store, Nova("1.0.0"), host.Work);
        var before = host.ServiceFiles();

        var dry = await host.InstallAsync("nova", "1.0.0", dryRun: true);

        Assert.Contains("remove /etc/sudoers.d/nova-common", dry.Actions);
        Assert.Contains("keep the packaged /etc/nova/rootwrap.conf as /var/lib/osva/nova/originals/etc/nova/rootwrap.conf", dry.Actions);
        Assert.Contains(dry.Files!, f => f.Path == "/etc/sudoers.d/nova_osva" && f.Content!.Contains("/bin/nova-rootwrap-daemon /etc/nova/rootwrap.conf\n", StringComparison.Ordinal));
        Assert.Equal(before, host.ServiceFiles());
    }

    [Fact]
    public async Task Another_services_packaged_sudoers_naming_a_shared_program_is_left_alone()
    {
        using var host = new ScratchHost();
        PackagedNova(host);
        Write(host, "/etc/sudoers.d/neutron-common", "neutron ALL = (root) NOPASSWD: /usr/bin/privsep-helper *\n", (UnixFileMode)0x120);
        await InstallStore.AddAsync(host.Store, Nova("1.0.0"), host.Work);

        await host.InstallAsync("nova", "1.0.0");

        Assert.True(File.Exists(host.OnDisk("/etc/sudoers.d/neutron-common")));
        Assert.False(File.Exists(host.OnDisk("/var/lib/osva/nova/originals/etc/sudoers.d/neutron-common")));
    }

    [Fact]
    public async Task Rootwrap_program_the_manifest_names_but_the_venv_lacks_is_refused_with_one_line_and_nothing_written()
    {
        using var host = new ScratchHost();
        PackagedNova(host);
        var b = Nova("1.0.0");
        b.Rootwrap = b.Rootwrap! with { Command = "nova-rootwrap-missing" };
        await InstallStore.AddAsync(host.Store, b, host.Work);
        var before = host.ServiceFiles();

        var run = await Cli.RunAsync("install", "nova", "1.0.0", "--store", host.Store, "--root", host.Root);

        Assert.Equal(9, run.ExitCode);
        var error = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("OSVA-I074", error, StringComparison.Ordinal);
        Assert.Contains("nova-rootwrap-missing", error, StringComparison.Ordinal);
        var after = host.ServiceFiles().Where(f => !f.Key.Contains("/var/lib/osva/", StringComparison.Ordinal));
        Assert.Equal(before, after.ToDictionary());
    }

    [Fact]
    public async Task A_venv_file_named_like_a_rootwrap_daemon_but_carrying_a_sudoers_rule_is_refused_and_no_sudoers_written()
    {
        using var host = new ScratchHost();
        PackagedNova(host);
        var b = Nova("1.0.0");
        // A compromised build: the name ends as a rootwrap daemon does, and its newline would start a rule of its own.
        b.Format = System.Formats.Tar.TarEntryFormat.Gnu;
        b.Entries.Add(InstallEntry.Text("bin/x\nnova ALL=(ALL) NOPASSWD: ALL\n#-rootwrap-daemon", "#!/bin/sh\n", 0x1ED));
        await InstallStore.AddAsync(host.Store, b, host.Work);
        var before = host.ServiceFiles();

        var run = await Cli.RunAsync("install", "nova", "1.0.0", "--store", host.Store, "--root", host.Root);

        Assert.True(run.ExitCode != 0 && run.Stderr.Contains("OSVA-I003", StringComparison.Ordinal), run.ToString());
        Assert.False(File.Exists(host.OnDisk("/etc/sudoers.d/nova_osva")), "no sudoers file may be written");
        var after = host.ServiceFiles().Where(f => !f.Key.Contains("/var/lib/osva/", StringComparison.Ordinal));
        Assert.Equal(before, after.ToDictionary());
    }

    [Theory]
    [InlineData("unit-of-another-service", "OSVA-I076")]
    [InlineData("exec-start-with-carriage-return", "OSVA-I003")]
    [InlineData("rootwrap-config-elsewhere", "OSVA-I076")]
    [InlineData("filters-dir-leaving-the-venv", "OSVA-I076")]
    [InlineData("filters-dir-adding-a-directory", "OSVA-I076")]
    public async Task A_manifest_reaching_past_its_service_is_refused_and_nothing_written(string attack, string code)
    {
        using var host = new ScratchHost();
        PackagedNova(host);
        host.AddUnit("ssh");
        var b = Nova("1.0.0");
        switch (attack)
        {
            case "unit-of-another-service": b.Systemd = new SystemdHints { Units = [new SystemdUnit("ssh", "nova-api")] }; break;
            case "exec-start-with-carriage-return": b.Systemd = new SystemdHints { Units = [new SystemdUnit("nova-api", "nova-api --x\rUser=root")] }; break;
            case "rootwrap-config-elsewhere": b.Rootwrap = b.Rootwrap! with { ConfigPath = "/etc/shadow" }; break;
            case "filters-dir-leaving-the-venv": b.Rootwrap = b.Rootwrap! with { FiltersDir = "../../../tmp" }; break;
            default: b.Rootwrap = b.Rootwrap! with { FiltersDir = "etc/nova/rootwrap.d,/tmp" }; break;
        }
        await InstallStore.AddAsync(host.Store, b, host.Work);
        var before = host.ServiceFiles();

        var run = await Cli.RunAsync("install", "nova", "1.0.0", "--store", host.Store, "--root", host.Root, "--install-rootwrap-filters");

        Assert.True(run.ExitCode != 0 && run.Stderr.Contains(code, StringComparison.Ordinal), run.ToString());
        var after = host.ServiceFiles().Where(f => !f.Key.Contains("/var/lib/osva/", StringComparison.Ordinal));
        Assert.Equal(before, after.ToDictionary());
    }

    [Fact]
    public async Task Rootwrap_conf_leads_exec_dirs_with_the_venv_keeps_every_other_line_and_adds_the_venv_filters_after_the_packaged_ones()
    {
        using var host = new ScratchHost();
        PackagedNova(host);
        await InstallStore.AddAsync(host.Store, Nova("1.0.0"), host.Work);
        await InstallStore.AddAsync(host.Store, Nova("2.0.0"), host.Work);

        await host.InstallAsync("nova", "1.0.0", activation: new ActivationSettings { InstallRootwrapFilters = true });
        await host.InstallAsync("nova", "2.0.0", activation: new ActivationSettings { InstallRootwrapFilters = true });

        var conf = host.Read("/etc/nova/rootwrap.conf").Split('\n');
        var original = PackagedRootwrapConf.Split('\n');
        Assert.Equal(original.Length, conf.Length);
        for (var i = 0; i < original.Length; i++)
        {
            if (original[i].StartsWith("exec_dirs=", StringComparison.Ordinal))
                Assert.Equal("exec_dirs=/openstack/venvs/nova-2.0.0/bin,/sbin,/usr/sbin,/bin,/usr/bin,/usr/local/sbin,/usr/local/bin", conf[i]);
            else if (original[i].StartsWith("filters_path=", StringComparison.Ordinal))
                Assert.Equal("filters_path=/etc/nova/rootwrap.d,/usr/share/nova/rootwrap,/openstack/venvs/nova-2.0.0/etc/nova/rootwrap.d", conf[i]);
            else Assert.Equal(original[i], conf[i]);
        }
        Assert.Equal(PackagedFilter, host.Read("/etc/nova/rootwrap.d/compute.filters"));
        Assert.Equal(["compute.filters"], Directory.EnumerateFiles(host.OnDisk("/etc/nova/rootwrap.d")).Select(Path.GetFileName));
        Assert.Equal(PackagedRootwrapConf, host.Read("/var/lib/osva/nova/originals/etc/nova/rootwrap.conf"));
    }

    [Fact]
    public async Task Wrappers_are_written_only_for_declared_management_scripts()
    {
        using var host = new ScratchHost();
        PackagedNova(host);
        await InstallStore.AddAsync(host.Store, Nova("1.0.0", "nova", "nova-manage", "privsep-helper", "oslo-rootwrap", "nova-rootwrap"), host.Work);

        await host.InstallAsync("nova", "1.0.0");

        Assert.Equal(["nova-manage"], Directory.EnumerateFiles(host.OnDisk("/usr/local/bin")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Two_services_sharing_script_names_on_one_host_converge_on_no_change()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(Nova("1.0.0"));
        await host.PublishAsync(Nova("1.0.0", "keystone"));

        Assert.True((await host.InstallAsync("nova", "1.0.0")).Changed);
        Assert.True((await host.InstallAsync("keystone", "1.0.0")).Changed);
        var files = host.ServiceFiles();
        var again = new[] { await host.InstallAsync("nova", "1.0.0"), await host.InstallAsync("keystone", "1.0.0") };

        Assert.All(again, r => Assert.False(r.Changed, string.Join("; ", r.Actions)));
        Assert.Equal(files, host.ServiceFiles());
        Assert.Equal(["keystone-manage", "nova-manage"], Directory.EnumerateFiles(host.OnDisk("/usr/local/bin")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_management_script_another_service_owns_is_refused_naming_both_services()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(Nova("1.0.0", "nova", "nova-manage", "alembic"));
        await host.PublishAsync(Nova("1.0.0", "keystone", "keystone-manage", "alembic"));
        await host.InstallAsync("nova", "1.0.0");

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("keystone", "1.0.0"));

        Assert.Equal("OSVA-I075", e.Code);
        Assert.Contains("/usr/local/bin/alembic is a management script of nova; keystone declares the same name", e.Message, StringComparison.Ordinal);
        Assert.Contains("/openstack/venvs/nova-1.0.0/bin/alembic", host.Read("/usr/local/bin/alembic"), StringComparison.Ordinal);
        Assert.Null((await host.StateAsync("keystone")).Active);
    }

    [Fact]
    public async Task Disable_restores_every_packaged_file_byte_for_byte_with_mode_and_owner_and_keeps_the_venvs()
    {
        using var host = new ScratchHost();
        PackagedNova(host);
        File.WriteAllBytes(host.OnDisk("/etc/nova/rootwrap.conf"), [.. File.ReadAllBytes(host.OnDisk("/etc/nova/rootwrap.conf")), 0xE9, 0x0A]);
        Host.Native.SetOwner(host.OnDisk("/etc/nova/rootwrap.conf"), 0, 4242);
        await InstallStore.AddAsync(host.Store, Nova("1.0.0"), host.Work);
        await InstallStore.AddAsync(host.Store, Nova("2.0.0"), host.Work);
        var packaged = Snapshot(host);
        await host.InstallAsync("nova", "1.0.0", activation: new ActivationSettings { InstallRootwrapFilters = true });
        await host.InstallAsync("nova", "2.0.0", activation: new ActivationSettings { InstallRootwrapFilters = true });

        var dry = await DisableAsync(host, dryRun: true);
        Assert.True(dry.Changed);
        Assert.Contains("restore the packaged /etc/sudoers.d/nova-common", dry.Actions);
        Assert.Equal("2.0.0", (await host.StateAsync("nova")).Active);
        var disabled = await DisableAsync(host);

        Assert.True(disabled.Changed);
        Assert.Equal(packaged, Snapshot(host));
        Assert.False(Directory.Exists(host.OnDisk("/etc/systemd/system/nova-api.service.d")));
        Assert.False(Directory.Exists(host.OnDisk("/var/lib/osva/nova/originals")) && Directory.EnumerateFiles(host.OnDisk("/var/lib/osva/nova/originals"), "*", SearchOption.AllDirectories).Any());
        Assert.True(Directory.Exists(host.OnDisk("/openstack/venvs/nova-1.0.0")) && Directory.Exists(host.OnDisk("/openstack/venvs/nova-2.0.0")));
        var state = await host.StateAsync("nova");
        Assert.True(state.Disabled);
        Assert.Null(state.Active);
        Assert.Equal("2.0.0", state.Previous);
        Assert.Equal(["nova"], (await host.Lifecycle.ListAsync(new ListOptions(null), CancellationToken.None)).Disabled);
        Assert.False((await DisableAsync(host)).Changed);

        var again = await host.InstallAsync("nova", "2.0.0");
        Assert.True(again.Changed);
        Assert.False((await host.StateAsync("nova")).Disabled);
        Assert.Null((await host.StateAsync("nova")).Previous);
        Assert.False(File.Exists(host.OnDisk("/etc/sudoers.d/nova-common")));
        Assert.Equal(PackagedSudoers, host.Read("/var/lib/osva/nova/originals/etc/sudoers.d/nova-common"));
    }

    [Fact]
    public async Task A_switch_to_a_tag_without_rootwrap_puts_the_packaged_files_back_and_a_switch_back_takes_them_over_again()
    {
        using var host = new ScratchHost();
        PackagedNova(host);
        await InstallStore.AddAsync(host.Store, Nova("1.0.0"), host.Work);
        var plain = InstallArtifactBuilder.Venv("nova", "2.0.0", null, "nova-api", "nova-manage");
        plain.Systemd = new SystemdHints { Units = [new SystemdUnit("nova-api", "nova-api")] };
        await InstallStore.AddAsync(host.Store, plain, host.Work);
        await host.InstallAsync("nova", "1.0.0", activation: new ActivationSettings { InstallRootwrapFilters = true });

        var switched = await host.InstallAsync("nova", "2.0.0");

        Assert.Contains("restore the packaged /etc/nova/rootwrap.conf", switched.Actions);
        Assert.Contains("restore the packaged /etc/sudoers.d/nova-common", switched.Actions);
        Assert.Equal(PackagedRootwrapConf, host.Read("/etc/nova/rootwrap.conf"));
        Assert.Equal(PackagedSudoers, host.Read("/etc/sudoers.d/nova-common"));
        Assert.Equal((UnixFileMode)0x120, File.GetUnixFileMode(host.OnDisk("/etc/sudoers.d/nova-common")));
        Assert.False(File.Exists(host.OnDisk("/etc/sudoers.d/nova_osva")));
        Assert.DoesNotContain(Directory.EnumerateFiles(host.OnDisk("/var/lib/osva/nova"), "*", SearchOption.AllDirectories), f => f.Contains("/originals/", StringComparison.Ordinal));
        var activation = (await host.StateAsync("nova")).Activation!;
        Assert.DoesNotContain("/etc/nova/rootwrap.conf", activation.Files);
        Assert.DoesNotContain("/etc/sudoers.d/nova-common", activation.Files);

        // Back on the tag with rootwrap: taken over again, and a disable from there restores them once more.
        await host.InstallAsync("nova", "1.0.0");
        Assert.False(File.Exists(host.OnDisk("/etc/sudoers.d/nova-common")));
        Assert.Equal(PackagedSudoers, host.Read("/var/lib/osva/nova/originals/etc/sudoers.d/nova-common"));
        Assert.Equal(PackagedRootwrapConf, host.Read("/var/lib/osva/nova/originals/etc/nova/rootwrap.conf"));
        await DisableAsync(host);
        Assert.Equal(PackagedRootwrapConf, host.Read("/etc/nova/rootwrap.conf"));
        Assert.Equal(PackagedSudoers, host.Read("/etc/sudoers.d/nova-common"));
    }

    [Theory]
    [InlineData("ops ALL = (ALL) \\\n    ALL\n")]
    [InlineData("#1000 ALL = (ALL) ALL\n")]
    public async Task A_packaged_sudoers_file_with_other_users_rules_is_left_in_place_and_reported(string otherRule)
    {
        using var host = new ScratchHost();
        PackagedNova(host);
        var shared = "# local rules\nDefaults:nova !requiretty\n" + PackagedSudoers + otherRule;
        Write(host, "/etc/sudoers.d/nova-common", shared, (UnixFileMode)0x120);
        await InstallStore.AddAsync(host.Store, Nova("1.0.0"), host.Work);

        var result = await host.InstallAsync("nova", "1.0.0");

        Assert.Equal(shared, host.Read("/etc/sudoers.d/nova-common"));
        Assert.Contains(result.Actions, a => a.StartsWith("keep /etc/sudoers.d/nova-common: it has rules for other users too", StringComparison.Ordinal));
        Assert.True(File.Exists(host.OnDisk("/etc/sudoers.d/nova_osva")));
        Assert.False(File.Exists(host.OnDisk("/var/lib/osva/nova/originals/etc/sudoers.d/nova-common")));
    }

    [Fact]
    public async Task A_disable_that_fails_midway_is_undone_whole_and_the_venv_stays_active()
    {
        using var host = new ScratchHost();
        PackagedNova(host);
        await InstallStore.AddAsync(host.Store, Nova("1.0.0"), host.Work);
        await host.InstallAsync("nova", "1.0.0");
        var enabled = Snapshot(host);
        var originals = Directory.EnumerateFiles(host.OnDisk("/var/lib/osva/nova/originals"), "*", SearchOption.AllDirectories).ToList();
        // rootwrap.conf is put back first; a directory where the packaged sudoers file goes then makes the disable fail.
        Directory.CreateDirectory(host.OnDisk("/etc/sudoers.d/nova-common"));

        var e = await Assert.ThrowsAsync<InstallerException>(() => DisableAsync(host));

        Assert.Equal("OSVA-I055", e.Code);
        Directory.Delete(host.OnDisk("/etc/sudoers.d/nova-common"));
        Assert.Equal(enabled, Snapshot(host));
        Assert.Equal(originals, Directory.EnumerateFiles(host.OnDisk("/var/lib/osva/nova/originals"), "*", SearchOption.AllDirectories));
        var state = await host.StateAsync("nova");
        Assert.Equal("1.0.0", state.Active);
        Assert.False(state.Disabled);
        Assert.False(File.Exists(host.OnDisk("/var/lib/osva/nova.journal")));
    }

    /// <summary>Every file outside the venvs and osva's state, with its bytes, mode and owner.</summary>
    private static Dictionary<string, string> Snapshot(ScratchHost host) =>
        Directory.EnumerateFiles(host.Root, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/openstack/venvs/", StringComparison.Ordinal) && !f.Contains("/var/lib/osva/", StringComparison.Ordinal))
            .ToDictionary(f => f, f => $"{Sha256.Of(File.ReadAllBytes(f))} {File.GetUnixFileMode(f)} {Host.Native.Owner(f)}");
}
