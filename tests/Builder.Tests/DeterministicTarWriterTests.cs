using OsVenvArtifacts.Builder.Packing;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Builder.Tests;

/// <summary>The artifact's tar writer against the real GNU tar 1.34 over the same files.</summary>
public sealed class DeterministicTarWriterTests
{
    private const long Epoch = 1700000000;

    private enum Kind { Directory, File, Symlink, HardLink }

    private sealed record Spec(string Path, Kind Kind, int Mode = 0, string Data = "", string Target = "");

    private static readonly string Long = new('x', 120);

    /// <summary>Every case where GNU tar's header choices matter: name and link lengths around 100 bytes (UTF-8), block padding, links.</summary>
    private static readonly Spec[] Tree =
    [
        new("bin", Kind.Directory, 0x1ED),
        new("bin/tool", Kind.File, 0x1ED, "#!/bin/sh\necho tool\n"),
        new("bin/python", Kind.Symlink, Target: "/usr/bin/python3.11"),
        new("bin/python3", Kind.Symlink, Target: "python"),
        new("empty", Kind.Directory, 0x1ED),
        new("lib", Kind.Directory, 0x1ED),
        new("lib/" + new string('d', 95), Kind.Directory, 0x1ED),          // 99 bytes + '/' = 100: no long name
        new("lib/" + new string('e', 96), Kind.Directory, 0x1ED),          // 100 bytes + '/' = 101: long name
        new("lib/" + new string('f', 96), Kind.File, 0x1A4, "exactly 100"), // 100 bytes: no long name
        new("lib/" + new string('g', 97), Kind.File, 0x1A4, "101"),         // 101 bytes: long name
        new("lib/" + string.Concat(Enumerable.Repeat("é", 48)), Kind.File, 0x1A4, "100 bytes, 52 chars"),
        new("lib/" + string.Concat(Enumerable.Repeat("é", 49)), Kind.File, 0x1A4, "102 bytes, 53 chars"),
        new("lib/" + Long, Kind.File, 0x1A4, new string('z', 1500)),
        new("lib/" + Long + ".hard", Kind.HardLink, 0x1A4, Target: "lib/" + Long),
        new("lib/big", Kind.File, 0x1A4, new string('b', 10240 + 1)),
        new("lib/empty-file", Kind.File, 0x1A4),
        new("lib/link-100", Kind.Symlink, Target: new string('t', 100)),
        new("lib/link-long", Kind.Symlink, Target: "../" + Long + "/" + Long),
        new("lib/same", Kind.HardLink, 0x1ED, Target: "bin/tool"),
        new("pyvenv.cfg", Kind.File, 0x1A4, "home = /usr/bin\n"),
    ];

    [Fact]
    public async Task Writes_the_same_bytes_as_gnu_tar_1_34()
    {
        using var dir = new TempDirectory("tar-writer");
        var root = dir.Combine("root");
        foreach (var s in Tree)
        {
            var path = Path.Combine(root, s.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            switch (s.Kind)
            {
                case Kind.Directory: Directory.CreateDirectory(path); break;
                case Kind.File: await File.WriteAllTextAsync(path, s.Data); break;
                case Kind.Symlink: File.CreateSymbolicLink(path, s.Target); break;
                case Kind.HardLink:
                    var ln = await ProcessRunner.RunAsync("ln", [Path.Combine(root, s.Target), path]);
                    Assert.True(ln.ExitCode == 0, ln.ToString());
                    break;
            }
            if (s.Kind is Kind.Directory or Kind.File) File.SetUnixFileMode(path, (UnixFileMode)s.Mode);
        }
        var tops = Tree.Select(s => s.Path.Split('/')[0]).Distinct().Order(StringComparer.Ordinal);
        var gnu = await ProcessRunner.RunAsync("tar",
            ["--format=gnu", "--sort=name", "--owner=root:0", "--group=root:0", $"--mtime=@{Epoch}", "-C", root, "-cf", dir.Combine("gnu.tar"), .. tops],
            env: new Dictionary<string, string> { ["LC_ALL"] = "C" });
        Assert.True(gnu.ExitCode == 0, gnu.ToString());

        var ours = dir.Combine("ours.tar");
        await using (var output = File.Create(ours))
        {
            var writer = new DeterministicTarWriter(output, Epoch);
            foreach (var s in Tree.OrderBy(s => s.Path, EntryOrder.Instance))
            {
                switch (s.Kind)
                {
                    case Kind.Directory: await writer.WriteDirectoryAsync(s.Path, (UnixFileMode)s.Mode, CancellationToken.None); break;
                    case Kind.Symlink: await writer.WriteSymlinkAsync(s.Path, s.Target, CancellationToken.None); break;
                    case Kind.HardLink: await writer.WriteHardLinkAsync(s.Path, (UnixFileMode)s.Mode, s.Target, CancellationToken.None); break;
                    default:
                        var data = System.Text.Encoding.UTF8.GetBytes(s.Data);
                        await writer.WriteFileAsync(s.Path, (UnixFileMode)s.Mode, new MemoryStream(data), data.Length, CancellationToken.None);
                        break;
                }
            }
            await writer.FinishAsync(CancellationToken.None);
        }

        var expected = await File.ReadAllBytesAsync(dir.Combine("gnu.tar"));
        var actual = await File.ReadAllBytesAsync(ours);
        var at = expected.AsSpan().CommonPrefixLength(actual);
        Assert.True(at == expected.Length && at == actual.Length,
            $"GNU tar wrote {expected.Length} bytes, we wrote {actual.Length}; first difference at byte {at} " +
            $"(block {at / 512}, header offset {at % 512}): GNU tar {Show(expected, at)}, ours {Show(actual, at)}");
        Assert.Equal(0, actual.Length % 10240);
    }

    private static string Show(byte[] bytes, int at) =>
        at >= bytes.Length ? "<end>" : Convert.ToHexString(bytes, at, Math.Min(16, bytes.Length - at));

    [Fact]
    public async Task Refuses_a_file_the_octal_size_field_cannot_hold()
    {
        var writer = new DeterministicTarWriter(Stream.Null, Epoch);

        var e = await Assert.ThrowsAsync<BuilderException>(() =>
            writer.WriteFileAsync("lib/huge.bin", (UnixFileMode)0x1A4, Stream.Null, 8L << 30, CancellationToken.None));

        Assert.Equal("OSVA-B031", e.Code);
        Assert.Contains("lib/huge.bin", e.Message, StringComparison.Ordinal);
        await writer.WriteFileAsync("lib/fits.bin", (UnixFileMode)0x1A4, new MemoryStream(new byte[3]), 3, CancellationToken.None);
    }

    [Fact]
    public async Task Refuses_data_shorter_than_the_size_it_announced()
    {
        var writer = new DeterministicTarWriter(Stream.Null, Epoch);

        await Assert.ThrowsAsync<EndOfStreamException>(() =>
            writer.WriteFileAsync("lib/short", (UnixFileMode)0x1A4, new MemoryStream(new byte[3]), 4, CancellationToken.None));
    }
}
