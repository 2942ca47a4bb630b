using System.Formats.Tar;
using System.IO.Compression;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Builder.Packing;

namespace OsVenvArtifacts.Builder.Tests;

/// <summary>Packing from engine-style tars generated here (the engine's entries are named after the venv folder).</summary>
public sealed class VenvPackerTests
{
    private const string InstallPath = "/openstack/venvs/demo-1.0.0";
    private const string Interpreter = "/usr/bin/python3.11";

    /// <summary>An engine tar with deliberately messy metadata: unsorted, owners, mtimes, odd modes.</summary>
    private static MemoryStream EngineTar(DateTimeOffset mtime, int uid, params (string Name, TarEntryType Type, string? Data, string? Link)[] extra)
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            (string, TarEntryType, string?, string?)[] entries =
            [
                ("demo-1.0.0/", TarEntryType.Directory, null, null),
                ("demo-1.0.0/lib/", TarEntryType.Directory, null, null),
                ("demo-1.0.0/lib/python3.11/site-packages/z.py", TarEntryType.RegularFile, "z = 1\n", null),
                ("demo-1.0.0/bin/", TarEntryType.Directory, null, null),
                ("demo-1.0.0/bin/osva-hello", TarEntryType.RegularFile, "#!/openstack/venvs/demo-1.0.0/bin/python\n", null),
                ("demo-1.0.0/bin/python", TarEntryType.SymbolicLink, null, Interpreter),
                ("demo-1.0.0/bin/python3", TarEntryType.SymbolicLink, null, "python"),
                ("demo-1.0.0/lib/python3.11/", TarEntryType.Directory, null, null),
                ("demo-1.0.0/lib/python3.11/site-packages/", TarEntryType.Directory, null, null),
                ("demo-1.0.0/lib/python3.11/site-packages/a-1.0.dist-info/", TarEntryType.Directory, null, null),
                ("demo-1.0.0/lib/python3.11/site-packages/a/", TarEntryType.Directory, null, null),
                ("demo-1.0.0/lib/python3.11/site-packages/a/__init__.py", TarEntryType.RegularFile, "", null),
                ("demo-1.0.0/lib64", TarEntryType.SymbolicLink, null, "lib"),
                .. extra,
            ];
            foreach (var (name, type, data, link) in entries)
            {
                var entry = new PaxTarEntry(type, name)
                {
                    ModificationTime = mtime,
                    Uid = uid,
                    Gid = uid,
                    UserName = "builder",
                    Mode = name.EndsWith("osva-hello", StringComparison.Ordinal) ? (UnixFileMode)0x1F8 : (UnixFileMode)0x1B4,
                };
                if (link is not null) entry.LinkName = link;
                if (data is not null) entry.DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(data));
                writer.WriteEntry(entry);
            }
        }
        stream.Position = 0;
        return stream;
    }

    private static async Task<(byte[] Bytes, PackResult Result)> PackAsync(MemoryStream engineTar)
    {
        await using var packer = await VenvPacker.SpoolAsync(engineTar, InstallPath, Interpreter, CancellationToken.None);
        var output = new MemoryStream();
        var result = await packer.WriteAsync(output, 1700000000, CancellationToken.None);
        return (output.ToArray(), result);
    }

    [Fact]
    public async Task Packing_the_same_tree_with_different_owners_and_mtimes_gives_identical_bytes()
    {
        var (a, ra) = await PackAsync(EngineTar(DateTimeOffset.UtcNow, 1000));
        var (b, rb) = await PackAsync(EngineTar(DateTimeOffset.UnixEpoch.AddDays(3), 0));

        Assert.Equal(a, b);
        Assert.Equal(ra, rb);
        Assert.Equal(Sha256.Of(a), ra.Sha256);
        Assert.Equal(a.Length, ra.Size);
    }

    [Fact]
    public async Task Archive_entries_are_relative_sorted_and_normalized()
    {
        var (bytes, result) = await PackAsync(EngineTar(DateTimeOffset.UtcNow, 1000));

        // gzip header: no FNAME flag, mtime 0.
        Assert.Equal([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00], bytes[..8]);
        var names = new List<string>();
        using var tarStream = new MemoryStream();
        await using (var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress)) await gzip.CopyToAsync(tarStream);
        Assert.Equal(result.TarSha256, Sha256.Of(tarStream.ToArray()));
        tarStream.Position = 0;
        await using var reader = new TarReader(tarStream);
        while (await reader.GetNextEntryAsync() is { } e)
        {
            names.Add(e.Name);
            Assert.Equal(1700000000, e.ModificationTime.ToUnixTimeSeconds());
            Assert.Equal(0, e.Uid);
            Assert.Equal(0, e.Gid);
            Assert.Equal("root", ((PosixTarEntry)e).UserName);
            Assert.Equal("root", ((PosixTarEntry)e).GroupName);
            var expected = e.EntryType switch
            {
                TarEntryType.Directory => 0x1ED,
                TarEntryType.SymbolicLink => 0x1FF,
                _ => e.Name == "bin/osva-hello" ? 0x1ED : 0x1A4,
            };
            Assert.Equal(expected, (int)e.Mode);
        }
        Assert.Equal(
        [
            "bin/", "bin/osva-hello", "bin/python", "bin/python3", "lib/", "lib/python3.11/", "lib/python3.11/site-packages/",
            "lib/python3.11/site-packages/a/", "lib/python3.11/site-packages/a/__init__.py", "lib/python3.11/site-packages/a-1.0.dist-info/",
            "lib/python3.11/site-packages/z.py", "lib64",
        ], names);
        Assert.Equal(6, result.FileCount);
        Assert.StartsWith("sha256:", result.TreeHash, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("demo-1.0.0/bin/evil", "/etc/passwd", "an absolute link other than bin/python")]
    [InlineData("demo-1.0.0/bin/python3.11", "/usr/bin/python3.11", "only bin/python may point at the interpreter")]
    [InlineData("demo-1.0.0/lib/escape", "../../../etc", "a relative link that climbs out of the venv")]
    [InlineData("demo-1.0.0/lib/deep", "python3.11/../../..", "a link that climbs out through a later '..'")]
    public async Task Packing_refuses_symlinks_leaving_the_venv(string name, string target, string reason)
    {
        var tar = EngineTar(DateTimeOffset.UtcNow, 0, (name, TarEntryType.SymbolicLink, null, target));

        var e = await Assert.ThrowsAsync<BuilderException>(() => PackAsync(tar));

        Assert.True(e.Message.Contains(name["demo-1.0.0/".Length..], StringComparison.Ordinal), reason);
        Assert.Equal("OSVA-B030", e.Code);
    }

    [Fact]
    public async Task Packing_refuses_bin_python_pointing_at_another_interpreter()
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "demo-1.0.0/bin/"));
            writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "demo-1.0.0/bin/python") { LinkName = "/usr/local/bin/python3" });
        }
        stream.Position = 0;

        var e = await Assert.ThrowsAsync<BuilderException>(() => PackAsync(stream));

        Assert.Contains("/usr/bin/python3.11", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("other/file", "an entry outside the venv folder")]
    [InlineData("demo-1.0.0/../x", "an entry climbing out with '..'")]
    public async Task Packing_refuses_entries_outside_the_venv(string name, string reason)
    {
        var tar = EngineTar(DateTimeOffset.UtcNow, 0, (name, TarEntryType.RegularFile, "x", null));

        var e = await Assert.ThrowsAsync<BuilderException>(() => PackAsync(tar));

        Assert.True(e.Code == "OSVA-B030", reason);
    }

    [Fact]
    public async Task Diff_names_the_entry_that_differs()
    {
        using var dir = new TestSupport.TempDirectory("bt-diff");
        var (a, _) = await PackAsync(EngineTar(DateTimeOffset.UtcNow, 0));
        var (b, _) = await PackAsync(EngineTar(DateTimeOffset.UtcNow, 0, ("demo-1.0.0/lib/extra.py", TarEntryType.RegularFile, "x", null)));
        await File.WriteAllBytesAsync(dir.Combine("a.tar.gz"), a);
        await File.WriteAllBytesAsync(dir.Combine("b.tar.gz"), b);

        var differences = await ArchiveDiff.CompareAsync(dir.Combine("a.tar.gz"), dir.Combine("b.tar.gz"), 10, CancellationToken.None);
        var same = await ArchiveDiff.CompareAsync(dir.Combine("a.tar.gz"), dir.Combine("a.tar.gz"), 10, CancellationToken.None);

        Assert.Equal("only in B: lib/extra.py", Assert.Single(differences));
        Assert.Empty(same);
    }
}
