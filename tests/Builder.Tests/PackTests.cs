using System.Text;
using System.Text.Json;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Builder.Packing;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Builder.Tests;

/// <summary>
/// The block-parallel gzip and <c>osva-build pack DIR</c>: the same bytes for any thread count, one gzip member that
/// gzip, GNU tar, bsdtar and Python read, the same archive as the build path gives, and the build's refusals.
/// </summary>
public sealed class PackTests
{
    private const string InstallPath = "/openstack/venvs/demo-1.0.0";
    private const string Interpreter = "/usr/bin/python3.11";
    private const long Epoch = 1700000000;

    /// <summary>Text that compresses about as well as Python sources: words drawn from a fixed seed.</summary>
    private static byte[] Text(int length, int seed)
    {
        string[] words = ["def", "import", "self", "return", "nova", "compute", "(", ")", ":", "\n    ", "None", "if", "else", "_", "=", "0x1f"];
        var random = new Random(seed);
        var s = new StringBuilder(length + 16);
        while (s.Length < length) s.Append(words[random.Next(words.Length)]).Append(' ');
        return Encoding.ASCII.GetBytes(s.ToString(0, length));
    }

    /// <summary>A venv-like tree over several 1 MiB blocks: long names, a hard link, a dot file, an empty folder, the interpreter link.</summary>
    private static string MakeTree(TempDirectory dir)
    {
        var root = dir.Combine("demo-1.0.0");
        var site = Path.Combine(root, "lib", "python3.11", "site-packages");
        Directory.CreateDirectory(Path.Combine(site, "pkg", new string('d', 90), "sub"));
        Directory.CreateDirectory(Path.Combine(root, "bin"));
        Directory.CreateDirectory(Path.Combine(root, "include"));
        File.CreateSymbolicLink(Path.Combine(root, "bin", "python"), Interpreter);
        File.CreateSymbolicLink(Path.Combine(root, "bin", "python3"), "python");
        File.CreateSymbolicLink(Path.Combine(root, "lib64"), "lib");
        File.WriteAllText(Path.Combine(root, "bin", "tool"), $"#!{InstallPath}/bin/python\nprint('hi')\n");
        File.SetUnixFileMode(Path.Combine(root, "bin", "tool"), (UnixFileMode)0x1ED);
        File.WriteAllText(Path.Combine(root, "pyvenv.cfg"), "home = /usr/bin\n");
        File.WriteAllText(Path.Combine(site, "pkg", ".hidden"), "dot files are venv files too\n");
        File.WriteAllBytes(Path.Combine(site, "pkg", "__init__.py"), Text(2_700_000, 1));
        File.WriteAllBytes(Path.Combine(site, "pkg", new string('d', 90), "sub", new string('f', 60) + ".py"), Text(900_000, 2));
        File.WriteAllBytes(Path.Combine(site, "pkg", "data.bin"), RandomBytes(600_000));
        var ln = System.Diagnostics.Process.Start("ln", [Path.Combine(site, "pkg", "__init__.py"), Path.Combine(site, "pkg", "copy.py")]);
        ln.WaitForExit();
        Assert.Equal(0, ln.ExitCode);
        return root;
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        new Random(7).NextBytes(bytes);
        return bytes;
    }

    private static async Task<(byte[] Bytes, PackResult Result)> PackDirectoryAsync(string root, int threads)
    {
        await using var packer = VenvPacker.FromDirectory(root, Interpreter, CancellationToken.None);
        using var output = new MemoryStream();
        var result = await packer.WriteAsync(output, Epoch, threads, CancellationToken.None);
        return (output.ToArray(), result);
    }

    private static async Task<byte[]> GzipAsync(byte[] input, int threads)
    {
        using var output = new MemoryStream();
        await using (var gzip = new ParallelGzipStream(output, threads))
        {
            // Odd write sizes, so block cuts never line up with writes.
            for (var offset = 0; offset < input.Length; offset += 77_777)
            {
                await gzip.WriteAsync(input.AsMemory(offset, Math.Min(77_777, input.Length - offset)));
            }
            await gzip.CompleteAsync(CancellationToken.None);
        }
        return output.ToArray();
    }

