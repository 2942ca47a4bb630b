using System.Text;
using System.Text.Json;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer;
using OsVenvArtifacts.Installer.Activation;
using OsVenvArtifacts.Installer.Host;
using OsVenvArtifacts.Installer.State;
using OsVenvArtifacts.Installer.Unpack;
using OsVenvArtifacts.TestSupport;
using Xunit.Abstractions;

namespace OsVenvArtifacts.Fuzz.Tests;

/// <summary>
/// The files osva-install keeps on a host and reads back on every run: the state file, the activation journal, a
/// tag's entry list (.tree) and /etc/osva/osva.conf. A damaged one is refused with its OSVA-I… code (I061, I063,
/// I006), never taken half-read; an accepted one is whole (written back, it reads the same).
/// </summary>
public sealed class HostFileFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _scratch = new("fuzz-host");

    private static ServiceState SeedState() => new()
    {
        Service = "nova",
        Active = "31.0.0",
        Previous = "30.0.0",
        Installed = [Installed("30.0.0"), Installed("31.0.0")],
        Activation = new ActivationRecord
        {
            Tag = "31.0.0", Units = ["nova-api"],
            Files = ["/etc/systemd/system/nova-api.service.d/osva-venv.conf", "/etc/sudoers.d/nova_osva", "/usr/local/bin/nova-manage"],
        },
        History = [new StateEvent(DateTimeOffset.UnixEpoch.AddDays(20000), "install", "30.0.0", null), new StateEvent(DateTimeOffset.UnixEpoch.AddDays(20001), "switch", "31.0.0", "30.0.0")],
        IndexVersions = new Dictionary<string, long> { ["/srv/osva"] = 7 },
    };

    private static InstalledTag Installed(string tag) => new()
    {
        Tag = tag, Platform = PublishTestArtifacts.DefaultPlatform, InstallPath = InstallPaths.Default("nova", tag), BuiltFor = InstallPaths.Default("nova", tag),
        ArchiveSha256 = new string('a', 64), TreeHash = "sha256:" + new string('b', 64), UnpackedSize = 1000, FileCount = 10,
        InstalledAt = DateTimeOffset.UnixEpoch.AddDays(20000),
    };

    private static readonly byte[] StateSeed = JsonSerializer.SerializeToUtf8Bytes(SeedState(), InstallerJsonContext.Default.ServiceState);

    [Fact]
    public Task State_file_is_read_whole_or_refused_as_damaged() =>
        FuzzRunner.RunAsync(output, "state", ciIterations: 1500, async fuzzCase =>
        {
            var mutator = new Mutator(fuzzCase.Random);
            var bytes = mutator.Chance(75) ? mutator.Json(StateSeed, [StateSeed]) : mutator.Bytes(StateSeed, [StateSeed]);
            fuzzCase.Input = bytes;
            var env = new InstallerEnvironment(_scratch.Path);
            Directory.CreateDirectory(env.StateDirectory);
            await File.WriteAllBytesAsync(env.StateFile("nova"), bytes);
            var store = new StateStore(env);
            var state = await store.LoadAsync("nova", CancellationToken.None);
            // Every run saves the state it read: what was accepted must survive that unchanged.
            var first = JsonSerializer.SerializeToUtf8Bytes(state, InstallerJsonContext.Default.ServiceState);
            await store.SaveAsync(state, CancellationToken.None);
            var again = JsonSerializer.SerializeToUtf8Bytes(await store.LoadAsync("nova", CancellationToken.None), InstallerJsonContext.Default.ServiceState);
            if (!first.AsSpan().SequenceEqual(again)) throw new OracleFailure("an accepted state reads back different once saved");
        }, e => e is InstallerException { Code: "OSVA-I061" or "OSVA-I062" }, maxTime: TimeSpan.FromSeconds(5), maxBytes: 128L << 20);

    private static readonly byte[] JournalSeed = JsonSerializer.SerializeToUtf8Bytes(new ActivationJournal
    {
        Service = "nova",
        Tag = "31.0.0",
        Started = DateTimeOffset.UnixEpoch.AddDays(20001),
        Files =
        [
            new JournalFile("/etc/sudoers.d/nova_osva", Seeds.Utf8("Defaults:nova secure_path=\"/openstack/venvs/nova-30.0.0/bin\"\n"), 0x120),
            new JournalFile("/etc/nova/rootwrap.conf", Seeds.Utf8("[DEFAULT]\nexec_dirs=/openstack/venvs/nova-30.0.0/bin,/sbin\n"), 0x1A4),
            new JournalFile("/usr/local/bin/nova-status", null, 0),
        ],
        Running = ["nova-api"],
        StateBefore = StateSeed,
    }, InstallerJsonContext.Default.ActivationJournal);

    [Fact]
    public Task Activation_journal_is_recovered_inside_the_root_or_refused_as_damaged() =>
        FuzzRunner.RunAsync(output, "journal", ciIterations: 800, async fuzzCase =>
        {
            var mutator = new Mutator(fuzzCase.Random);
            var bytes = mutator.Chance(75) ? mutator.Json(JournalSeed, [JournalSeed, StateSeed]) : mutator.Bytes(JournalSeed, [JournalSeed]);
            fuzzCase.Input = bytes;
            // The root sits one level down, so anything recovery wrote outside it would show beside it.
            var box = Path.Combine(_scratch.Path, "journal-" + fuzzCase.Iteration);
            Directory.CreateDirectory(Path.Combine(box, "root"));
            var env = new InstallerEnvironment(Path.Combine(box, "root"));
            Directory.CreateDirectory(env.StateDirectory);
            var path = ActivationJournal.PathFor(env, "nova");
            await File.WriteAllBytesAsync(path, bytes);
            Exception? refused = null;
            try
            {
                await ActivationJournal.RecoverAsync(env, "nova", CancellationToken.None);
            }
            catch (Exception e)
            {
                refused = e;
            }
            var beside = Directory.EnumerateFileSystemEntries(box).Select(Path.GetFileName).ToList();
            var left = File.Exists(path);
            Directory.Delete(box, recursive: true);
            if (beside is not ["root"]) throw new OracleFailure($"recovery wrote outside the root: {string.Join(", ", beside)}");
            if (refused is not null) throw refused;
            if (left && JsonSerializer.Deserialize(bytes, InstallerJsonContext.Default.ActivationJournal) is not null)
            {
                throw new OracleFailure("recovery returned but left its journal");
            }
        }, e => e is InstallerException { Code: "OSVA-I063" or "OSVA-I057" }, maxTime: TimeSpan.FromSeconds(5), maxBytes: 128L << 20);

    private static readonly TreeEntry[] Tree =
    [
        new("bin", TreeEntryKind.Directory, 0x1ED, 0, null, null),
        new("bin/nova-api", TreeEntryKind.File, 0x1ED, 42, new string('c', 64), null),
        new("bin/python", TreeEntryKind.Symlink, 0, 0, null, "/usr/bin/python3.11"),
        new("lib/python3.11/site-packages/setuptools/script (dev).tmpl", TreeEntryKind.File, 0x1A4, 7, new string('d', 64), null),
        new("share/a\nb\tc\u00e9", TreeEntryKind.File, 0x1A4, 0, new string('e', 64), null),
        new("lib64", TreeEntryKind.Symlink, 0, 0, null, "lib"),
    ];

    private static readonly byte[] TreeSeed = WriteTree(Tree);

    /// <summary>The form versions before the JSON lines wrote: tree-hash lines, the path last.</summary>
    private static readonly byte[] LegacyTreeSeed = Seeds.Utf8(
        "d 0755 - bin\nf 0755 42 " + new string('c', 64) + " bin/nova-api\nl - /usr/bin/python3.11 bin/python\n" +
        "f 0644 7 " + new string('d', 64) + " lib/python3.11/site-packages/setuptools/script (dev).tmpl\nl - lib lib64\n");

    private static byte[] WriteTree(IEnumerable<TreeEntry> entries)
    {
        using var stream = new MemoryStream();
        TreeFile.WriteAsync(stream, entries, CancellationToken.None).GetAwaiter().GetResult();
        return stream.ToArray();
    }

    [Fact]
    public Task Tree_file_is_read_whole_or_refused_as_damaged() =>
        FuzzRunner.RunAsync(output, "tree", ciIterations: 2000, async fuzzCase =>
        {
            var mutator = new Mutator(fuzzCase.Random);
            var seed = mutator.Chance(70) ? TreeSeed : LegacyTreeSeed;
            var bytes = seed == TreeSeed && mutator.Chance(60) ? JsonLines(mutator, seed) : mutator.Bytes(seed, [TreeSeed, LegacyTreeSeed]);
            fuzzCase.Input = bytes;
            var path = Path.Combine(_scratch.Path, "nova.tree");
            await File.WriteAllBytesAsync(path, bytes);
            var tree = await TreeFile.ReadAsync(path, "osva-install repair nova 31.0.0", _ => null, CancellationToken.None);
            // verify diffs the disk against this list and repair rewrites it: written again, it must read the same.
            await File.WriteAllBytesAsync(path, WriteTree(tree.Entries));
            var again = await TreeFile.ReadAsync(path, "osva-install repair nova 31.0.0", _ => null, CancellationToken.None);
            if (!again.Entries.OrderBy(e => e.Path, StringComparer.Ordinal).SequenceEqual(tree.Entries.OrderBy(e => e.Path, StringComparer.Ordinal)))
            {
                throw new OracleFailure("an accepted entry list reads back different once written");
            }
        }, e => e is InstallerException { Code: "OSVA-I061" }, maxTime: TimeSpan.FromSeconds(5), maxBytes: 128L << 20);

    /// <summary>One line of the JSON-lines file mutated as JSON, the others kept.</summary>
    private static byte[] JsonLines(Mutator mutator, byte[] seed)
    {
        var lines = Encoding.UTF8.GetString(seed).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        var at = mutator.Random.Next(lines.Count);
        lines[at] = Encoding.UTF8.GetString(mutator.Json(Seeds.Utf8(lines[at]), [seed])).Replace('\n', ' ');
        return Seeds.Utf8(string.Join('\n', lines) + "\n");
    }

    private static readonly byte[] ConfigSeed = Seeds.Utf8("""
        # osva-install host configuration
        store = s3://osva-artifacts/prod
        s3-endpoint = http://127.0.0.1:4568
        s3-region = us-east-1
        s3-path-style = true
        trusted-key = /etc/osva/keys/release.pub
        retired-key = sha256:0000000000000000000000000000000000000000000000000000000000000000
        require-signatures = yes
        venvs-root = /openstack/venvs
        max-archive-size = 4G
        max-unpacked-size = 16G
        max-entry-size = 2147483648
        max-entries = 1000000
        stall-timeout = 60   # seconds
        """);

    [Fact]
    public Task Host_config_is_read_or_refused_with_its_line() =>
        FuzzRunner.RunAsync(output, "hostconfig", ciIterations: 3000, async fuzzCase =>
        {
            var mutator = new Mutator(fuzzCase.Random);
            var bytes = mutator.Chance(50) ? ConfigLines(mutator) : mutator.Bytes(ConfigSeed, [ConfigSeed]);
            fuzzCase.Input = bytes;
            var path = Path.Combine(_scratch.Path, "osva.conf");
            await File.WriteAllBytesAsync(path, bytes);
            var config = HostConfig.Load(path);
            if (config.MaxArchiveSize <= 0 || config.MaxUnpackedSize <= 0 || config.MaxEntrySize <= 0 || config.MaxEntries <= 0 || config.StallTimeout <= TimeSpan.Zero)
            {
                throw new OracleFailure("a limit read as zero or negative");
            }
            // Every install checks the manifest's sizes against these limits: a small artifact within them must pass.
            var manifest = Seeds.Manifest();
            var entry = new IndexArtifact
            {
                Platform = manifest.Platform.Id, ArchiveFileName = manifest.Archive.FileName, ArchiveSha256 = manifest.Archive.Sha256,
                ArchiveSize = manifest.Archive.Size, ManifestSha256 = new string('0', 64),
            };
            var fits = config.MaxArchiveSize >= manifest.Archive.Size && config.MaxUnpackedSize >= manifest.Archive.TarSize && config.MaxEntries >= manifest.FileCount;
            try
            {
                ExtractLimits.For(manifest, entry, config);
            }
            catch (InstallerException e) when (!fits && e.Code == "OSVA-I044")
            {
            }
        }, e => e is InstallerException { Code: "OSVA-I006" }, maxTime: TimeSpan.FromSeconds(5), maxBytes: 128L << 20);

    /// <summary>One setting's value (or key) mutated as text: what a hand edit or a templating bug would make.</summary>
    private static byte[] ConfigLines(Mutator mutator)
    {
        var lines = Encoding.UTF8.GetString(ConfigSeed).Split('\n').ToList();
        var at = mutator.Random.Next(lines.Count);
        var eq = lines[at].IndexOf('=', StringComparison.Ordinal);
        lines[at] = eq < 0 || mutator.Chance(20) ? mutator.Text(lines[at])
            : lines[at][..(eq + 1)] + " " + (mutator.Chance(50) ? mutator.NumberText(mutator.Pick(Mutator.Interesting)) + mutator.Pick(SizeSuffixes) : mutator.Text(lines[at][(eq + 1)..]));
        return Seeds.Utf8(string.Join('\n', lines));
    }

    private static readonly string[] SizeSuffixes = ["", "", "K", "M", "G", "T", "g", "X", " "];

    public void Dispose() => _scratch.Dispose();
}
