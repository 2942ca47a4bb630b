using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// Real oslo.rootwrap: Debian's python3-oslo.rootwrap turned into wheels (osva-build wheels --from-debian, cached),
/// pip-installed into a venv at its final path, packed as an artifact, installed by the NativeAOT binary, then run
/// through sudo as the unprivileged service user with only the sudoers and rootwrap.conf the installer wrote.
/// </summary>
public sealed class RootwrapTests(HostContainer host) : IClassFixture<HostContainer>
{
    private const string Venv = "/openstack/venvs/rw-1.0.0";

    [DockerFact]
    public async Task Service_user_runs_an_allowed_command_through_sudo_and_rootwrap_and_a_denied_one_fails()
    {
        var (wheelhouse, _, _) = await BuildNovaWheelhouse.EnsureFromDebianAsync("rootwrap", ["python3-oslo.rootwrap"]);
        await host.CopyInAsync(wheelhouse, "/tmp/wheels");
        await host.ShAsync($"/usr/bin/python3.11 -m venv {Venv}"
            + $" && {Venv}/bin/pip install -q --no-index --find-links /tmp/wheels oslo.rootwrap"
            + $" && cp {Venv}/bin/oslo-rootwrap {Venv}/bin/rw-rootwrap && mkdir -p {Venv}/etc/rw/rootwrap.d"
            + $" && printf '[Filters]\\nid: CommandFilter, id, root\\n' > {Venv}/etc/rw/rootwrap.d/rw.filters");
        var built = Path.Combine(host.Work.Path, "rw-built");
        Directory.CreateDirectory(built);
        await host.CopyOutAsync(Venv, built);
        await host.ShAsync($"rm -rf {Venv}");
        var artifact = InstallArtifactBuilder.FromDirectory("rw", "1.0.0", Path.Combine(built, "rw-1.0.0"), Venv);
        artifact.ConsoleScripts.Add("rw-rootwrap");
        artifact.Rootwrap = new RootwrapHints { ConfigPath = "/etc/rw/rootwrap.conf", Command = "rw-rootwrap", FiltersDir = "etc/rw/rootwrap.d" };
        var store = Path.Combine(host.Work.Path, "rw-store");
        await InstallStore.AddAsync(store, artifact, Path.Combine(host.Work.Path, "rw-artifacts"));
        await host.CopyInAsync(store, "/srv/rw-store");

        var install = await host.ExecAsync("/usr/local/sbin/osva-install", "install", "rw", "1.0.0", "--store", "/srv/rw-store", "--install-rootwrap-filters");
        Assert.True(install.ExitCode == 0, install.ToString());
        Assert.Contains($"exec_dirs={Venv}/bin,", await host.ShAsync("cat /etc/rw/rootwrap.conf"), StringComparison.Ordinal);

        var allowed = await host.ExecAsAsync("rw", "sudo", "-n", $"{Venv}/bin/rw-rootwrap", "/etc/rw/rootwrap.conf", "id", "-u");
        Assert.True(allowed.ExitCode == 0, allowed.ToString());
        Assert.Equal("0", allowed.Stdout.Trim());

        var denied = await host.ExecAsAsync("rw", "sudo", "-n", $"{Venv}/bin/rw-rootwrap", "/etc/rw/rootwrap.conf", "cat", "/etc/shadow");
        Assert.NotEqual(0, denied.ExitCode);
        Assert.Contains("Unauthorized command", denied.Stderr, StringComparison.Ordinal);

        var notInSudoers = await host.ExecAsAsync("rw", "sudo", "-n", $"{Venv}/bin/python", "-c", "print(1)");
        Assert.NotEqual(0, notInSudoers.ExitCode);
    }
}
