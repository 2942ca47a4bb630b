using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// Activation on a real systemd host (a container with systemd as PID 1), driven through the NativeAOT binary:
/// the unit is stopped, repointed and started on the new venv, and every injected failure leaves the previous tag running.
/// </summary>
public sealed class HostActivationTests(HostContainer host) : IClassFixture<HostContainer>
{
    private static readonly string[] ServiceFiles =
        ["/etc/systemd/system/demo-api.service.d/osva-venv.conf", "/etc/sudoers.d/demo_osva", "/etc/demo/rootwrap.conf", "/usr/local/bin/osva-hello"];

    private static InstallArtifactBuilder Demo(string tag)
    {
        var b = InstallArtifactBuilder.Venv("demo", tag, null, "osva-hello", "osva-hello-serve", "demo-rootwrap");
        b.Systemd = new SystemdHints { Units = [new SystemdUnit("demo-api", "osva-hello-serve")] };
        b.Rootwrap = new RootwrapHints { ConfigPath = "/etc/demo/rootwrap.conf", Command = "demo-rootwrap" };
        return b;
    }

    private async Task<string> StoreAsync(params InstallArtifactBuilder[] builders)
    {
        var store = Path.Combine(host.Work.Path, $"store-{Guid.NewGuid():N}");
        foreach (var b in builders) await InstallStore.AddAsync(store, b, Path.Combine(host.Work.Path, "artifacts"));
        await host.ShAsync("rm -rf /srv/store && mkdir -p /srv");
        await host.CopyInAsync(store, "/srv/store");
        return store;
    }

    private Task<ProcessResult> OsvaAsync(params string[] args) => host.ExecAsync(["/usr/local/sbin/osva-install", .. args]);

    [DockerFact]
    public async Task Upgrade_restarts_the_unit_on_the_new_venv_and_downgrade_is_a_switch_without_download()
    {
        await StoreAsync(Demo("1.0.0"), Demo("2.0.0"));

        var a = await OsvaAsync("install", "demo", "1.0.0", "--store", "/srv/store", "--restart", "--json");
        Assert.True(a.ExitCode == 0, a.ToString());
        Assert.Contains("/openstack/venvs/demo-1.0.0/bin/osva-hello-serve", await host.MainProcessAsync("demo-api"), StringComparison.Ordinal);

        var b = await OsvaAsync("install", "demo", "2.0.0", "--store", "/srv/store", "--json");
        Assert.True(b.ExitCode == 0, b.ToString());
        Assert.Contains("\"stop demo-api\"", b.Stdout, StringComparison.Ordinal);
        Assert.Contains("/openstack/venvs/demo-2.0.0/bin/osva-hello-serve", await host.MainProcessAsync("demo-api"), StringComparison.Ordinal);

        await host.ShAsync("rm -rf /srv/store");
        var down = await OsvaAsync("switch", "demo", "1.0.0", "--json");
        var again = await OsvaAsync("switch", "demo", "1.0.0", "--json");
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Contains("\"changed\": true", down.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"changed\": false", again.Stdout, StringComparison.Ordinal);
        Assert.Contains("/openstack/venvs/demo-1.0.0/bin/osva-hello-serve", await host.MainProcessAsync("demo-api"), StringComparison.Ordinal);
        Assert.Contains("osva-hello 1.0.0 /openstack/venvs/demo-1.0.0", await host.ShAsync("osva-hello"), StringComparison.Ordinal);
    }

    [DockerTheory]
    [InlineData("bad-hash", 4)]
    [InlineData("host-mismatch", 5)]
    [InlineData("visudo-rejects", 9)]
    [InlineData("health-check-fails", 9)]
    [InlineData("unit-does-not-start", 9)]
    [InlineData("unit-program-missing", 9)]
    public async Task Injected_failure_leaves_the_previous_tag_running_and_its_service_files_unchanged(string failure, int exitCode)
    {
        var broken = Demo("3.0.0");
        if (failure == "host-mismatch") broken.RuntimePackages.Add("osva-no-such-package");
        if (failure == "unit-does-not-start") broken.Systemd = new SystemdHints { Units = [new SystemdUnit("demo-api", "osva-hello")] };
        if (failure == "unit-program-missing") broken.Systemd = new SystemdHints { Units = [new SystemdUnit("demo-api", "osva-not-in-the-venv")] };
        var store = await StoreAsync(Demo("1.0.0"), broken);
        if (failure == "bad-hash")
        {
            var archive = Directory.EnumerateFiles(Path.Combine(store, "demo", "3.0.0"), "*.tar.gz").Single();
            InstallTests.FlipOneByte(archive);
            await host.CopyInAsync(archive, "/srv/store/demo/3.0.0/");
        }
        var a = await OsvaAsync("install", "demo", "1.0.0", "--store", "/srv/store", "--restart");
        Assert.True(a.ExitCode == 0, a.ToString());
        var files = await host.ShAsync($"sha256sum {string.Join(' ', ServiceFiles)}");
        var before = await host.MainProcessAsync("demo-api");
        Assert.Contains("/openstack/venvs/demo-1.0.0/", before, StringComparison.Ordinal);

        string[] install = ["install", "demo", "3.0.0", "--store", "/srv/store"];
        var run = failure switch
        {
            "visudo-rejects" => await host.ExecAsync(["env", "OSVA_VISUDO=/bin/false", "/usr/local/sbin/osva-install", .. install]),
            "health-check-fails" => await OsvaAsync([.. install, "--restart", "--health-check", "exit 1", "--health-timeout", "2"]),
            _ => await OsvaAsync(install),
        };

        Assert.True(run.ExitCode == exitCode, run.ToString());
        Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(files, await host.ShAsync($"sha256sum {string.Join(' ', ServiceFiles)}"));
        Assert.Contains("/openstack/venvs/demo-1.0.0/", await host.MainProcessAsync("demo-api"), StringComparison.Ordinal);
        Assert.Contains("\"active\": \"1.0.0\"", await host.ShAsync("cat /var/lib/osva/demo.json"), StringComparison.Ordinal);
        await host.ShAsync("osva-install uninstall demo 3.0.0 >/dev/null; rm -rf /openstack/venvs/.staging/*");
    }
}
