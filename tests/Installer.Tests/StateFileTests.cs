using System.Text.Json;
using System.Text.Json.Nodes;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Activation;
using OsVenvArtifacts.Installer.Operations;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// The state file is never guessed at: damaged, null or from a newer osva-install, it is refused by name; and
/// <c>repair SERVICE --state</c> rebuilds it from the venvs and recorded manifests without forgetting a tag.
/// </summary>
public sealed class StateFileTests
{
    private const string StateFile = "/var/lib/osva/demo.json";

    /// <summary>1.0.0 and 2.0.0 at their usual paths, 3.0.0 relocated and never activated; 2.0.0 active, 1.0.0 previous.</summary>
    private static async Task<ScratchHost> ThreeTagsAsync()
    {
        var host = new ScratchHost();
        foreach (var tag in new[] { "1.0.0", "2.0.0", "3.0.0" }) await host.PublishAsync(ScratchHost.Demo(tag));
        await host.InstallAsync("demo", "1.0.0");
        await host.InstallAsync("demo", "2.0.0");
        await new InstallOperation(host.Environment).RunAsync(new InstallRequest
        {
            Service = "demo", TagOrAlias = "3.0.0", Store = Artifact.Store.StoreLocation.Parse(host.Store), S3 = Artifact.Store.S3Settings.FromEnvironment(),
            InstallPath = "/openstack/venvs/demo-canary", NoActivate = true,
        }, default);
        return host;
    }

    [Theory]
    [InlineData("null", "holds null")]
    [InlineData("{\"schemaVersion\": 0, \"service\": \"demo\"}", "schema 0")]
    [InlineData("{\"schemaVersion\": 1, \"service\": \"nova\"}", "the state of 'nova'")]
    [InlineData("{\"schemaVersion\": 1, \"service\": \"demo\", \"installed\": [null]}", "null entries")]
    [InlineData("{\"schemaVersion\": 1, \"service\": \"demo\", \"installed\": [{\"tag\": \"1.0.0\"}]}", "missing required properties")]
    [InlineData("{\"schemaVersion\": 1, \"service\": \"de", "is damaged")]
    public async Task A_damaged_state_is_refused_by_name_and_the_hint_rebuilds_it_without_forgetting_tags(string content, string reason)
    {
        using var host = await ThreeTagsAsync();
        await File.WriteAllTextAsync(host.OnDisk(StateFile), content);

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.StateAsync("demo"));
        var cli = await Cli.RunAsync("list", "demo", "--root", host.Root);

        Assert.Equal("OSVA-I061", e.Code);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.Contains("osva-install repair demo --state", e.Hint, StringComparison.Ordinal);
        Assert.True(cli.ExitCode == 3, cli.ToString());
        Assert.StartsWith("osva-install: error OSVA-I061: ", cli.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_state_from_a_newer_osva_install_is_refused_and_not_rebuilt_over()
    {
        using var host = await ThreeTagsAsync();
        var node = JsonNode.Parse(host.Read(StateFile))!;
        node["schemaVersion"] = 2;
        await File.WriteAllTextAsync(host.OnDisk(StateFile), node.ToJsonString());
        var before = host.Read(StateFile);

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.Lifecycle.SwitchAsync(new SwitchOptions("demo", "1.0.0", new ActivationSettings(), false), default));
        var rebuild = await Cli.RunAsync("repair", "demo", "--state", "--root", host.Root);

        Assert.Equal("OSVA-I062", e.Code);
        Assert.Contains("schema 2, newer than this osva-install reads (1)", e.Message, StringComparison.Ordinal);
        Assert.True(rebuild.ExitCode == 3, rebuild.ToString());
        Assert.Contains("OSVA-I062", rebuild.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, host.Read(StateFile));
    }

    [Theory]
    [InlineData(2, "OSVA-A011", "newer than this tool's 1")]
    [InlineData(0, "OSVA-A010", "which no osva version writes")]
    public async Task A_stored_manifest_with_an_unknown_schema_is_refused(int schema, string code, string message)
    {
        using var host = await ThreeTagsAsync();
        var path = host.OnDisk("/var/lib/osva/demo/1.0.0.manifest.json");
        var node = JsonNode.Parse(await File.ReadAllTextAsync(path))!;
        node["schemaVersion"] = schema;
        await File.WriteAllTextAsync(path, node.ToJsonString());

        var e = await Assert.ThrowsAsync<ArtifactFormatException>(() => host.Lifecycle.SwitchAsync(new SwitchOptions("demo", "1.0.0", new ActivationSettings(), false), default));

        Assert.Equal(code, e.Code);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Equal("2.0.0", (await host.StateAsync("demo")).Active);
    }

