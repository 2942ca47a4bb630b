using System.Text.Json;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// The osva.venv.osva_venv module as a deployer runs it: real ansible (Debian's 2.14) on localhost, the real
/// osva-install (the NativeAOT binary when OSVA_INSTALLER_BINARY names it), a directory store and a scratch root.
/// Here rather than in Integration.Tests because the scratch host and store helpers need no Docker and take
/// milliseconds, so each test is bounded by Ansible's own start-up.
/// </summary>
public sealed class AnsibleModuleTests : IDisposable
{
    private readonly ScratchHost _host = new();
    private readonly string _binary;

    public AnsibleModuleTests()
    {
        _binary = Environment.GetEnvironmentVariable("OSVA_INSTALLER_BINARY") is { Length: > 0 } native ? native : ManagedWrapper();
    }

    public void Dispose() => _host.Dispose();

    private static string Collections => Path.Combine(TestEnvironment.RepoRoot, "ansible", "collections");

    /// <summary>The module takes one program path; the framework-dependent build needs `dotnet` in front.</summary>
    private string ManagedWrapper()
    {
        var path = Path.Combine(_host.TempPath, "osva-install");
        File.WriteAllText(path, $"#!/bin/sh\nexec dotnet '{Path.Combine(AppContext.BaseDirectory, "osva-install.dll")}' \"$@\"\n");
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
        return path;
    }

    private sealed record AdHoc(ProcessResult Process, JsonElement Result, string Status);

    /// <summary>Runs the module once with the default callback and reads its "localhost | STATUS => {json}" answer.</summary>
    private async Task<AdHoc> RunAsync(string moduleArgs, params string[] flags)
    {
        var env = new Dictionary<string, string>
        {
            ["ANSIBLE_COLLECTIONS_PATH"] = Collections,
            ["ANSIBLE_NOCOLOR"] = "1",
            ["ANSIBLE_LOCALHOST_WARNING"] = "false",
            ["ANSIBLE_LOCAL_TEMP"] = Path.Combine(_host.TempPath, "ansible-local"),
            ["ANSIBLE_REMOTE_TEMP"] = Path.Combine(_host.TempPath, "ansible-remote"),
        };
        var process = await ProcessRunner.RunAsync("ansible",
            ["localhost", "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=/usr/bin/python3",
             "-m", "osva.venv.osva_venv", "-a", $"{moduleArgs} root={_host.Root} binary={_binary}", .. flags],
            env, timeout: TimeSpan.FromMinutes(2));
        var marker = process.Stdout.IndexOf("localhost | ", StringComparison.Ordinal);
        Assert.True(marker >= 0, process.ToString());
        var arrow = process.Stdout.IndexOf(" => ", marker, StringComparison.Ordinal);
        var status = process.Stdout[(marker + "localhost | ".Length)..arrow];
        return new AdHoc(process, JsonDocument.Parse(process.Stdout[(arrow + 4)..]).RootElement.Clone(), status);
    }

    private string Install(string tag = "1.0.0", string state = "active") => $"service=demo tag={tag} state={state} store={_host.Store}";

    /// <summary>
    /// Every entry under the root with its content hash or link target, so any write shows up; except the per-service
    /// lock file (and the directory it is made in), which even a dry run takes so it reads a state no one is writing.
    /// </summary>
    private Dictionary<string, string> Snapshot() =>
        Directory.EnumerateFileSystemEntries(_host.Root, "*", SearchOption.AllDirectories)
            .Where(p => !p.EndsWith(".lock", StringComparison.Ordinal) && !_host.OnDisk("/var/lib/osva").StartsWith(p, StringComparison.Ordinal))
            .ToDictionary(p => p, p =>
            new FileInfo(p).LinkTarget is { } target ? $"-> {target}"
            : Directory.Exists(p) ? "dir"
            : Sha256.Of(File.ReadAllBytes(p)));