    /// <summary>Decompresses with Python's zlib and checks that the data is exactly one gzip member.</summary>
    private static async Task<string> SingleMemberAsync(string file)
    {
        var r = await ProcessRunner.RunAsync("python3", ["-c", """
            import hashlib, sys, zlib
            data = open(sys.argv[1], 'rb').read()
            d = zlib.decompressobj(31)
            out = d.decompress(data)
            print(d.eof, len(d.unused_data), len(out), hashlib.sha256(out).hexdigest())
            """, file]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout.Trim();
    }

    [Theory]
    [InlineData(0, "empty input: only the final block")]
    [InlineData(1, "less than one block")]
    [InlineData(ParallelGzipStream.BlockSize, "exactly one block: no empty block after it")]
    [InlineData(ParallelGzipStream.BlockSize + 1, "one byte into the second block")]
    [InlineData(3 * ParallelGzipStream.BlockSize + 12_345, "several blocks, the last one short")]
    public async Task Gzip_is_one_member_the_same_for_1_2_and_16_threads_and_gzip_reads_it(int length, string reason)
    {
        using var dir = new TempDirectory("bt-pgz");
        var input = Text(length, 3);

        var one = await GzipAsync(input, 1);
        var two = await GzipAsync(input, 2);
        var sixteen = await GzipAsync(input, 16);

        Assert.True(one.AsSpan().SequenceEqual(two) && one.AsSpan().SequenceEqual(sixteen), reason);
        var file = dir.Combine("x.gz");
        await File.WriteAllBytesAsync(file, one);
        var test = await ProcessRunner.RunAsync("gzip", ["-t", file]);
        Assert.True(test.ExitCode == 0, $"{reason}: {test}");
        var unzipped = await ProcessRunner.RunAsync("sh", ["-c", "gzip -dc \"$1\" | sha256sum", "sh", file]);
        Assert.Equal(Sha256.Of(input), unzipped.Stdout.Split(' ')[0]);
        Assert.Equal($"True 0 {length} {Sha256.Of(input)}", await SingleMemberAsync(file));
        Assert.Equal([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03], one[..10]);
    }

    [Fact]
    public async Task Blocks_are_deflated_independently_so_a_repeated_block_repeats_its_bytes()
    {
        // Two identical blocks compress to the same bytes only when neither sees the other's data.
        var block = Text(ParallelGzipStream.BlockSize, 4);
        var gz = await GzipAsync([.. block, .. block, .. Text(1000, 5)], 2);

        var body = gz.AsSpan(10);
        var half = FindRepeat(body);

        Assert.True(half > 1000, "the first two blocks' deflate output should be the same bytes twice");
        Assert.Equal([0x00, 0x00, 0xff, 0xff], body.Slice(half - 4, 4).ToArray());
    }

    /// <summary>The length n such that body[0..n] == body[n..2n], searched near the sync-flush markers.</summary>
    private static int FindRepeat(ReadOnlySpan<byte> body)
    {
        ReadOnlySpan<byte> marker = [0x00, 0x00, 0xff, 0xff];
        for (var i = body.IndexOf(marker); i >= 0 && i < body.Length; )
        {
            var n = i + 4;
            if (2 * n <= body.Length && body[..n].SequenceEqual(body.Slice(n, n))) return n;
            var next = body[(i + 1)..].IndexOf(marker);
            if (next < 0) break;
            i += 1 + next;
        }
        return -1;
    }

    [Fact]
    public async Task Packing_a_directory_gives_the_same_bytes_for_1_2_and_16_threads_and_over_one_block()
    {
        using var dir = new TempDirectory("bt-pack-threads");
        var root = MakeTree(dir);

        var (one, r1) = await PackDirectoryAsync(root, 1);
        var (two, r2) = await PackDirectoryAsync(root, 2);
        var (sixteen, r16) = await PackDirectoryAsync(root, 16);

        Assert.True(r1.TarSize > 3 * ParallelGzipStream.BlockSize, $"tar of {r1.TarSize} bytes should span several blocks");
        Assert.Equal(one, two);
        Assert.Equal(one, sixteen);
        Assert.Equal(r1, r2);
        Assert.Equal(r1, r16);
        Assert.Equal(Sha256.Of(one), r1.Sha256);
    }

    [Fact]
    public async Task Packing_a_directory_gives_the_bytes_packing_the_engines_tar_of_it_gives()
    {
        using var dir = new TempDirectory("bt-pack-same");
        var root = MakeTree(dir);
        var engineTar = dir.Combine("engine.tar");
        // GNU tar as the engine's archive API writes it: entries named after the venv folder, hard links as links.
        var tar = await ProcessRunner.RunAsync("tar", ["-C", dir.Path, "-cf", engineTar, "demo-1.0.0"]);
        Assert.True(tar.ExitCode == 0, tar.ToString());

        var (fromDirectory, rd) = await PackDirectoryAsync(root, 2);
        byte[] fromEngine;
        PackResult re;
        await using (var stream = File.OpenRead(engineTar))
        await using (var packer = await VenvPacker.SpoolAsync(stream, InstallPath, Interpreter, CancellationToken.None))
        {
            using var output = new MemoryStream();
            re = await packer.WriteAsync(output, Epoch, 2, CancellationToken.None);
            fromEngine = output.ToArray();
        }

        Assert.Equal(re, rd);
        Assert.Equal(fromEngine, fromDirectory);
    }

    [Fact]
    public async Task Gnu_tar_bsdtar_python_and_dotnet_read_the_multi_block_archive_alike()
    {
        using var dir = new TempDirectory("bt-pack-readers");
        var root = MakeTree(dir);
        var (bytes, result) = await PackDirectoryAsync(root, 2);
        var file = dir.Combine("demo.tar.gz");
        await File.WriteAllBytesAsync(file, bytes);

        var comparison = ArchiveListings.Compare(await ArchiveListings.ListAllAsync(file));
        Assert.True(comparison.Same, comparison.ToString());
        Assert.Equal($"True 0 {result.TarSize} {result.TarSha256}", await SingleMemberAsync(file));
        // Each tool through its own gzip reader, not only the tar that gzip -d gave the listing above.
        var names = comparison.EntriesByReader.Values.First();
        foreach (var (tool, args) in new[] { ("tar", new[] { "-tzf", file }), ("bsdtar", ["-tzf", file]),
            ("python3", ["-c", "import sys, tarfile; [print(n) for n in tarfile.open(sys.argv[1], 'r:gz').getnames()]", file]) })
        {
            var r = await ProcessRunner.RunAsync(tool, args);
            Assert.True(r.ExitCode == 0, $"{tool}: {r}");
            Assert.Equal(names, r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
    }

    [Fact]
    public async Task Pack_command_writes_the_archive_gnu_tar_recreates_from_the_tree_and_prints_the_manifest_fields()
    {
        using var dir = new TempDirectory("bt-pack-cli");
        var root = MakeTree(dir);
        File.Delete(Path.Combine(root, "lib", "python3.11", "site-packages", "pkg", "copy.py")); // GNU tar would store it as a hard link
        var outFile = dir.Combine("out", "demo.tar.gz");
        Directory.CreateDirectory(dir.Combine("out"));

        var r = await BuildTool.RunAsync(["pack", root, "--install-path", InstallPath, "--out", outFile, "--source-date-epoch", $"{Epoch}", "--threads", "2", "--json"]);

        Assert.True(r.ExitCode == 0, r.ToString());
        using var json = JsonDocument.Parse(r.Stdout);
        var archive = json.RootElement.GetProperty("archive");
        Assert.Equal(await Sha256.OfFileAsync(outFile, CancellationToken.None), archive.GetProperty("sha256").GetString());
        Assert.Equal(new FileInfo(outFile).Length, archive.GetProperty("size").GetInt64());
        Assert.Equal(InstallPath, json.RootElement.GetProperty("installPath").GetString());
        Assert.Equal(Interpreter, json.RootElement.GetProperty("platform").GetProperty("pythonPath").GetString());
        Assert.Equal(Epoch, json.RootElement.GetProperty("sourceDateEpoch").GetInt64());
        Assert.StartsWith("sha256:", json.RootElement.GetProperty("treeHash").GetString(), StringComparison.Ordinal);
        Assert.Equal(["demo.tar.gz"], Directory.GetFileSystemEntries(dir.Combine("out")).Select(Path.GetFileName));
        // The check docs/artifact-format.md gives anyone: GNU tar makes the same tar from the tree.
        var gnu = await ProcessRunner.RunAsync("sh", ["-c",
            $"cd \"$1\" && tar --format=gnu --sort=name --owner=root:0 --group=root:0 --mtime=@{Epoch} -cf - $(LC_ALL=C ls -A) | sha256sum", "sh", root]);
        Assert.Equal(archive.GetProperty("tarSha256").GetString(), gnu.Stdout.Split(' ')[0]);
        var unzipped = await ProcessRunner.RunAsync("sh", ["-c", "gzip -dc \"$1\" | wc -c", "sh", outFile]);
        Assert.Equal(archive.GetProperty("tarSize").GetInt64(), long.Parse(unzipped.Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("lib/escape", "../../etc", "a relative link that climbs out of the venv")]
    [InlineData("bin/evil", "/etc/passwd", "an absolute link other than bin/python")]
    [InlineData("fifo", null, "a FIFO: a venv holds only directories, files and symlinks")]
    public async Task Pack_command_refuses_an_unsafe_tree_and_leaves_no_file(string entry, string? linkTarget, string reason)
    {
        using var dir = new TempDirectory("bt-pack-refuse");
        var root = MakeTree(dir);
        var path = Path.Combine(root, entry);
        if (linkTarget is not null) File.CreateSymbolicLink(path, linkTarget);
        else Assert.Equal(0, (await ProcessRunner.RunAsync("mkfifo", [path])).ExitCode);
        var outFile = dir.Combine("demo.tar.gz");

        var r = await BuildTool.RunAsync(["pack", root, "--install-path", InstallPath, "--out", outFile]);

        Assert.True(r.ExitCode == (int)ExitCode.BuildFailed, $"{reason}: {r}");
        Assert.Contains("OSVA-B030", r.Stderr, StringComparison.Ordinal);
        Assert.Contains(entry, r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.GetFiles(dir.Path), f => f.EndsWith(".tar.gz", StringComparison.Ordinal) || f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Pack_command_refuses_a_relative_install_path_as_invalid_input()
    {
        using var dir = new TempDirectory("bt-pack-input");
        var root = MakeTree(dir);

        var r = await BuildTool.RunAsync(["pack", root, "--install-path", "openstack/venvs/demo", "--out", dir.Combine("x.tar.gz")]);

        Assert.True(r.ExitCode == (int)ExitCode.InvalidInput, r.ToString());
        Assert.Contains("OSVA-B090", r.Stderr, StringComparison.Ordinal);
    }
}
