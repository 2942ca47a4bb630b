using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// Where a venv lands is the host's decision: a manifest's installPath is only text to relocate from, and
/// --install-path is held to the venvs root and to directories the installer made for that tag.
/// </summary>
public sealed class InstallPathTests
{
    [Theory]
    [InlineData("/etc")]
    [InlineData("/openstack/venvs/demo-1.0.0")]
    [InlineData("/openstack/venvs")]
    public async Task A_manifest_naming_another_path_installs_below_the_venvs_root_and_touches_nothing_there(string builtFor)
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        var etc = Tree(host.OnDisk("/etc"));
        var active = Tree(host.OnDisk("/openstack/venvs/demo-1.0.0"));
        await host.PublishAsync(ScratchHost.Demo("6.6.6", builtFor: builtFor));

        var result = await host.InstallAsync("demo", "6.6.6");

        Assert.True(result.Ok);
        var venv = host.OnDisk("/openstack/venvs/demo-6.6.6");
        Assert.StartsWith("#!/openstack/venvs/demo-6.6.6/bin/python\n", await File.ReadAllTextAsync(Path.Combine(venv, "bin/osva-hello")), StringComparison.Ordinal);
        Assert.Equal(active, Tree(host.OnDisk("/openstack/venvs/demo-1.0.0")));
        Assert.Subset(Tree(host.OnDisk("/etc")).Keys.ToHashSet(), etc.Keys.ToHashSet());
        var recorded = (await host.StateAsync("demo")).Find("6.6.6")!;
        Assert.Equal(("/openstack/venvs/demo-6.6.6", builtFor), (recorded.InstallPath, recorded.BuiltFor));
    }

    [Theory]
    [InlineData("/etc", "is not directly below this host's venvs root")]
    [InlineData("/openstack/venvs", "is not directly below this host's venvs root")]
    [InlineData("/openstack/venvs/.staging", "is not directly below this host's venvs root")]
    [InlineData("/openstack/venvs/deeper/demo", "is not directly below this host's venvs root")]
    [InlineData("/openstack/venvs/demo-1.0.0", "is where demo 1.0.0 is installed")]
    public async Task An_install_path_outside_the_venvs_root_or_of_another_tag_is_refused_and_nothing_changes(string installPath, string reason)
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        var before = Tree(host.Root);
        await host.PublishAsync(ScratchHost.Demo("2.0.0"));

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "2.0.0", installPath: installPath));

        Assert.Equal("OSVA-I043", e.Code);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Tree(host.Root));
        Assert.Equal("1.0.0", (await host.StateAsync("demo")).Active);
    }

    [Fact]
    public async Task Another_service_cannot_install_onto_a_recorded_venv()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        await host.PublishAsync(ScratchHost.Demo("1.0.0", service: "other"));
        var before = Tree(host.OnDisk("/openstack/venvs"));

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("other", "1.0.0", installPath: "/openstack/venvs/demo-1.0.0"));

        Assert.Equal(("OSVA-I043", ExitCode.Conflict), (e.Code, e.ExitCode));
        Assert.Contains("is where demo 1.0.0 is installed", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Tree(host.OnDisk("/openstack/venvs")));
    }

    [Fact]
    public async Task A_directory_the_installer_did_not_create_is_kept_and_the_install_refused()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("2.0.0"));
        var foreign = host.OnDisk("/openstack/venvs/demo-2.0.0");
        Directory.CreateDirectory(Path.Combine(foreign, "bin"));
        await File.WriteAllTextAsync(Path.Combine(foreign, "bin/nova-api"), "an OpenStack-Ansible venv\n");

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "2.0.0"));

        Assert.Equal(("OSVA-I043", ExitCode.Conflict), (e.Code, e.ExitCode));
        Assert.Contains("already exists and osva-install did not create it", e.Message, StringComparison.Ordinal);
        Assert.Equal("an OpenStack-Ansible venv\n", await File.ReadAllTextAsync(Path.Combine(foreign, "bin/nova-api")));
        Assert.Empty((await host.StateAsync("demo")).Installed);
    }

    [Fact]
    public async Task A_directory_left_by_this_tags_install_that_died_before_recording_it_is_replaced()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("2.0.0"));
        var venv = host.OnDisk("/openstack/venvs/demo-2.0.0");
        Directory.CreateDirectory(venv);
        await File.WriteAllTextAsync(Path.Combine(venv, "half-written"), "x");
        var intent = host.OnDisk("/var/lib/osva/demo/2.0.0.installing");
        Directory.CreateDirectory(Path.GetDirectoryName(intent)!);
        await File.WriteAllTextAsync(intent, "/openstack/venvs/demo-2.0.0\n");

        var result = await host.InstallAsync("demo", "2.0.0");

        Assert.True(result.Ok);
        Assert.False(File.Exists(Path.Combine(venv, "half-written")));
        Assert.True(File.Exists(Path.Combine(venv, "bin/osva-hello")));
        Assert.False(File.Exists(intent));
    }

    [Fact]
    public async Task An_unpack_directory_a_killed_run_left_in_staging_is_swept_by_the_next_install_of_the_service()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        var killed = host.OnDisk("/openstack/venvs/.staging/demo/2.0.0.0123456789abcdef0123456789abcdef");
        Directory.CreateDirectory(Path.Combine(killed, "lib"));
        await File.WriteAllBytesAsync(Path.Combine(killed, "lib/half.bin"), new byte[1 << 20]);
        var otherService = host.OnDisk("/openstack/venvs/.staging/demo-api/1.0.0.0123456789abcdef0123456789abcdef");
        Directory.CreateDirectory(otherService);

        await host.InstallAsync("demo", "1.0.0");

        Assert.False(Directory.Exists(host.OnDisk("/openstack/venvs/.staging/demo")));
        Assert.True(Directory.Exists(otherService), "another service's staging is its own (it may be installing now)");
    }

    /// <summary>Every file and directory below <paramref name="dir"/> with a hash of its content (or its link target).</summary>
    private static Dictionary<string, string> Tree(string dir) =>
        Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories)
            .Where(p => !p.EndsWith(".lock", StringComparison.Ordinal))
            .ToDictionary(p => Path.GetRelativePath(dir, p), p =>
                new FileInfo(p).LinkTarget ?? (File.Exists(p) ? Sha256.Of(File.ReadAllBytes(p)) : "dir"));
}
