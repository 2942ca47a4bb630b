using System.Text.RegularExpressions;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.TestSupport;
using Xunit.Abstractions;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// Runs the shell examples of docs/deployer-guide.md, as written and in order, on a host container booted with
/// systemd that runs nova from Debian's packages (<see cref="HostContainer.InstallDebianNovaAsync"/>): each block marked <c>&lt;!-- run --&gt;</c> must exit 0, one marked <c>&lt;!-- run: exit N --&gt;</c> must exit N.
/// </summary>
public sealed partial class DeployerGuideTests(HostContainer host, ITestOutputHelper output) : IClassFixture<HostContainer>
{
    private static readonly string Guide = Path.Combine(TestEnvironment.RepoRoot, "docs", "deployer-guide.md");

    [GeneratedRegex(@"^<!-- run(?:: exit (?<exit>\d+))? -->\n```sh\n(?<script>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex RunnableBlock();

    public sealed record Example(string Script, int Exit);

    public static IReadOnlyList<Example> Examples() =>
        [.. RunnableBlock().Matches(File.ReadAllText(Guide).ReplaceLineEndings("\n"))
            .Select(m => new Example(m.Groups["script"].Value, m.Groups["exit"].Success ? int.Parse(m.Groups["exit"].Value, System.Globalization.CultureInfo.InvariantCulture) : 0))];

    /// <summary>A nova venv whose nova-api keeps running as a service does, or (a bad build) exits at once.</summary>
    private static InstallArtifactBuilder Nova(string tag, bool apiStarts = true)
    {
        var b = InstallArtifactBuilder.Venv("nova", tag, null, "nova-api", "nova-manage", "nova-rootwrap");
        var module = b.Entries.FindIndex(e => e.Path.EndsWith("nova_app/__init__.py", StringComparison.Ordinal));
        b.Entries[module] = InstallEntry.Text(b.Entries[module].Path,
            $"import os\nimport sys\nimport time\n\n\ndef main():\n    name = os.path.basename(sys.argv[0])\n    print(name + ' {tag} ' + sys.prefix, flush=True)\n"
            + (apiStarts ? "    while name == 'nova-api':\n        time.sleep(3600)\n" : "    if name == 'nova-api':\n        return 1\n")
            + "    return 0\n");
        b.ManagementScripts.Clear();
        b.ManagementScripts.Add("nova-manage");
        b.Systemd = new SystemdHints { Units = [new SystemdUnit("nova-api", "nova-api")] };
        b.Rootwrap = new RootwrapHints { ConfigPath = "/etc/nova/rootwrap.conf", Command = "nova-rootwrap" };
        return b;
    }

    [DockerFact]
    public async Task Every_example_in_the_deployer_guide_runs_as_written()
    {
        var examples = Examples();
        Assert.True(examples.Count >= 8, $"expected the guide's runnable examples, found {examples.Count}");

        var store = Path.Combine(host.Work.Path, "store");
        foreach (var b in new[] { Nova("31.0.0"), Nova("32.0.0"), Nova("32.0.1", apiStarts: false) })
        {
            await InstallStore.AddAsync(store, b, Path.Combine(host.Work.Path, "artifacts"));
        }
        await host.CopyInAsync(store, "/srv/osva-store");
        await host.InstallDebianNovaAsync();

        foreach (var (example, i) in examples.Select((e, i) => (e, i)))
        {
            var run = await host.ExecAsync("bash", "-euo", "pipefail", "-c", example.Script);
            output.WriteLine($"--- example {i + 1} (expect exit {example.Exit}):\n{example.Script}{run.Stdout}{run.Stderr}");
            Assert.True(run.ExitCode == example.Exit, $"example {i + 1} exited {run.ExitCode}, the guide says {example.Exit}:\n{example.Script}\n{run}");
        }
    }
}
