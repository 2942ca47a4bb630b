using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.TestSupport;
using Xunit.Abstractions;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// A host that runs nova from Debian's packages: the real files of Debian 12's nova-common and nova-api (the .debs
/// ./setup/ensure-env.sh caches under /var/cache/osva/debs, unpacked with dpkg -x) in a host container with systemd as
/// PID 1, a nova user, real visudo, real sudo -l, real oslo.rootwrap (Debian's python3-oslo.rootwrap, which the
/// venv's nova-rootwrap runs) and the packaged nova-api.service. Enabling the venv and disabling it again are driven
/// through the NativeAOT binary; the sudo policy at each stage is printed into the test output.
/// </summary>
public sealed class DebianNovaHostTests(HostContainer host, ITestOutputHelper output) : IClassFixture<HostContainer>
{
    private const string Venv = "/openstack/venvs/nova-26.2.2";

    /// <summary>
    /// A small nova venv: nova-api keeps running like the service, nova-rootwrap is oslo.rootwrap's own entry point,
    /// the other programs a real nova venv has are there under their names. Its filter file lets whoami through.
    /// </summary>
    private static InstallArtifactBuilder Nova()
    {
        var b = InstallArtifactBuilder.Venv("nova", "26.2.2", null, "nova-manage", "alembic");
        b.ManagementScripts.Clear();
        b.ManagementScripts.Add("nova-manage");
        const string serve = "#!" + Venv + "/bin/python\nimport time\nwhile True:\n    time.sleep(3600)\n";
        const string rootwrap = "#!/usr/bin/python3\nimport sys\nfrom oslo_rootwrap.cmd import main\nsys.exit(main())\n";
        foreach (var (name, text) in new[] { ("nova-api", serve), ("nova-rootwrap", rootwrap), ("nova-rootwrap-daemon", "#!/bin/sh\nexit 0\n"), ("privsep-helper", "#!/bin/sh\nexit 0\n") })
        {
            b.Entries.Add(InstallEntry.Text($"bin/{name}", text, 0x1ED));
            b.ConsoleScripts.Add(name);
        }
        b.Entries.AddRange([InstallEntry.Dir("etc"), InstallEntry.Dir("etc/nova"), InstallEntry.Dir("etc/nova/rootwrap.d"),
            InstallEntry.Text("etc/nova/rootwrap.d/venv.filters", "[Filters]\nwhoami: CommandFilter, whoami, root\n")]);
        b.Systemd = new SystemdHints
        {
            Units = [new SystemdUnit("nova-api", "nova-api"), new SystemdUnit("nova-compute", "nova-api"), new SystemdUnit("nova-conductor", "nova-api"), new SystemdUnit("nova-scheduler", "nova-api")],
        };
        b.Rootwrap = new RootwrapHints { ConfigPath = "/etc/nova/rootwrap.conf", Command = "nova-rootwrap", DaemonCommand = "nova-rootwrap-daemon", FiltersDir = "etc/nova/rootwrap.d" };
        return b;
    }

    private Task<ProcessResult> OsvaAsync(params string[] args) => host.ExecAsync(["/usr/local/sbin/osva-install", .. args]);

    private async Task<string> SudoListAsync(string stage)
    {
        var list = await host.ExecAsync("sudo", "-l", "-U", "nova");
        Assert.True(list.ExitCode == 0, list.ToString());
        output.WriteLine($"== sudo -l -U nova, {stage}:\n{list.Stdout}");
        return list.Stdout;
    }

    /// <summary>The secure_path sudo applies to nova: the last one it lists (sudo escapes ':' in its listing).</summary>
    private static string EffectiveSecurePath(string sudoList)
    {
        var at = sudoList.LastIndexOf("secure_path=", StringComparison.Ordinal);
        Assert.True(at >= 0, sudoList);
        var value = sudoList[(at + "secure_path=".Length)..].Split([',', '\n'])[0].Trim().Trim('"');
        return value.Replace("\\:", ":", StringComparison.Ordinal);
    }

