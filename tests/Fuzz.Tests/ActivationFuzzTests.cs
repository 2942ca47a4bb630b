using System.Text;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Activation;
using OsVenvArtifacts.Installer.Host;
using OsVenvArtifacts.Installer.State;
using OsVenvArtifacts.TestSupport;
using Xunit.Abstractions;

namespace OsVenvArtifacts.Fuzz.Tests;

/// <summary>
/// The host files activation writes from names it did not choose: rootwrap.conf edited from whatever the host has
/// (checked on a sample with Python's configparser, as oslo.rootwrap reads it), and the sudoers file, drop-ins and
/// wrappers planned from a manifest's names and the operator's options (sudoers checked on a sample with visudo -cf).
/// </summary>
public sealed class ActivationFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const string Venv = "/openstack/venvs/nova-31.0.0";
    private readonly TempDirectory _scratch = new("fuzz-activation");

    private static readonly string ConfSeed = """
        # Configuration for nova-rootwrap
        # This file should be owned by (and only-writeable by) the root user

        [DEFAULT]
        # List of directories to load filter definitions from (separated by ',').
        filters_path=/etc/nova/rootwrap.d,/usr/share/nova/rootwrap

        # List of directories to search executables in, in case filters do not
        # explicitely specify a full path (separated by ',')
        exec_dirs=/openstack/venvs/nova-30.0.0/bin,/sbin,/usr/sbin,/bin,/usr/bin,/usr/local/bin,/usr/local/sbin

        use_syslog=False
        syslog_log_facility=syslog
        syslog_log_level=ERROR

        [xenapi]
        xenapi_connection_url=<None>
        """ + "\n";

    /// <summary>
    /// oslo.rootwrap reads rootwrap.conf with RawConfigParser: when it reads the file as it was, it must read the
    /// edited one too, with this venv's bin first in exec_dirs and every other setting unchanged.
    /// </summary>
    private const string ConfigParserCheck = """
        import configparser, sys
        def load(path):
            c = configparser.RawConfigParser()
            with open(path, encoding="utf-8") as f:
                c.read_file(f)
            return c
        try:
            before = load(sys.argv[1])
        except (configparser.Error, UnicodeDecodeError):
            sys.exit(0)
        after = load(sys.argv[2])
        dirs = after.get("DEFAULT", "exec_dirs").split(",")
        assert dirs[0].strip() == sys.argv[3], f"exec_dirs starts with {dirs[0]!r}"
        filters = sys.argv[4] if len(sys.argv) > 4 else None
        for section in ["DEFAULT"] + before.sections():
            for key, value in before.items(section):
                if key == "exec_dirs":
                    continue
                if key == "filters_path" and filters:  # sections inherit DEFAULT's
                    # The venv's filter directory is added after the packaged ones, which stay as they were.
                    kept = [d.strip() for d in after.get(section, key).split(",") if d.strip() != filters]
                    assert kept == [d.strip() for d in value.split(",") if d.strip()], f"[{section}] filters_path lost {value!r}"
                    continue
                assert after.get(section, key) == value, f"[{section}] {key} changed"
        if filters:
            assert filters in [d.strip() for d in after.get("DEFAULT", "filters_path").split(",")], "the venv's filters are not in filters_path"
        """;

    [Fact]
    public Task Rootwrap_conf_edit_keeps_the_file_readable_and_points_at_the_venv() =>
        FuzzRunner.RunAsync(output, "rootwrap", ciIterations: 1000, async fuzzCase =>
        {
            var mutator = new Mutator(fuzzCase.Random);
            string? existing;
            if (mutator.Chance(5)) existing = null;
            else if (mutator.Chance(60))
            {
                var lines = ConfSeed.Split('\n').ToList();
                for (var r = 1 + mutator.Random.Next(2); r > 0; r--)
                {
                    var at = mutator.Random.Next(lines.Count);
                    lines[at] = mutator.Text(lines[at]);
                }
                existing = string.Join('\n', lines);
            }
            // As the planner reads it: UTF-8, invalid bytes replaced.
            else existing = Encoding.UTF8.GetString(mutator.Bytes(Seeds.Utf8(ConfSeed), [Seeds.Utf8(ConfSeed)]));
            fuzzCase.Input = existing is null ? [] : Seeds.Utf8(existing);
            // As the planner calls it: this service's venvs are its own exec_dirs (and filter dirs), the rest is kept.
            var filters = fuzzCase.Iteration % 2 == 0 ? Venv + "/etc/nova/rootwrap.d" : null;
            var edited = RootwrapConf.Edit(existing, "nova", Venv + "/bin", filters, Ours);
            RootwrapConf.FiltersPath(edited);
            // Every switch edits the file again: a second edit to the same venv changes nothing.
            if (RootwrapConf.Edit(edited, "nova", Venv + "/bin", filters, Ours) != edited)
            {
                throw new OracleFailure("editing the edited rootwrap.conf again changes it");
            }
            if (existing is not null && fuzzCase.Iteration % 20 == 0 && !existing.Contains('\0', StringComparison.Ordinal))
            {
                await fuzzCase.OracleAsync(async () =>
                {
                    await CheckWithConfigParserAsync(existing, edited, filters);
                    return true;
                });
            }
        }, _ => false, maxTime: TimeSpan.FromSeconds(5), maxBytes: 128L << 20);

    /// <summary>Inputs fuzzing found (seed 403183613): a value continued on an indented line, a section header with text
    /// after its bracket, a key Python reads past a line it reports.</summary>
    [Theory]
    [InlineData("continued-value", "[DEFAULT]\nfilters_path=/etc/nova/rootwrap.d,/usr/share/nova/rootwrap\n \u2028x\n  /more,\n\n  /after-blank\nexec_dirs=/bin\n")]
    [InlineData("header-with-trailing-text", "# rootwrap\n[DEFAULT]# comment after the bracket\nexec_dirs=/a\nfilters_path=/f\n")]
    [InlineData("key-after-a-reported-line", "[DEFAULT]\n\u202e\n\u2028exec_di512rs\nexec_dirs=/openstack/venvs/nova-30.0.0/bin,/sbin\n")]
    [InlineData("colon-and-upper-case-key", "[DEFAULT]\nEXEC_DIRS : /sbin\r\nfilters_path:/f\r[x]\n  [y]\n")]
    [InlineData("no-default-section", "  \n[xenapi]\n  url=<None>\n")]
    public async Task Rootwrap_conf_inputs_fuzzing_found_are_read_as_oslo_rootwrap_reads_them(string name, string existing)
    {
        _ = name;
        foreach (var filters in new[] { Venv + "/etc/nova/rootwrap.d", null })
        {
            var edited = RootwrapConf.Edit(existing, "nova", Venv + "/bin", filters, Ours);
            Assert.Equal(edited, RootwrapConf.Edit(edited, "nova", Venv + "/bin", filters, Ours));
            await CheckWithConfigParserAsync(existing, edited, filters);
        }
    }

    private static bool Ours(string dir) => dir.StartsWith("/openstack/venvs/nova-", StringComparison.Ordinal);

    private async Task CheckWithConfigParserAsync(string existing, string edited, string? filters)
    {
        var before = Path.Combine(_scratch.Path, "before.conf");
        var after = Path.Combine(_scratch.Path, "after.conf");
        await File.WriteAllTextAsync(before, existing);
        await File.WriteAllTextAsync(after, edited);
        var python = await ProcessRunner.RunAsync("/usr/bin/python3", ["-c", ConfigParserCheck, before, after, Venv + "/bin", .. (filters is null ? Array.Empty<string>() : [filters])]);
        if (python.ExitCode != 0) throw new OracleFailure($"Python's configparser reads the edit wrongly: {python.Stderr.Trim().Split('\n')[^1]}\n--- edited\n{edited}");
    }

    private static readonly string[] Users = ["nova", "nova_svc", "root", "neutron-agent"];

    /// <summary>
    /// Found by this target (seed 4, iteration 137): ActivationPlanner's name checks ended in <c>$</c>, which .NET also
    /// matches before a final newline, so a rootwrap command "x\n" put a line break into sudoers (and a console script
    /// into its wrapper); they end in <c>\z</c> now.
    /// </summary>
    [Fact]
    public Task Activation_files_from_hostile_names_are_refused_or_well_formed() =>
        FuzzRunner.RunAsync(output, "sudoers", ciIterations: 1000, async fuzzCase =>
        {
            var mutator = new Mutator(fuzzCase.Random);
            string Maybe(string value) => mutator.Chance(25) ? mutator.Text(value) : value;
            var seed = Seeds.Manifest();
            // Names from a manifest (signed by a publisher, written by a build) and from the command line.
            var hostile = seed with
            {
                Service = mutator.Chance(10) ? Maybe("nova") : "nova",
                InstallPath = mutator.Chance(10) ? Maybe(seed.InstallPath) : seed.InstallPath,
                ConsoleScripts = seed.ConsoleScripts.Select(Maybe).ToList(),
                Rootwrap = seed.Rootwrap! with { Command = Maybe(seed.Rootwrap!.Command!), DaemonCommand = Maybe(seed.Rootwrap.DaemonCommand!), ConfigPath = Maybe(seed.Rootwrap.ConfigPath!) },
                Systemd = new SystemdHints { Units = [new SystemdUnit(Maybe("nova-api"), Maybe("nova-api --config-file /etc/nova/nova.conf"))] },
            };
            var bytes = ArtifactJson.Serialize(hostile);
            fuzzCase.Input = bytes;
            var manifest = await ArtifactJson.ReadManifestAsync(new MemoryStream(bytes), "fuzz.manifest.json", CancellationToken.None);
            _ = manifest.Id;
            var venv = InstallerEnvironment.CheckInstallPath(manifest.InstallPath);
            var settings = new ActivationSettings
            {
                ServiceUser = mutator.Chance(30) ? mutator.Text(mutator.Pick(Users)) : mutator.Chance(50) ? null : mutator.Pick(Users),
                Units = mutator.Chance(30) ? [Maybe("nova-compute") + (mutator.Chance(50) ? "=" + Maybe("nova-compute --debug") : "")] : [],
            };
            var installed = new InstalledTag
            {
                Tag = manifest.Tag, Platform = manifest.Platform.Id, InstallPath = venv, BuiltFor = venv, ArchiveSha256 = manifest.Archive.Sha256,
                TreeHash = manifest.TreeHash,
            };
            var env = new InstallerEnvironment(_scratch.Path);
            var plan = await ActivationPlanner.PlanAsync(env, manifest, installed, settings, new ServiceState { Service = manifest.Service }, CancellationToken.None);
            foreach (var file in plan.Files) await CheckFileAsync(file, fuzzCase);
        }, e => e is OsvaException, maxTime: TimeSpan.FromSeconds(5), maxBytes: 128L << 20);

    private int _sudoersChecked;

    /// <summary>Each planned file has the lines its kind has, no more (no name carried a line break into it).</summary>
    private async Task CheckFileAsync(PlannedFile file, FuzzCase fuzzCase)
    {
        if (file.HostPath.Split('/').Any(p => p is "." or "..") || file.Content.Contains('\0', StringComparison.Ordinal))
        {
            throw new OracleFailure($"planned {file.HostPath} is not a plain path or holds NUL");
        }
        var lines = file.Content.TrimEnd('\n').Split('\n').Length;
        var expected = file.Kind switch
        {
            PlannedFileKind.DropIn => (int?)5,
            PlannedFileKind.Wrapper => 3,
            // Header, Defaults, then one line per command (rootwrap, its daemon; privsep-helper needs a venv on disk).
            PlannedFileKind.Sudoers => 2 + file.Content.Split('\n').Count(l => l.Contains(" ALL = (root) NOPASSWD: ", StringComparison.Ordinal)),
            _ => null,
        };
        if (expected is { } n && lines != n) throw new OracleFailure($"{file.HostPath} has {lines} lines, a {file.Kind} has {n}:\n{file.Content}");
        if (file.Kind == PlannedFileKind.Sudoers && _sudoersChecked++ % 10 == 0)
        {
            var path = Path.Combine(_scratch.Path, $"sudoers-{fuzzCase.Iteration}");
            await File.WriteAllTextAsync(path, file.Content);
            var visudo = await fuzzCase.OracleAsync(() => ProcessRunner.RunAsync("visudo", ["-cf", path]));
            File.Delete(path);
            if (visudo.ExitCode != 0) throw new OracleFailure($"visudo -cf refuses the planned sudoers: {visudo.Stderr.Trim()}\n{file.Content}");
        }
    }

    public void Dispose() => _scratch.Dispose();
}
