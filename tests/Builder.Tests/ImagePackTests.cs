using System.Text.Json;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Builder.Packing;
using OsVenvArtifacts.Builder.Release;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Builder.Tests;

/// <summary>
/// Image mode on the builder side: <c>osva-build pack --image</c> writes a squashfs of exactly the tarball's tree, the same
/// bytes every time, that unsquashfs reads back as root-owned entries with the fixed time; and the release's <c>formats</c>.
/// </summary>
public sealed class ImagePackTests
{
    private const string InstallPath = "/openstack/venvs/demo-1.0.0";
    private const string Interpreter = "/usr/bin/python3.11";
    private const long Epoch = 1700000000;

    private static string MakeTree(TempDirectory dir, string name)
    {
        var root = dir.Combine(name);
        var site = Path.Combine(root, "lib", "python3.11", "site-packages", "pkg");
        Directory.CreateDirectory(site);
        Directory.CreateDirectory(Path.Combine(root, "bin"));
        Directory.CreateDirectory(Path.Combine(root, "include"));
        File.CreateSymbolicLink(Path.Combine(root, "bin", "python"), Interpreter);
        File.CreateSymbolicLink(Path.Combine(root, "bin", "python3"), "python");
        File.WriteAllText(Path.Combine(root, "bin", "tool"), $"#!{InstallPath}/bin/python\nprint('hi')\n");
        File.SetUnixFileMode(Path.Combine(root, "bin", "tool"), (UnixFileMode)0x1ED);
        File.WriteAllText(Path.Combine(root, "pyvenv.cfg"), "home = /usr/bin\n");
        var random = new Random(3);
        var data = new byte[700_000];
        random.NextBytes(data);
        File.WriteAllBytes(Path.Combine(site, "data.bin"), data);
        File.WriteAllText(Path.Combine(site, "__init__.py"), string.Concat(Enumerable.Repeat("import os\n", 50_000)));
        return root;
    }