    [Fact]
    public async Task Doctor_names_a_state_holding_null_and_its_fix_rebuilds_every_tag_from_disk()
    {
        using var host = await ThreeTagsAsync();
        var original = await host.StateAsync("demo");
        await File.WriteAllTextAsync(host.OnDisk(StateFile), "null");

        var sick = await Cli.RunAsync("doctor", "--root", host.Root, "--json");
        using var doc = JsonDocument.Parse(sick.Stdout);
        var fix = doc.RootElement.GetProperty("findings").EnumerateArray().Single().GetProperty("fix").GetString()!;
        var rebuilt = await Cli.RunAsync([.. fix.Split(' ')[1..], "--root", host.Root]);
        var well = await Cli.RunAsync("doctor", "--root", host.Root);

        Assert.True(sick.ExitCode == 4, sick.ToString());
        Assert.Equal("osva-install repair demo --state", fix);
        Assert.True(rebuilt.ExitCode == 0, rebuilt.ToString());
        Assert.True(well.ExitCode == 0, well.ToString());
        var state = await host.StateAsync("demo");
        Assert.Equal("2.0.0", state.Active);
        Assert.Equal(original.Installed.Select(t => (t.Tag, t.InstallPath, t.BuiltFor, t.ArchiveSha256, t.TreeHash)).Order(),
            state.Installed.Select(t => (t.Tag, t.InstallPath, t.BuiltFor, t.ArchiveSha256, t.TreeHash)).Order());
        Assert.Equal(original.Activation!.Units, state.Activation!.Units);
        Assert.Equal("null", await File.ReadAllTextAsync(Assert.Single(Directory.EnumerateFiles(host.OnDisk("/var/lib/osva"), "demo.json.damaged-*"))));
        foreach (var tag in new[] { "1.0.0", "2.0.0", "3.0.0" }) Assert.True((await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", tag), default)).Ok, tag);
        var switched = await host.Lifecycle.SwitchAsync(new SwitchOptions("demo", "3.0.0", new ActivationSettings(), false), default);
        Assert.Equal("3.0.0", switched.Active);
        Assert.Contains("/openstack/venvs/demo-canary/bin/osva-hello", host.Read("/usr/local/bin/osva-hello"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_state_that_forgot_its_tags_gets_them_back_and_keeps_what_it_knew()
    {
        using var host = await ThreeTagsAsync();
        var original = await host.StateAsync("demo");
        // What the old reader made of "null": an empty state, saved over the real one by the next command.
        await File.WriteAllTextAsync(host.OnDisk(StateFile), $"{{\"schemaVersion\": 1, \"service\": \"demo\", \"indexVersions\": {{\"{host.Store}\": 7}}}}");
        var sick = await host.Lifecycle.DoctorAsync(new DoctorOptions("demo"), default);

        var dry = await new StateRebuild(host.Environment).RunAsync("demo", dryRun: true, default);
        var rebuilt = await new StateRebuild(host.Environment).RunAsync("demo", dryRun: false, default);
        var again = await new StateRebuild(host.Environment).RunAsync("demo", dryRun: false, default);

        Assert.Equal(3, sick.Findings!.Count(f => f.Fix == "osva-install repair demo --state"));
        Assert.True(dry.Changed && dry.DryRun);
        Assert.True(rebuilt.Changed);
        Assert.Contains("record 3.0.0 at /openstack/venvs/demo-canary", rebuilt.Actions);
        Assert.False(again.Changed);
        var state = await host.StateAsync("demo");
        Assert.Equal(["1.0.0", "2.0.0", "3.0.0"], state.Installed.Select(t => t.Tag).Order().ToArray());
        Assert.Equal("2.0.0", state.Active);
        Assert.Equal(7, state.IndexVersions[host.Store]);
        Assert.Equal(original.Installed.Single(t => t.Tag == "3.0.0").TreeHash, state.Installed.Single(t => t.Tag == "3.0.0").TreeHash);
        Assert.Empty((await host.Lifecycle.DoctorAsync(new DoctorOptions("demo"), default)).Findings!);
    }
}
