using System.Text.Json;
using System.Text.RegularExpressions;
using OsVenvArtifacts.TestSupport;
using Xunit.Abstractions;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>A fact that needs both the Docker engine and Debian's ansible: skipped with the reason outside CI, never in CI.</summary>
public sealed class DockerAndAnsibleFactAttribute : FactAttribute
{
    public DockerAndAnsibleFactAttribute()
    {
        if (!TestEnvironment.InCi && !(TestEnvironment.DockerAnswers() && TestEnvironment.HasAnsible()))
        {
            Skip = "needs the Docker engine and ansible; run ./setup/ensure-env.sh (in CI this test fails instead)";
        }
    }
}

/// <summary>
/// Three host containers (systemd as PID 1, no network) playing host1..host3 of ansible/examples, where nova-api and
/// neutron-server already run from "packages" (/bin/sleep as the service user), and a directory store in each.
/// </summary>
public sealed class AnsibleFleet : IAsyncLifetime
{
    public const string A = "31.0.0";
    public const string B = "31.0.1";

    public HostContainer[] Hosts { get; } = [new(), new(), new()];
    public TempDirectory Work { get; } = new("ansible-fleet");

    public async Task InitializeAsync()
    {
        await Task.WhenAll(Hosts.Select(h => h.InitializeAsync()));
        if (Hosts[0].Binary.Length == 0) return;
        var store = Work.Combine("store");
        foreach (var tag in new[] { A, B })
        {
            await InstallStore.AddAsync(store, Service("nova", "nova-api", tag), Work.Combine("artifacts"));
            await InstallStore.AddAsync(store, Service("neutron", "neutron-server", tag), Work.Combine("artifacts"));
        }
        await Task.WhenAll(Hosts.Select(async h =>
        {
            await h.ShAsync("useradd --system --no-create-home nova && useradd --system --no-create-home neutron && mkdir -p /srv"
                + " && rm /usr/local/sbin/osva-install" // the role puts it there
                + " && for u in nova-api:nova neutron-server:neutron; do"
                + " printf '[Unit]\\nDescription=%s from packages\\n[Service]\\nUser=%s\\nExecStart=/bin/sleep infinity\\n[Install]\\nWantedBy=multi-user.target\\n' ${u%:*} ${u#*:}"
                + " > /etc/systemd/system/${u%:*}.service; done && systemctl daemon-reload && systemctl enable --now nova-api neutron-server");
            await h.CopyInAsync(store, "/srv/osva-store");
        }));
    }

    /// <summary>A service venv whose unit runs a long-lived console script and whose sudoers names its rootwrap.</summary>
    private static InstallArtifactBuilder Service(string service, string unit, string tag)
    {
        var b = InstallArtifactBuilder.Venv(service, tag, null, $"{service}-manage", $"{unit}-serve", $"{service}-rootwrap");
        b.Systemd = new Artifact.SystemdHints { Units = [new Artifact.SystemdUnit(unit, $"{unit}-serve")] };
        b.Rootwrap = new Artifact.RootwrapHints { ConfigPath = $"/etc/{service}/rootwrap.conf", Command = $"{service}-rootwrap" };
        return b;
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(Hosts.Select(h => h.DisposeAsync()));
        Work.Dispose();
    }
}

/// <summary>
/// The osva.venv.osva_venv role as a deployer runs it: ansible/examples/site.yml over ansible/examples/inventory.yml,
/// through Debian's ansible-core 2.14 and the community.docker.docker connection (docker exec: no SSH, no network),
/// with the real NativeAOT osva-install on three systemd hosts. One ordered scenario, since each step starts from
/// the fleet the one before left: the recaps it prints are the rollout's history. Minutes of Ansible over docker
/// exec, so `make ansible` runs it (and CI after `make test`), and `make test` leaves it out (Category=AnsibleFleet).
/// </summary>
[Trait("Category", "AnsibleFleet")]
public sealed class AnsibleRoleTests(AnsibleFleet fleet, ITestOutputHelper output) : IClassFixture<AnsibleFleet>
{
    private const string A = AnsibleFleet.A;
    private const string B = AnsibleFleet.B;
    private static readonly string Examples = Path.Combine(TestEnvironment.RepoRoot, "ansible", "examples");