    private static async Task<JsonElement> PackAsync(string root, string outDir)
    {
        Directory.CreateDirectory(outDir);
        var r = await BuildTool.RunAsync(["pack", root, "--install-path", InstallPath, "--out", Path.Combine(outDir, "demo.tar.gz"),
            "--image", Path.Combine(outDir, "demo.squashfs"), "--source-date-epoch", $"{Epoch}", "--json"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return JsonDocument.Parse(r.Stdout).RootElement.Clone();
    }

    [Fact]
    public async Task Pack_with_image_twice_from_trees_made_in_different_orders_gives_identical_image_bytes_that_unsquashfs_reads()
    {
        using var dir = new TempDirectory("bt-image");
        var first = MakeTree(dir, "a");
        var second = MakeTree(dir, "b");
        // Another creation order and other times and modes on disk than the first tree: none of it may reach the image.
        File.Delete(Path.Combine(second, "pyvenv.cfg"));
        File.WriteAllText(Path.Combine(second, "pyvenv.cfg"), "home = /usr/bin\n");
        File.SetLastWriteTimeUtc(Path.Combine(second, "bin", "tool"), new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        File.SetUnixFileMode(Path.Combine(second, "include"), (UnixFileMode)0x1FF);

        var one = await PackAsync(first, dir.Combine("out1"));
        var two = await PackAsync(second, dir.Combine("out2"));

        var image1 = dir.Combine("out1", "demo.squashfs");
        var image2 = dir.Combine("out2", "demo.squashfs");
        Assert.Equal(await File.ReadAllBytesAsync(image1), await File.ReadAllBytesAsync(image2));
        var image = one.GetProperty("image");
        Assert.Equal(await Sha256.OfFileAsync(image1, CancellationToken.None), image.GetProperty("sha256").GetString());
        Assert.Equal(new FileInfo(image1).Length, image.GetProperty("size").GetInt64());
        Assert.Equal("squashfs", image.GetProperty("format").GetString());
        Assert.Equal("demo.squashfs", image.GetProperty("fileName").GetString());
        Assert.Equal(one.GetProperty("archive").GetProperty("sha256").GetString(), two.GetProperty("archive").GetProperty("sha256").GetString());

        // unsquashfs reads it: the tarball's entries, owned by root, every time the epoch, modes normalized, the link kept.
        var listing = await ProcessRunner.RunAsync("unsquashfs", ["-lln", "-UTC", image1]);
        Assert.True(listing.ExitCode == 0, listing.ToString());
        var lines = listing.Stdout.Split('\n').Where(l => l.Contains("squashfs-root", StringComparison.Ordinal)).ToList();
        var tar = await ProcessRunner.RunAsync("tar", ["-tzf", dir.Combine("out1", "demo.tar.gz")]);
        Assert.Equal(tar.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(n => n.TrimEnd('/')).Order(StringComparer.Ordinal),
            lines.Select(l => l[(l.IndexOf("squashfs-root", StringComparison.Ordinal) + "squashfs-root".Length)..].TrimStart('/').Split(" -> ")[0])
                .Where(n => n.Length > 0).Order(StringComparer.Ordinal));
        Assert.All(lines, l => Assert.Contains(" 0/0 ", l, StringComparison.Ordinal));
        Assert.All(lines, l => Assert.Contains("2023-11-14 22:13", l, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("drwxr-xr-x", StringComparison.Ordinal) && l.EndsWith("/include", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("/bin/python -> /usr/bin/python3.11", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("-rwxr-xr-x", StringComparison.Ordinal) && l.EndsWith("/bin/tool", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Pack_refuses_an_unsafe_tree_before_any_image_is_written()
    {
        using var dir = new TempDirectory("bt-image-refuse");
        var root = MakeTree(dir, "a");
        File.CreateSymbolicLink(Path.Combine(root, "lib", "escape"), "../../etc");

        var r = await BuildTool.RunAsync(["pack", root, "--install-path", InstallPath, "--out", dir.Combine("demo.tar.gz"), "--image", dir.Combine("demo.squashfs")]);

        Assert.True(r.ExitCode == (int)ExitCode.BuildFailed, r.ToString());
        Assert.Contains("OSVA-B030", r.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.Combine("demo.squashfs")));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path, ".*"));
    }

    [Theory]
    [InlineData("formats: [tarball, image]", true)]
    [InlineData("formats: [tarball]", false)]
    [InlineData("", false)]
    public void Release_formats_ask_for_the_image_beside_the_tarball(string formats, bool image)
    {
        using var dir = new TempDirectory("bt-image-release");
        Directory.CreateDirectory(dir.Combine("wheels"));
        var release = ReleaseParser.Parse($"defaults:\n  wheelhouse: ./wheels\n  {formats}\nservices:\n  - name: a\n    tag: '1'\n    requirements: [x]\n", dir.Combine("r.yaml"));

        Assert.Equal(image, release.Services[0].Image);
    }

    [Theory]
    [InlineData("formats: [image]", "an image alone: the tarball is what every host can install")]
    [InlineData("formats: [tarball, erofs]", "a format osva does not write")]
    public void Release_formats_without_the_tarball_or_with_an_unknown_format_are_refused(string formats, string reason)
    {
        using var dir = new TempDirectory("bt-image-release");
        Directory.CreateDirectory(dir.Combine("wheels"));

        var e = Assert.Throws<BuilderException>(() =>
            ReleaseParser.Parse($"defaults:\n  wheelhouse: ./wheels\n  {formats}\nservices:\n  - name: a\n    tag: '1'\n    requirements: [x]\n", dir.Combine("r.yaml")));

        Assert.True(e.Message.Contains("defaults.formats", StringComparison.Ordinal), $"{reason}: {e.Message}");
    }

    [Fact]
    public async Task The_image_is_the_same_for_one_and_for_every_processor_of_mksquashfs()
    {
        using var dir = new TempDirectory("bt-image-threads");
        await PackAsync(MakeTree(dir, "a"), dir.Combine("out"));
        var image = dir.Combine("out", "demo.squashfs");
        var scratch = dir.Combine("x");
        Assert.Equal(0, (await ProcessRunner.RunAsync("unsquashfs", ["-q", "-d", scratch, image])).ExitCode);
        var one = dir.Combine("one.squashfs");
        // The options SquashfsImage passes, on one processor: mksquashfs's output must not depend on its thread count.
        var r = await ProcessRunner.RunAsync("mksquashfs", [scratch, one, "-noappend", "-comp", "zstd", "-Xcompression-level", $"{SquashfsImage.ZstdLevel}",
            "-all-root", "-mkfs-time", $"{Epoch}", "-all-time", $"{Epoch}", "-no-xattrs", "-quiet", "-no-progress", "-processors", "1"]);
        Assert.True(r.ExitCode == 0, r.ToString());

        Assert.Equal(await File.ReadAllBytesAsync(image), await File.ReadAllBytesAsync(one));
    }
}
