using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer;
using OsVenvArtifacts.Installer.Unpack;
using OsVenvArtifacts.TestSupport;
using Xunit.Abstractions;

namespace OsVenvArtifacts.Fuzz.Tests;

/// <summary>
/// The installer's unpack path (gzip, TarStreamGuard, TarReader, SafeExtractor) over mutated archives, each into a
/// fresh scratch directory: every archive is unpacked whole and consistent, or refused with OSVA-I030/I031/I033.
/// </summary>
public sealed class TarFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _scratch = new("fuzz-tar");
    private int _accepted;

    [Fact]
    public Task Unpack_accepts_a_whole_venv_or_refuses_with_a_code() =>
        FuzzRunner.RunAsync(output, "tar", ciIterations: 500, OneAsync,
            e => e is InstallerException { Code: "OSVA-I030" or "OSVA-I031" or "OSVA-I033" },
            maxTime: TimeSpan.FromSeconds(10), maxBytes: 64L << 20);

    private async Task OneAsync(FuzzCase fuzzCase)
    {
        var mutator = new Mutator(fuzzCase.Random);
        var seed = mutator.Pick(Seeds.Tars);
        byte[] gz;
        long tarSize;
        if (mutator.Chance(80))
        {
            // A hostile build: the archive and the manifest's tar size agree, so only the entries are wrong.
            var tar = mutator.Tar(seed.Tar, Seeds.Tars.Select(s => s.Tar).ToList());
            gz = GzipBytes.Compress(tar);
            tarSize = tar.Length;
        }
        else
        {
            // Damage to the compressed bytes: gzip header, deflate stream, trailer.
            gz = mutator.Bytes(seed.Gzip, Seeds.Tars.Select(s => s.Gzip).ToList());
            tarSize = seed.Tar.Length;
        }
        fuzzCase.Input = gz;
        var dir = Path.Combine(_scratch.Path, fuzzCase.Iteration.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        try
        {
            var archive = Path.Combine(dir, "fuzz.tar.gz");
            await File.WriteAllBytesAsync(archive, gz);
            var venv = Path.Combine(dir, "venv");
            var limits = new ExtractLimits(MaxEntrySize: 1 << 20, seed.UnpackedSize, seed.FileCount, MaxEntries: 1000, tarSize);
            var result = await SafeExtractor.ExtractAsync(archive, venv, Seeds.Manifest(), limits, CancellationToken.None);
            await CheckUnpackedAsync(dir, venv, archive, result, fuzzCase);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>What an accepted archive must have left: its own tree and nothing else, nothing special, nothing outside.</summary>
    private async Task CheckUnpackedAsync(string dir, string venv, string archive, ExtractResult result, FuzzCase fuzzCase)
    {
        var beside = Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        if (!beside.SequenceEqual(["fuzz.tar.gz", "venv"])) throw new OracleFailure($"unpack wrote beside the venv: {string.Join(", ", beside)}");
        var onDisk = new Dictionary<string, FileSystemInfo>(StringComparer.Ordinal);
        Walk(new DirectoryInfo(venv), venv, onDisk);
        var listed = result.Tree.Select(e => e.Path).ToHashSet(StringComparer.Ordinal);
        foreach (var (path, info) in onDisk)
        {
            // A directory the archive does not list is made for the entries below it, and must have some.
            var implicitParent = info is DirectoryInfo && info.LinkTarget is null && listed.Any(p => p.StartsWith(path + "/", StringComparison.Ordinal));
            if (!listed.Contains(path) && !implicitParent) throw new OracleFailure($"'{path}' is on disk but not in the unpacked tree");
            var mode = info.UnixFileMode;
            if (info.LinkTarget is null && (mode & (UnixFileMode.SetUser | UnixFileMode.SetGroup | UnixFileMode.StickyBit | UnixFileMode.OtherWrite)) != 0)
            {
                throw new OracleFailure($"'{path}' has mode {Convert.ToString((int)mode, 8)}");
            }
        }
        foreach (var entry in result.Tree)
        {
            if (!onDisk.TryGetValue(entry.Path, out var info)) throw new OracleFailure($"'{entry.Path}' is in the tree but not on disk");
            var ok = entry.Kind switch
            {
                TreeEntryKind.Directory => info is DirectoryInfo && info.LinkTarget is null,
                TreeEntryKind.Symlink => info.LinkTarget == entry.LinkTarget,
                _ => info is FileInfo file && info.LinkTarget is null && file.Length == entry.Size,
            };
            if (!ok) throw new OracleFailure($"'{entry.Path}' on disk is not the {entry.Kind} the tree records");
            if (entry.Kind == TreeEntryKind.Symlink) CheckStaysInside(venv, entry.Path, entry.LinkTarget!);
        }
        // GNU tar must read the same names from an accepted archive (a sample: a process per input is slow).
        if (_accepted++ % 10 == 0 && !result.Tree.Any(e => e.Path.Any(char.IsControl)))
        {
            // Its exit code is not compared: it also fails on what it reads the same way (blank number fields, say).
            var listing = await fuzzCase.OracleAsync(() => ProcessRunner.RunAsync("tar", ["--quoting-style=literal", "-tzf", archive]));
            var names = listing.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(n => SafeExtractor.Normalize(n, "fuzz.tar.gz")).OfType<string>().ToHashSet(StringComparer.Ordinal);
            if (!names.SetEquals(listed))
            {
                throw new OracleFailure($"GNU tar ({listing.Stderr.Trim()}) lists other names than the installer unpacked: tar [{string.Join(", ", names.Order(StringComparer.Ordinal))}], " +
                    $"installer [{string.Join(", ", listed.Order(StringComparer.Ordinal))}]");
            }
        }
    }

    private static void Walk(DirectoryInfo dir, string root, Dictionary<string, FileSystemInfo> found)
    {
        foreach (var info in dir.EnumerateFileSystemInfos())
        {
            found[Path.GetRelativePath(root, info.FullName)] = info;
            if (info is DirectoryInfo sub && info.LinkTarget is null) Walk(sub, root, found);
        }
    }

    /// <summary>A symlink resolved lexically from its directory stays in the venv; only bin/python* may name the interpreter.</summary>
    private static void CheckStaysInside(string venv, string path, string target)
    {
        if (target.StartsWith('/'))
        {
            if (target != Seeds.Interpreter || !path.StartsWith("bin/python", StringComparison.Ordinal)) throw new OracleFailure($"'{path}' links out to '{target}'");
            return;
        }
        var resolved = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.Combine(venv, path))!, target));
        if (resolved != venv && !resolved.StartsWith(venv + "/", StringComparison.Ordinal)) throw new OracleFailure($"'{path}' -> '{target}' leaves the venv");
    }

    public void Dispose() => _scratch.Dispose();
}