    private sealed record Recap(int Ok, int Changed, int Failed);

    private sealed record Play(ProcessResult Process, IReadOnlyDictionary<string, Recap> Recaps);

    /// <summary>
    /// The example inventory, plus one that says how to reach host1..host3 (their containers) and, per host,
    /// anything the step overrides; run with the given extra variables.
    /// </summary>
    private async Task<Play> PlaybookAsync(string step, string[] extraVars, IReadOnlyDictionary<string, string>? hostVars = null, params string[] flags)
    {
        var overlay = Path.Combine(fleet.Work.Path, $"hosts-{Guid.NewGuid():N}.yml");
        var hosts = string.Concat(fleet.Hosts.Select((h, i) =>
            $"    host{i + 1}:\n      ansible_host: {h.Name}\n      ansible_connection: community.docker.docker\n      ansible_python_interpreter: /usr/bin/python3\n"
            + (hostVars?.GetValueOrDefault($"host{i + 1}") is { } extra ? $"      {extra}\n" : "")));
        await File.WriteAllTextAsync(overlay, $"all:\n  hosts:\n{hosts}");
        var key = Path.Combine(fleet.Work.Path, "release.pub");
        var env = new Dictionary<string, string>
        {
            ["ANSIBLE_COLLECTIONS_PATH"] = Path.Combine(TestEnvironment.RepoRoot, "ansible", "collections"),
            ["ANSIBLE_NOCOLOR"] = "1",
            ["ANSIBLE_HOST_KEY_CHECKING"] = "false",
            ["ANSIBLE_LOCAL_TEMP"] = Path.Combine(fleet.Work.Path, "ansible-local"),
        };
        string[] args = ["-i", Path.Combine(Examples, "inventory.yml"), "-i", overlay, Path.Combine(Examples, "site.yml"),
            "-e", $"osva_venv_installer_src={fleet.Hosts[0].Binary}",
            "-e", $"{{\"osva_venv_trusted_keys\": [\"{key}\"], \"osva_venv_require_signatures\": false}}",
            .. extraVars.SelectMany(v => new[] { "-e", v }), .. flags];
        var started = DateTime.UtcNow;
        var run = await ProcessRunner.RunAsync("ansible-playbook", args, env, Examples, TimeSpan.FromMinutes(15));
        var recap = run.Stdout.IndexOf("PLAY RECAP", StringComparison.Ordinal);
        var text = recap >= 0 ? run.Stdout[recap..].TrimEnd() : "(no PLAY RECAP)\n" + run;
        output.WriteLine($"== {step} (ansible-playbook {string.Join(' ', extraVars.Concat(flags))}; exit {run.ExitCode}, {(DateTime.UtcNow - started).TotalSeconds:F0} s)\n{text}\n");
        var recaps = Regex.Matches(text, @"^(host\d)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => new Recap(int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value), int.Parse(m.Groups[4].Value)));
        return new Play(run, recaps);
    }

    /// <summary>Every entry of /etc and /openstack with its type, mode, link target and content hash.</summary>
    private static Task<string> TreeAsync(HostContainer h) => h.ShAsync(
        "find /etc /openstack -xdev -printf '%p %y %m %l\\n' | sort && find /etc /openstack -xdev -type f -print0 | sort -z | xargs -0 sha256sum");

    private static async Task<string> RunningAsync(HostContainer h, string unit) => await h.MainProcessAsync(unit);

    private static async Task<string> PidAsync(HostContainer h, string unit) => (await h.ShAsync($"systemctl show -p MainPID --value {unit}")).Trim();

    private static async Task<JsonElement> FactsAsync(HostContainer h) =>
        JsonDocument.Parse(await h.ShAsync("cat /etc/ansible/facts.d/osva.fact")).RootElement.Clone();

    private async Task AssertFleetAsync(string nova, string neutron, params int[] hosts)
    {
        foreach (var i in hosts)
        {
            var h = fleet.Hosts[i];
            Assert.Contains($"/openstack/venvs/nova-{nova}/bin/nova-api-serve", await RunningAsync(h, "nova-api"), StringComparison.Ordinal);
            Assert.Contains($"/openstack/venvs/neutron-{neutron}/bin/neutron-server-serve", await RunningAsync(h, "neutron-server"), StringComparison.Ordinal);
            var facts = await FactsAsync(h);
            Assert.Equal(nova, facts.GetProperty("nova").GetProperty("venv_tag").GetString());
            Assert.Equal(neutron, facts.GetProperty("neutron").GetProperty("venv_tag").GetString());
            Assert.False(facts.GetProperty("nova").GetProperty("need_service_restart").GetBoolean());
        }
    }

    [DockerAndAnsibleFact]
    public async Task Role_enables_converges_checks_upgrades_downgrades_a_rolling_upgrade_stops_at_the_failing_host_and_disable_hands_back()
    {
        var key = Path.Combine(fleet.Work.Path, "release.pub");
        await ProcessRunner.RunAsync("sh", ["-c", $"openssl ecparam -name prime256v1 -genkey -noout | openssl ec -pubout -out {key}"]);
        string[] on = ["nova_venv_enabled=true", "neutron_venv_enabled=true"];
        // Steps that are not about the rollout take all three hosts at once.
        string[] wide = [.. on, "osva_serial=3"];
        var hosts = new[] { 0, 1, 2 };

        // Off by default: without the toggles the role only installs osva-install and the host's configuration.
        var off = await PlaybookAsync("services off (the default), host1 only", [], null, "--limit", "host1");
        Assert.True(off.Process.ExitCode == 0, off.Process.ToString());
        Assert.False((await fleet.Hosts[0].ExecAsync("test", "-e", "/var/lib/osva/nova.json")).ExitCode == 0);
        Assert.Contains("/bin/sleep", await RunningAsync(fleet.Hosts[0], "nova-api"), StringComparison.Ordinal);
        Assert.Equal("require-signatures = false\nstore = /srv/osva-store\ntrusted-key = /etc/osva/keys/release.pub",
            string.Join('\n', (await fleet.Hosts[0].ShAsync("grep -v '^#' /etc/osva/osva.conf")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)));

        var first = await PlaybookAsync("first run", wide);
        Assert.True(first.Process.ExitCode == 0 && first.Recaps.Count == 3 && first.Recaps.Values.All(r => r.Changed > 0 && r.Failed == 0), first.Process.ToString());
        await AssertFleetAsync(A, A, hosts);

        var second = await PlaybookAsync("second identical run", wide);
        Assert.True(second.Process.ExitCode == 0 && second.Recaps.Count == 3 && second.Recaps.Values.All(r => r.Changed == 0), second.Process.ToString());

        var before = await Task.WhenAll(fleet.Hosts.Select(TreeAsync));
        var check = await PlaybookAsync("--check of an upgrade to B", [.. wide, $"nova_venv_tag={B}"], null, "--check");
        Assert.True(check.Process.ExitCode == 0 && check.Recaps.Values.All(r => r.Changed > 0), check.Process.ToString());
        Assert.Equal(before, await Task.WhenAll(fleet.Hosts.Select(TreeAsync)));
        await AssertFleetAsync(A, A, hosts);

        var neutronPids = await Task.WhenAll(fleet.Hosts.Select(h => PidAsync(h, "neutron-server")));
        var novaPids = await Task.WhenAll(fleet.Hosts.Select(h => PidAsync(h, "nova-api")));
        var upgrade = await PlaybookAsync("rolling upgrade A -> B (nova_venv_tag only)", [.. on, $"nova_venv_tag={B}"]);
        Assert.True(upgrade.Process.ExitCode == 0 && upgrade.Recaps.Values.All(r => r.Changed > 0), upgrade.Process.ToString());
        await AssertFleetAsync(B, A, hosts);
        Assert.Equal(neutronPids, await Task.WhenAll(fleet.Hosts.Select(h => PidAsync(h, "neutron-server"))));
        Assert.All(novaPids.Zip(await Task.WhenAll(fleet.Hosts.Select(h => PidAsync(h, "nova-api")))), p => Assert.NotEqual(p.First, p.Second));
        Assert.Contains("\"need_service_restart\": false", await fleet.Hosts[0].ShAsync("cat /etc/ansible/facts.d/osva.fact"), StringComparison.Ordinal);

        var downgrade = await PlaybookAsync("downgrade B -> A (nova_venv_tag only)", [.. wide, $"nova_venv_tag={A}"]);
        Assert.True(downgrade.Process.ExitCode == 0 && downgrade.Recaps.Values.All(r => r.Changed > 0), downgrade.Process.ToString());
        await AssertFleetAsync(A, A, hosts);

        // host2's health check fails: its installer puts A back, the play stops there, host3 is never contacted.
        var host3 = await fleet.Hosts[2].ShAsync("cat /var/lib/osva/nova.json /etc/ansible/facts.d/osva.fact") + await TreeAsync(fleet.Hosts[2]);
        var failing = await PlaybookAsync("rolling upgrade A -> B, host2's health check fails", [.. on, $"nova_venv_tag={B}"],
            new Dictionary<string, string> { ["host2"] = "nova_venv_health_check: exit 1\n      nova_venv_health_timeout: 2" });
        var fatal = failing.Process.Stdout.Split('\n').Where(l => l.StartsWith("fatal: [host2]", StringComparison.Ordinal)).ToList();
        output.WriteLine(string.Join('\n', fatal));
        Assert.True(failing.Process.ExitCode != 0, failing.Process.ToString());
        Assert.True(failing.Recaps["host1"].Failed == 0 && failing.Recaps["host2"].Failed == 1 && !failing.Recaps.ContainsKey("host3"), failing.Process.ToString());
        var error = JsonDocument.Parse(Assert.Single(fatal)[(fatal[0].IndexOf("=> ", StringComparison.Ordinal) + 3)..]).RootElement;
        Assert.Equal("OSVA-I054", error.GetProperty("code").GetString());
        Assert.Contains("health check", error.GetProperty("msg").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.GetProperty("msg").GetString()!);
        await AssertFleetAsync(B, A, 0);
        await AssertFleetAsync(A, A, 1, 2);
        Assert.Equal(host3, await fleet.Hosts[2].ShAsync("cat /var/lib/osva/nova.json /etc/ansible/facts.d/osva.fact") + await TreeAsync(fleet.Hosts[2]));

        // nova_venv_enabled back to false after it was true: the role disables nova (its unit runs the packaged program
        // again, the venvs stay), neutron is not touched, and a second run changes nothing.
        string[] novaOff = ["nova_venv_enabled=false", "neutron_venv_enabled=true"];
        var neutronPid = await PidAsync(fleet.Hosts[2], "neutron-server");
        var disable = await PlaybookAsync("nova_venv_enabled=false after true, host3", novaOff, null, "--limit", "host3");
        Assert.True(disable.Process.ExitCode == 0 && disable.Recaps["host3"].Changed > 0, disable.Process.ToString());
        Assert.Contains("/bin/sleep", await RunningAsync(fleet.Hosts[2], "nova-api"), StringComparison.Ordinal);
        Assert.Equal(neutronPid, await PidAsync(fleet.Hosts[2], "neutron-server"));
        Assert.Contains("disabled", await fleet.Hosts[2].ShAsync("osva-install list nova"), StringComparison.Ordinal);
        Assert.Equal("", await fleet.Hosts[2].ShAsync("ls /etc/systemd/system/nova-api.service.d 2>/dev/null; ls /etc/sudoers.d | grep nova || true"));
        var disabledAgain = await PlaybookAsync("nova_venv_enabled=false again, host3", novaOff, null, "--limit", "host3");
        Assert.True(disabledAgain.Process.ExitCode == 0 && disabledAgain.Recaps["host3"].Changed == 0, disabledAgain.Process.ToString());
    }
}
