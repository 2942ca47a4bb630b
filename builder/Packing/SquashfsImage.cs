using System.Diagnostics;
using System.Globalization;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Builder.Packing;

/// <summary>What writing the image produced: the manifest's image fields.</summary>
internal sealed record ImageResult(string Sha256, long Size);

/// <summary>
/// The image-mode artifact: a squashfs image (zstd level 9) of exactly the tree in the artifact's tarball, so both formats
/// hold the same entries with the same modes and targets, checked once by <see cref="VenvPacker"/>. The tarball is
/// unpacked into a scratch directory (GNU tar, modes kept, owner ignored), then <c>mksquashfs</c> writes it with every
/// varying field fixed: owner root (<c>-all-root</c>), every time and the superblock time = sourceDateEpoch, no xattrs,
/// directories sorted by mksquashfs itself. mksquashfs's output does not depend on its thread count (checked by the tests),
/// and the choice against EROFS is measured in builder/bench/image.sh (docs/artifact-format.md, "The image").
/// </summary>
internal static class SquashfsImage
{
    /// <summary>zstd 9: 87 MB and about 11 s for nova; level 15 (mksquashfs's default) saves 5% for five times the time.</summary>
    public const int ZstdLevel = 9;

    public static async Task<ImageResult> WriteAsync(string tarGz, string destination, long sourceDateEpoch, CancellationToken ct)
    {
        var scratch = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(destination))!, $".osva-image-{Guid.NewGuid():N}");
        Directory.CreateDirectory(scratch);
        try
        {
            // The image's root directory takes the scratch directory's mode: the venv root is 0755 like every directory.
            File.SetUnixFileMode(scratch, (UnixFileMode)0x1ED);
            await RunAsync("tar", ["-xzf", tarGz, "-C", scratch, "--no-same-owner", "--same-permissions"], ct);
            var epoch = sourceDateEpoch.ToString(CultureInfo.InvariantCulture);
            await RunAsync("mksquashfs", [scratch, destination, "-noappend", "-comp", "zstd", "-Xcompression-level", ZstdLevel.ToString(CultureInfo.InvariantCulture),
                "-all-root", "-mkfs-time", epoch, "-all-time", epoch, "-no-xattrs", "-quiet", "-no-progress"], ct);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
        await using var image = new FileStream(destination, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.SequentialScan);
        image.Flush(flushToDisk: true);
        return new ImageResult(await Sha256.OfStreamAsync(image, ct), image.Length);
    }

    private static async Task RunAsync(string program, IReadOnlyList<string> args, CancellationToken ct)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new IOException($"cannot start {program}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new BuilderException("OSVA-B110", $"cannot run {program} to write the image: {e.Message}",
                "install squashfs-tools (apt-get install squashfs-tools), or build the tarball only");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            try
            {
                await process.WaitForExitAsync(ct);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
            await stdout;
            var error = (await stderr).Trim();
            if (process.ExitCode != 0)
            {
                throw new BuilderException("OSVA-B111", $"{program} failed writing the image (exit {process.ExitCode}): {error.Split('\n')[0]}",
                    "check the free space beside the output; rerun with --verbose");
            }
        }
    }
}
