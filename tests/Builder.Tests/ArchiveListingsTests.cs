using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using OsVenvArtifacts.Builder.Packing;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Builder.Tests;

/// <summary>The four-reader listing the build tests check every artifact with, and proof that it catches a disagreement.</summary>
public sealed class ArchiveListingsTests
{
    private const long Epoch = 1700000000;
    private static readonly string LongName = "lib/python3.11/site-packages/" + new string('n', 90) + ".py";
    private static readonly string LongTarget = "../" + new string('t', 110);

    [Fact]
    public async Task Every_reader_lists_our_gnu_tar_alike()
    {
        using var dir = new TempDirectory("listings");
        var archive = dir.Combine("ours.tar.gz");
        await using (var file = File.Create(archive))
        await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        {
            var writer = new DeterministicTarWriter(gzip, Epoch);
            await writer.WriteDirectoryAsync("bin", (UnixFileMode)0x1ED, CancellationToken.None);
            await WriteFileAsync(writer, "bin/tool", 0x1ED, "#!/bin/sh\n");
            await writer.WriteSymlinkAsync("bin/python", "/usr/bin/python3.11", CancellationToken.None);
            await writer.WriteDirectoryAsync("lib", (UnixFileMode)0x1ED, CancellationToken.None);
            await WriteFileAsync(writer, LongName, 0x1A4, "x = 1\n");
            await writer.WriteSymlinkAsync("lib/far", LongTarget, CancellationToken.None);
            await writer.WriteHardLinkAsync("lib/same", (UnixFileMode)0x1ED, "bin/tool", CancellationToken.None);
            await WriteFileAsync(writer, "lib/\u00e9t\u00e9 a b", 0x1A4, "");
            await writer.FinishAsync(CancellationToken.None);
        }

        var listings = await ArchiveListings.ListAllAsync(archive);
        var comparison = ArchiveListings.Compare(listings);

        Assert.True(comparison.Same, comparison.ToString());
        Assert.Equal(["GNU tar", "bsdtar"], listings.Take(2).Select(l => l.Reader));
        Assert.Equal(".NET TarReader", listings[^1].Reader);
        Assert.Contains(listings, l => l.Reader.StartsWith("Python 3.11.", StringComparison.Ordinal));
        Assert.Equal(File.Exists(ArchiveListings.Pythons[0]), listings.Any(l => l.Reader == "Python 3.12.1 tarfile (filter=tar)"));
        Assert.Equal(
        [
            new ArchiveRecord("bin", "dir", 0x1ED, 0, 0, "root", "root", 0, ""),
            new ArchiveRecord("bin/tool", "file", 0x1ED, 0, 0, "root", "root", 10, ""),
            new ArchiveRecord("bin/python", "symlink", 0x1FF, 0, 0, "root", "root", 0, "/usr/bin/python3.11"),
            new ArchiveRecord("lib", "dir", 0x1ED, 0, 0, "root", "root", 0, ""),
            new ArchiveRecord(LongName, "file", 0x1A4, 0, 0, "root", "root", 6, ""),
            new ArchiveRecord("lib/far", "symlink", 0x1FF, 0, 0, "root", "root", 0, LongTarget),
            new ArchiveRecord("lib/same", "hardlink", 0x1ED, 0, 0, "root", "root", 0, "bin/tool"),
            new ArchiveRecord("lib/\u00e9t\u00e9 a b", "file", 0x1A4, 0, 0, "root", "root", 0, ""),
        ], listings[0].Records);
    }

    /// <summary>What the artifact writer replaced: .NET's GNU headers with atime/ctime filled, which Python reads as a name prefix.</summary>
    [Fact]
    public async Task Comparison_fails_when_python_misreads_dotnet_gnu_headers()
    {
        using var dir = new TempDirectory("listings");
        var archive = dir.Combine("dotnet-gnu.tar");
        var mtime = DateTimeOffset.FromUnixTimeSeconds(Epoch);
        await using (var file = File.Create(archive))
        await using (var writer = new TarWriter(file, TarEntryFormat.Gnu))
        {
            foreach (var (name, type) in new[] { ("bin/", TarEntryType.Directory), ("bin/tool", TarEntryType.RegularFile), (LongName, TarEntryType.RegularFile) })
            {
                var entry = new GnuTarEntry(type, name) { Mode = (UnixFileMode)0x1ED, ModificationTime = mtime, AccessTime = mtime, ChangeTime = mtime };
                if (type == TarEntryType.RegularFile) entry.DataStream = new MemoryStream("x"u8.ToArray());
                await writer.WriteEntryAsync(entry);
            }
        }

        var comparison = await ArchiveListings.CompareAllAsync(archive);

        Assert.False(comparison.Same);
        // The two short names come out prefixed with the octal atime; the long name, read from its LongLink record, does not.
        foreach (var (reader, differing) in comparison.DifferingByReader)
        {
            Assert.True(differing == (reader.StartsWith("Python", StringComparison.Ordinal) ? 2 : 0), comparison.ToString());
        }
        Assert.All(comparison.DifferingByReader.Keys.Where(r => r.StartsWith("Python", StringComparison.Ordinal)), reader =>
            Assert.Contains($"entry 0: GNU tar reads dir 755 0/0 ''/'' 0 bin; {reader} reads dir 755 0/0 ''/'' 0 14524770400/bin", comparison.FirstDifferences));
    }

    [Fact]
    public void Comparison_counts_a_missing_entry_and_each_differing_field()
    {
        var a = new ArchiveRecord("a", "file", 0x1A4, 0, 0, "root", "root", 1, "");
        var b = a with { Name = "b" };
        ArchiveListing[] listings =
        [
            new("one", [a, b]),
            new("two", [a]),
            new("three", [a, b with { UserName = "" }]),
        ];

        var comparison = ArchiveListings.Compare(listings);

        Assert.Equal(new Dictionary<string, int> { ["one"] = 0, ["two"] = 1, ["three"] = 1 }, comparison.DifferingByReader);
        Assert.Equal(["two lists 1 entries, one 2", "entry 1: one reads file 644 0/0 'root'/'root' 1 b; three reads file 644 0/0 ''/'root' 1 b"],
            comparison.FirstDifferences);
    }

    private static async Task WriteFileAsync(DeterministicTarWriter writer, string path, int mode, string text)
    {
        var data = Encoding.UTF8.GetBytes(text);
        await writer.WriteFileAsync(path, (UnixFileMode)mode, new MemoryStream(data), data.Length, CancellationToken.None);
    }
}
