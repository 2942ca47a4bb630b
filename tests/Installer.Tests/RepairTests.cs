using System.Text.Json;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Installer.Operations;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>repair: a damaged venv comes back from the store as it was installed, in one swap, and doctor's fix is that command.</summary>
public sealed class RepairTests
{
    private const string Venv = "/openstack/venvs/demo-1.0.0";

    private static Task<CommandResult> RepairAsync(ScratchHost host, string? tag = null, bool dryRun = false, string? store = null) =>
        new InstallOperation(host.Environment).RepairAsync(new RepairRequest
        {
            Service = "demo", Tag = tag, Store = store is null ? null : StoreLocation.Parse(store), S3 = S3Settings.FromEnvironment(), DryRun = dryRun,
        }, default);

    private static async Task DamageAsync(ScratchHost host)
    {
        var venv = host.OnDisk(Venv);
        File.Delete(Path.Combine(venv, "bin/osva-hello"));
        await File.AppendAllTextAsync(Path.Combine(venv, "pyvenv.cfg"), "include-system-site-packages = true\n");
        await File.WriteAllTextAsync(Path.Combine(venv, "lib/dropped-in.py"), "import os\n");
    }

    [Fact]
    public async Task Repair_brings_back_deleted_edited_and_added_files_of_the_active_tag_and_leaves_activation_alone()
    {
        using var host = new ScratchHost();
        host.Configure($"store = {host.Store}");
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        var serviceFiles = host.ServiceFiles();
        var dropIn = host.Read("/etc/systemd/system/demo-api.service.d/osva-venv.conf");
        await DamageAsync(host);

        var repaired = await RepairAsync(host);
        var again = await RepairAsync(host);

        Assert.True(repaired.Changed);
        Assert.Equal(["added lib/dropped-in.py", "missing bin/osva-hello", "modified pyvenv.cfg"], repaired.Drift!.Order(StringComparer.Ordinal).ToArray());
        Assert.True((await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", null), default)).Ok);
        Assert.False(again.Changed);
        Assert.Empty(again.Drift!);
        Assert.Equal(dropIn, host.Read("/etc/systemd/system/demo-api.service.d/osva-venv.conf"));
        var state = await host.StateAsync("demo");
        Assert.Equal("1.0.0", state.Active);
        Assert.Equal("repair", state.History[^1].Action);
        // Only the state changed outside the venv: the activation files point at the same path as before.
        Assert.Equal(serviceFiles.Keys.Order(), host.ServiceFiles().Keys.Order());
        Assert.Equal(serviceFiles.Where(f => !f.Key.EndsWith("demo.json", StringComparison.Ordinal)), host.ServiceFiles().Where(f => !f.Key.EndsWith("demo.json", StringComparison.Ordinal)));
        Assert.Empty(Directory.EnumerateFileSystemEntries(host.OnDisk("/openstack/venvs/.staging")));
    }

    [Fact]
    public async Task Repair_rewrites_activation_files_that_drifted_as_well()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        var wrapper = host.Read("/usr/local/bin/osva-hello");
        await File.WriteAllTextAsync(host.OnDisk("/usr/local/bin/osva-hello"), wrapper.Replace("exec ", "exec nice ", StringComparison.Ordinal));

        var repaired = await RepairAsync(host, store: host.Store);

        Assert.True(repaired.Changed);
        Assert.Contains("write /usr/local/bin/osva-hello", repaired.Actions);
        Assert.Equal(wrapper, host.Read("/usr/local/bin/osva-hello"));
    }

    [Fact]
    public async Task A_dry_run_names_the_download_and_changes_nothing()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        await DamageAsync(host);

        var planned = await RepairAsync(host, dryRun: true, store: host.Store);

        Assert.True(planned.Changed);
        Assert.Contains(planned.Actions, a => a.StartsWith("download demo-1.0.0-", StringComparison.Ordinal));
        Assert.Contains($"replace {Venv} with a fresh unpack (3 entries drifted)", planned.Actions);
        Assert.Equal(3, (await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", null), default)).Drift!.Count);
    }

    [Fact]
    public async Task A_clean_venv_needs_no_store_and_an_old_entry_list_is_rewritten_without_a_download()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        var treeFile = host.OnDisk("/var/lib/osva/demo/1.0.0.tree");
        var entries = (await new State.StateStore(host.Environment).LoadTreeAsync("demo", "1.0.0", _ => null, default))!.Entries;
        var current = await File.ReadAllTextAsync(treeFile);
        await File.WriteAllTextAsync(treeFile, string.Concat(entries.OrderBy(e => e.Path, StringComparer.Ordinal).Select(TreeHash.Line)));
        Directory.Delete(host.Store, recursive: true);

        var rewritten = await RepairAsync(host);
        var again = await RepairAsync(host);

        Assert.True(rewritten.Changed);
        Assert.Equal([$"rewrite {treeFile} in the current form"], rewritten.Actions);
        Assert.Equal(current, await File.ReadAllTextAsync(treeFile));
        Assert.False(again.Changed);
    }

    [Fact]
    public async Task A_relocated_venv_is_repaired_at_its_own_path()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0", installPath: "/openstack/venvs/demo-blue");
        var script = host.OnDisk("/openstack/venvs/demo-blue/bin/osva-hello");
        var relocated = await File.ReadAllTextAsync(script);
        File.Delete(script);

        await RepairAsync(host, "1.0.0", store: host.Store);

        Assert.Equal(relocated, await File.ReadAllTextAsync(script));
        Assert.StartsWith("#!/openstack/venvs/demo-blue/bin/python", relocated, StringComparison.Ordinal);
        Assert.True((await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", "1.0.0"), default)).Ok);
    }

    [Fact]
    public async Task Repair_refuses_a_store_whose_tag_is_another_archive_now_and_leaves_the_venv_as_it_was()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        var republished = ScratchHost.Demo("1.0.0");
        republished.Entries.Add(InstallEntry.Text("lib/backdoor.py", "import os\n"));
        await host.PublishAsync(republished);
        await DamageAsync(host);

        var e = await Assert.ThrowsAsync<InstallerException>(() => RepairAsync(host, store: host.Store));

        Assert.Equal("OSVA-I042", e.Code);
        Assert.Equal(ExitCode.Conflict, e.ExitCode);
        Assert.False(File.Exists(host.OnDisk($"{Venv}/lib/backdoor.py")));
        Assert.Equal(3, (await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", null), default)).Drift!.Count);
    }

    [Theory]
    [InlineData("files deleted from the active venv")]
    [InlineData("the active venv removed")]
    [InlineData("pyvenv.cfg removed")]
    public async Task Doctor_suggests_repair_and_running_its_suggestion_leaves_doctor_clean(string damage)
    {
        using var host = new ScratchHost();
        host.Configure($"store = {host.Store}");
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        var venv = host.OnDisk(Venv);
        switch (damage)
        {
            case "files deleted from the active venv":
                Directory.Delete(Path.Combine(venv, "lib/python3.11/site-packages/demo_app"), recursive: true);
                break;
            case "the active venv removed":
                Directory.Delete(venv, recursive: true);
                break;
            default:
                File.Delete(Path.Combine(venv, "pyvenv.cfg"));
                break;
        }

        var sick = await Cli.RunAsync("doctor", "--root", host.Root, "--json");
        var fixes = Fixes(sick.Stdout);
        Assert.True(sick.ExitCode == 4, sick.ToString());
        var fix = Assert.Single(fixes.Distinct());
        Assert.Equal("osva-install repair demo 1.0.0", fix);
        var repaired = await Cli.RunAsync([.. fix.Split(' ')[1..], "--root", host.Root]);
        var well = await Cli.RunAsync("doctor", "--root", host.Root);

        Assert.True(repaired.ExitCode == 0, repaired.ToString());
        Assert.True(well.ExitCode == 0, well.ToString());
        Assert.EndsWith("no problems found\n", well.Stdout, StringComparison.Ordinal);
        Assert.True((await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", null), default)).Ok);
    }

    [Fact]
    public async Task Without_a_configured_store_doctor_says_which_option_repair_needs()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        File.Delete(host.OnDisk($"{Venv}/bin/activate"));

        var result = await host.Lifecycle.DoctorAsync(new DoctorOptions("demo"), default);

        var finding = Assert.Single(result.Findings!);
        Assert.Contains("1 installed entries are missing or changed (bin/activate;", finding.Problem, StringComparison.Ordinal);
        Assert.Equal("osva-install repair demo 1.0.0 --store LOCATION", finding.Fix);
    }

    [Fact]
    public void The_swap_exchanges_two_directories_in_one_rename()
    {
        using var temp = new TempDirectory("exchange");
        var (fresh, damaged) = (temp.Combine("fresh"), temp.Combine("damaged"));
        Directory.CreateDirectory(fresh);
        Directory.CreateDirectory(damaged);
        File.WriteAllText(Path.Combine(fresh, "new"), "");
        File.WriteAllText(Path.Combine(damaged, "old"), "");

        Assert.True(Host.Native.TryExchange(fresh, damaged));

        Assert.True(File.Exists(Path.Combine(damaged, "new")));
        Assert.True(File.Exists(Path.Combine(fresh, "old")));
    }

    private static string[] Fixes(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("fix").GetString()!).ToArray();
    }
}
