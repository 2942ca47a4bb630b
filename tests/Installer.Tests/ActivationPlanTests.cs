using OsVenvArtifacts.Installer.Activation;
using OsVenvArtifacts.Installer.Host;

namespace OsVenvArtifacts.Installer.Tests;

public sealed class ActivationPlanTests
{
    [Fact]
    public async Task Unit_from_the_command_line_gets_a_drop_in_running_the_named_console_script_with_its_arguments()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));

        await host.InstallAsync("demo", "1.0.0", activation: new ActivationSettings { Units = ["demo-manage=osva-hello-manage --config-file /etc/demo/demo.conf"] });

        var dropIn = host.Read("/etc/systemd/system/demo-manage.service.d/osva-venv.conf");
        Assert.Contains("ExecStart=\nExecStart=/openstack/venvs/demo-1.0.0/bin/osva-hello-manage --config-file /etc/demo/demo.conf\n", dropIn, StringComparison.Ordinal);
        Assert.True(File.Exists(host.OnDisk("/etc/systemd/system/demo-api.service.d/osva-venv.conf")));
    }

    [Fact]
    public async Task Switch_removes_files_the_new_tag_no_longer_needs()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        var b = ScratchHost.Demo("2.0.0");
        b.ConsoleScripts.Remove("osva-hello-manage");
        b.ManagementScripts.Remove("osva-hello-manage");
        await host.PublishAsync(b);
        await host.InstallAsync("demo", "1.0.0");
        Assert.True(File.Exists(host.OnDisk("/usr/local/bin/osva-hello-manage")));

        var result = await host.InstallAsync("demo", "2.0.0");

        Assert.Contains("remove /usr/local/bin/osva-hello-manage", result.Actions);
        Assert.False(File.Exists(host.OnDisk("/usr/local/bin/osva-hello-manage")));
    }

    [Theory]
    [InlineData("openstack/venvs/x", "relative")]
    [InlineData("/openstack/../etc", "climbs with '..'")]
    [InlineData("/openstack/venvs/a b", "space would split a sudoers or unit line")]
    [InlineData("/openstack/venvs/a,b", "comma separates sudoers commands")]
    [InlineData("/openstack/venvs/a\nb", "newline would add a line")]
    public void Install_path_that_could_inject_into_host_files_is_refused(string path, string why)
    {
        var e = Assert.Throws<InstallerException>(() => InstallerEnvironment.CheckInstallPath(path));
        Assert.True(e.Code == "OSVA-I002", why);
    }

    [Fact]
    public async Task Unit_name_that_could_inject_into_host_files_is_refused()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));

        var e = await Assert.ThrowsAsync<InstallerException>(() =>
            host.InstallAsync("demo", "1.0.0", activation: new ActivationSettings { Units = ["../../etc/passwd=osva-hello"] }));

        Assert.Equal("OSVA-I003", e.Code);
        Assert.False(Directory.Exists(host.OnDisk("/etc/systemd")));
    }
}
