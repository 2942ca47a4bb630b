using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.TestSupport;

/// <summary>
/// The image-mode file of a generated artifact, made as osva-build makes it (builder/Packing/SquashfsImage.cs): the archive
/// unpacked by GNU tar, then mksquashfs with zstd, root owner and fixed times. Returns the manifest's image field.
/// </summary>
public static class TestImages
{
    public static async Task<ImageInfo> WriteAsync(string archive, ArtifactId id, string outDir)
    {
        using var scratch = new TempDirectory("image-tree");
        File.SetUnixFileMode(scratch.Path, (UnixFileMode)0x1ED);
        var tar = await ProcessRunner.RunAsync("tar", ["-xzf", archive, "-C", scratch.Path, "--no-same-owner", "--same-permissions"]);
        if (tar.ExitCode != 0) throw new InvalidOperationException(tar.ToString());
        var image = Path.Combine(outDir, id.ImageFileName);
        var mk = await ProcessRunner.RunAsync("mksquashfs", [scratch.Path, image, "-noappend", "-comp", "zstd", "-Xcompression-level", "9",
            "-all-root", "-mkfs-time", "1700000000", "-all-time", "1700000000", "-no-xattrs", "-quiet", "-no-progress"]);
        if (mk.ExitCode != 0) throw new InvalidOperationException(mk.ToString());
        return new ImageInfo
        {
            FileName = id.ImageFileName, Format = ImageInfo.Squashfs, Sha256 = await Sha256.OfFileAsync(image, CancellationToken.None),
            Size = new FileInfo(image).Length,
        };
    }
}