    private Task<ProcessResult> RootwrapAsNovaAsync(params string[] command) =>
        host.ExecAsAsync("nova", ["sudo", "-n", $"{Venv}/bin/nova-rootwrap", "/etc/nova/rootwrap.conf", .. command]);

    [DockerFact]
    public async Task Enable_takes_over_debians_nova_files_and_disable_puts_every_one_back_byte_for_byte_with_a_stub_packaged_nova_api()
    {
        await host.InstallDebianNovaAsync();
        // Debian 12's nova packages ship no filter file; compute.filters stands for one a package would ship.
        await host.ShAsync("""
            mkdir -p /etc/nova/rootwrap.d && printf '[Filters]\nid: CommandFilter, id, root\n' > /etc/nova/rootwrap.d/compute.filters
            cp /etc/nova/rootwrap.d/compute.filters /tmp/compute.filters
            """);
        Assert.Contains("/usr/bin/nova-api", await host.MainProcessAsync("nova-api"), StringComparison.Ordinal);
        var before = await SudoListAsync("before enabling (Debian's nova-common)");
        Assert.Contains("/usr/bin/nova-rootwrap /etc/nova/rootwrap.conf *", before, StringComparison.Ordinal);
        var store = Path.Combine(host.Work.Path, "nova-store");
        await InstallStore.AddAsync(store, Nova(), Path.Combine(host.Work.Path, "nova-artifacts"));
        await host.CopyInAsync(store, "/srv/nova-store");

        var enable = await OsvaAsync("install", "nova", "26.2.2", "--store", "/srv/nova-store", "--install-rootwrap-filters");
        output.WriteLine($"== osva-install install nova 26.2.2:\n{enable.Stdout}{enable.Stderr}");

        Assert.True(enable.ExitCode == 0, enable.ToString());
        foreach (var skipped in new[] { "nova-compute", "nova-conductor", "nova-scheduler" })
        {
            Assert.Contains($"skip unit {skipped}: no {skipped}.service on this host", enable.Stdout, StringComparison.Ordinal);
        }
        Assert.Equal("nova-api.service.d\n", await host.ShAsync("ls /etc/systemd/system | grep '^nova' || true"));
        Assert.Contains($"{Venv}/bin/nova-api", await host.MainProcessAsync("nova-api"), StringComparison.Ordinal);
        var visudo = await host.ExecAsync("visudo", "-c");
        Assert.True(visudo.ExitCode == 0, visudo.ToString());
        var enabled = await SudoListAsync("after enabling the venv");
        Assert.StartsWith($"{Venv}/bin:", EffectiveSecurePath(enabled), StringComparison.Ordinal);
        Assert.Contains($"(root) NOPASSWD: {Venv}/bin/nova-rootwrap /etc/nova/rootwrap.conf *", enabled, StringComparison.Ordinal);
        Assert.Contains($"(root) NOPASSWD: {Venv}/bin/nova-rootwrap-daemon /etc/nova/rootwrap.conf", enabled, StringComparison.Ordinal);
        Assert.Contains($"(root) NOPASSWD: {Venv}/bin/privsep-helper *", enabled, StringComparison.Ordinal);
        Assert.DoesNotContain("/usr/bin/", enabled.Split("may run the following commands")[1], StringComparison.Ordinal);
        await host.ShAsync("cmp /tmp/packaged/etc/sudoers.d/nova-common /var/lib/osva/nova/originals/etc/sudoers.d/nova-common"
            + " && cmp /tmp/packaged/etc/nova/rootwrap.conf /var/lib/osva/nova/originals/etc/nova/rootwrap.conf && ! test -e /etc/sudoers.d/nova-common");
        var conf = await host.ShAsync("cat /etc/nova/rootwrap.conf");
        Assert.Contains($"\nexec_dirs={Venv}/bin,/sbin,/usr/sbin,/bin,/usr/bin,/usr/local/sbin,/usr/local/bin\n", conf, StringComparison.Ordinal);
        Assert.Contains($"\nfilters_path=/etc/nova/rootwrap.d,/usr/share/nova/rootwrap,{Venv}/etc/nova/rootwrap.d\n", conf, StringComparison.Ordinal);
        // Every other line as the package wrote it, in order.
        await host.ShAsync("grep -v '^exec_dirs=\\|^filters_path=' /tmp/packaged/etc/nova/rootwrap.conf > /tmp/a && grep -v '^exec_dirs=\\|^filters_path=' /etc/nova/rootwrap.conf > /tmp/b && cmp /tmp/a /tmp/b");
        await host.ShAsync("cmp /tmp/compute.filters /etc/nova/rootwrap.d/compute.filters && test \"$(ls /etc/nova/rootwrap.d)\" = compute.filters");
        var packagedFilter = await RootwrapAsNovaAsync("id", "-u");
        var venvFilter = await RootwrapAsNovaAsync("whoami");
        var denied = await RootwrapAsNovaAsync("cat", "/etc/shadow");
        Assert.True(packagedFilter.ExitCode == 0 && packagedFilter.Stdout.Trim() == "0", packagedFilter.ToString());
        Assert.True(venvFilter.ExitCode == 0 && venvFilter.Stdout.Trim() == "root", venvFilter.ToString());
        Assert.True(denied.ExitCode != 0 && denied.Stderr.Contains("Unauthorized command", StringComparison.Ordinal), denied.ToString());
        Assert.Equal("nova-manage\n", await host.ShAsync("ls /usr/local/bin"));
        var again = await OsvaAsync("install", "nova", "26.2.2", "--store", "/srv/nova-store", "--install-rootwrap-filters", "--json");
        Assert.True(again.ExitCode == 0 && again.Stdout.Contains("\"changed\": false", StringComparison.Ordinal), again.ToString());

        var disable = await OsvaAsync("disable", "nova");
        output.WriteLine($"== osva-install disable nova:\n{disable.Stdout}{disable.Stderr}");

        Assert.True(disable.ExitCode == 0, disable.ToString());
        var main = await host.MainProcessAsync("nova-api");
        Assert.StartsWith("/usr/bin/python3 /usr/bin/nova-api", main, StringComparison.Ordinal);
        Assert.DoesNotContain("/openstack/", main, StringComparison.Ordinal);
        // Every file of both packages as dpkg -x left it, contents, mode and owner (the stubbed /usr/bin/nova-api aside).
        await host.ShAsync("""
            set -e
            cd /tmp/packaged
            find . -type f ! -path ./usr/bin/nova-api | while read -r f; do
              cmp "$f" "/$f"
              test "$(stat -c '%a %U %G' "$f")" = "$(stat -c '%a %U %G' "/$f")"
            done
            """);
        var disabled = await SudoListAsync("after disabling (back to Debian's nova-common)");
        Assert.Contains("/usr/bin/nova-rootwrap /etc/nova/rootwrap.conf *", disabled, StringComparison.Ordinal);
        Assert.DoesNotContain("/openstack/", disabled, StringComparison.Ordinal);
        Assert.True((await host.ExecAsync("visudo", "-c")).ExitCode == 0);
        await host.ShAsync($"! test -e /etc/sudoers.d/nova_osva && ! test -e /usr/local/bin/nova-manage && ! test -e /etc/systemd/system/nova-api.service.d/osva-venv.conf && test -x {Venv}/bin/nova-api");
        Assert.Contains("nova: disabled", await host.ShAsync("osva-install list"), StringComparison.Ordinal);

        var reenable = await OsvaAsync("install", "nova", "26.2.2", "--store", "/srv/nova-store", "--json");
        Assert.True(reenable.ExitCode == 0 && reenable.Stdout.Contains("\"changed\": true", StringComparison.Ordinal), reenable.ToString());
        Assert.Contains($"{Venv}/bin/nova-api", await host.MainProcessAsync("nova-api"), StringComparison.Ordinal);
    }
}