    [AnsibleFact]
    public async Task First_run_changes_the_host_and_an_identical_second_run_changes_nothing()
    {
        await _host.PublishAsync(ScratchHost.Demo("1.0.0"));

        var first = await RunAsync(Install());
        var second = await RunAsync(Install());

        Assert.True(first.Status == "CHANGED" && first.Result.GetProperty("changed").GetBoolean(), first.Process.ToString());
        Assert.Equal("1.0.0", first.Result.GetProperty("active").GetString());
        Assert.Contains("/etc/sudoers.d/demo_osva", first.Result.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("path").GetString()));
        Assert.True(File.Exists(_host.OnDisk("/etc/sudoers.d/demo_osva")));
        Assert.True(second.Status == "SUCCESS" && !second.Result.GetProperty("changed").GetBoolean(), second.Process.ToString());
    }

    [AnsibleFact]
    public async Task Check_mode_reports_changed_and_writes_nothing_and_diff_shows_each_file_with_its_new_content()
    {
        await _host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await _host.PublishAsync(ScratchHost.Demo("2.0.0"));
        Assert.Equal("CHANGED", (await RunAsync(Install("1.0.0"))).Status);
        var before = Snapshot();

        var check = await RunAsync(Install("2.0.0"), "--check", "--diff");

        Assert.True(check.Status == "CHANGED", check.Process.ToString());
        Assert.Contains(_host.OnDisk("/etc/sudoers.d/demo_osva"), before.Keys);
        Assert.Equal(before, Snapshot());
        var output = check.Process.Stdout;
        Assert.Contains("+++ after: /etc/sudoers.d/demo_osva", output, StringComparison.Ordinal);
        Assert.Contains("+++ after: /etc/systemd/system/demo-api.service.d/osva-venv.conf", output, StringComparison.Ordinal);
        Assert.Contains("-ExecStart=/openstack/venvs/demo-1.0.0/bin/osva-hello", output, StringComparison.Ordinal);
        Assert.Contains("+ExecStart=/openstack/venvs/demo-2.0.0/bin/osva-hello", output, StringComparison.Ordinal);
        Assert.Contains("would download demo-2.0.0-", output, StringComparison.Ordinal);
        Assert.Equal("1.0.0", check.Result.GetProperty("active").GetString());
    }

    [AnsibleFact]
    public async Task Diff_of_a_real_switch_shows_the_old_and_new_lines_of_the_files_it_rewrote()
    {
        await _host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await _host.PublishAsync(ScratchHost.Demo("2.0.0"));
        Assert.Equal("CHANGED", (await RunAsync(Install("1.0.0"))).Status);

        var upgrade = await RunAsync(Install("2.0.0"), "--diff");

        Assert.True(upgrade.Status == "CHANGED", upgrade.Process.ToString());
        Assert.Equal("1.0.0", upgrade.Result.GetProperty("previous").GetString());
        Assert.Contains("-ExecStart=/openstack/venvs/demo-1.0.0/bin/osva-hello", upgrade.Process.Stdout, StringComparison.Ordinal);
        Assert.Contains("+ExecStart=/openstack/venvs/demo-2.0.0/bin/osva-hello", upgrade.Process.Stdout, StringComparison.Ordinal);
        Assert.Contains("ExecStart=/openstack/venvs/demo-2.0.0/bin/osva-hello", _host.Read("/etc/systemd/system/demo-api.service.d/osva-venv.conf"), StringComparison.Ordinal);
    }

    [AnsibleFact]
    public async Task An_unknown_tag_fails_with_the_installers_code_and_hint()
    {
        await _host.PublishAsync(ScratchHost.Demo("1.0.0"));

        var run = await RunAsync(Install("9.9.9"));

        Assert.True(run.Status == "FAILED!" && run.Process.ExitCode != 0, run.Process.ToString());
        Assert.StartsWith("OSVA-I", run.Result.GetProperty("code").GetString(), StringComparison.Ordinal);
        Assert.Contains("9.9.9", run.Result.GetProperty("msg").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(run.Result.GetProperty("hint").GetString()));
    }

    [AnsibleFact]
    public async Task Present_installs_without_activating_and_absent_removes_only_an_inactive_tag()
    {
        await _host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await _host.PublishAsync(ScratchHost.Demo("2.0.0"));
        Assert.Equal("CHANGED", (await RunAsync(Install("1.0.0"))).Status);

        var staged = await RunAsync(Install("2.0.0", "present"));
        var activeRemoval = await RunAsync(Install("1.0.0", "absent"));
        var removal = await RunAsync(Install("2.0.0", "absent"));
        var again = await RunAsync(Install("2.0.0", "absent"));

        Assert.True(staged.Status == "CHANGED" && staged.Result.GetProperty("active").GetString() == "1.0.0", staged.Process.ToString());
        Assert.True(activeRemoval.Status == "FAILED!", activeRemoval.Process.ToString());
        Assert.Equal("OSVA-I073", activeRemoval.Result.GetProperty("code").GetString());
        Assert.Contains("active", activeRemoval.Result.GetProperty("msg").GetString(), StringComparison.Ordinal);
        Assert.True(removal.Status == "CHANGED" && !Directory.Exists(_host.OnDisk("/openstack/venvs/demo-2.0.0")), removal.Process.ToString());
        Assert.Equal("SUCCESS", again.Status);
    }

    [AnsibleFact]
    public async Task Disabled_puts_the_packaged_rootwrap_conf_back_check_mode_changes_nothing_and_a_second_run_is_ok()
    {
        const string packaged = "# packaged by demo-common\n[DEFAULT]\nexec_dirs=/sbin,/usr/sbin,/bin,/usr/bin\n";
        Directory.CreateDirectory(_host.OnDisk("/etc/demo"));
        File.WriteAllText(_host.OnDisk("/etc/demo/rootwrap.conf"), packaged);
        await _host.PublishAsync(ScratchHost.Demo("1.0.0"));
        Assert.Equal("CHANGED", (await RunAsync(Install("1.0.0"))).Status);
        Assert.NotEqual(packaged, _host.Read("/etc/demo/rootwrap.conf"));
        var before = Snapshot();

        var check = await RunAsync("service=demo state=disabled", "--check");
        var unchanged = Snapshot();
        var disabled = await RunAsync("service=demo state=disabled", "--diff");
        var again = await RunAsync("service=demo state=disabled");

        Assert.True(check.Status == "CHANGED", check.Process.ToString());
        Assert.Equal(before, unchanged);
        Assert.True(disabled.Status == "CHANGED", disabled.Process.ToString());
        Assert.Contains("+++ after: /etc/demo/rootwrap.conf", disabled.Process.Stdout, StringComparison.Ordinal);
        Assert.Equal(packaged, _host.Read("/etc/demo/rootwrap.conf"));
        Assert.False(File.Exists(_host.OnDisk("/etc/systemd/system/demo-api.service.d/osva-venv.conf")));
        Assert.True(Directory.Exists(_host.OnDisk("/openstack/venvs/demo-1.0.0")));
        Assert.Equal("1.0.0", disabled.Result.GetProperty("previous").GetString());
        Assert.True(again.Status == "SUCCESS", again.Process.ToString());
    }

    [AnsibleFact]
    public async Task Ansible_doc_shows_the_modules_options_examples_and_return_values()
    {
        var doc = await ProcessRunner.RunAsync("ansible-doc", ["osva.venv.osva_venv"],
            new Dictionary<string, string> { ["ANSIBLE_COLLECTIONS_PATH"] = Collections, ["ANSIBLE_NOCOLOR"] = "1" });

        Assert.True(doc.ExitCode == 0 && doc.Stderr.Length == 0, doc.ToString());
        foreach (var expected in new[] { "OSVA.VENV.OSVA_VENV", "- service", "- tag", "- state", "choices: [present, active, absent, disabled]",
                     "- trusted_keys", "- binary", "EXAMPLES:", "RETURN VALUES:", "- code", "check_mode" })
        {
            Assert.Contains(expected, doc.Stdout, StringComparison.Ordinal);
        }
    }
}
