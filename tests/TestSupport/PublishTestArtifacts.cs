using System.IO.Compression;
using System.Text;
using ICSharpCode.SharpZipLib.Tar;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.TestSupport;

/// <summary>An artifact set written by <see cref="PublishTestArtifacts"/>: the three files osva-build writes, flat in one directory.</summary>
public sealed record PublishTestArtifact(ArtifactId Id, string Directory, string ArchivePath, string ChecksumPath, string ManifestPath,
    string ArchiveSha256, long ArchiveSize)
{
    public IEnumerable<string> Files => [ArchivePath, ChecksumPath, ManifestPath, .. ImagePath is null ? Array.Empty<string>() : [ImagePath]];

    /// <summary>The image-mode file, when written with <c>image: true</c>.</summary>
    public string? ImagePath { get; init; }
}

/// <summary>
/// Valid artifacts made in code for the distributor's tests and benchmark, so they need neither Docker nor the builder:
/// a tar.gz, its <c>.sha256</c> line and a <c>.manifest.json</c> whose archive hash and size are right.
/// The large variant streams pseudo-random (incompressible) bytes, so its size on disk is what was asked and nothing
/// is held in memory.
/// </summary>
public static class PublishTestArtifacts
{
    public const string DefaultPlatform = "debian-12-x86_64-py3.11";

    /// <summary>A few small files; <paramref name="flavour"/> changes their content, to make a different artifact under the same name.</summary>
    public static Task<PublishTestArtifact> WriteSmallAsync(string directory, string service, string tag, string platform = DefaultPlatform,
        string flavour = "", bool image = false, CancellationToken ct = default) =>
        WriteAsync(directory, new ArtifactId(service, tag, PlatformId.Parse(platform)), async (tar, c) =>
        {
            var root = $"openstack/venvs/{service}-{tag}/";
            await AddFileAsync(tar, root + "pyvenv.cfg", Encoding.UTF8.GetBytes($"home = /usr/bin\nversion = 3.11.2\n{flavour}"), c);
            await AddFileAsync(tar, root + $"bin/{service}-hello", Encoding.UTF8.GetBytes($"#!/openstack/venvs/{service}-{tag}/bin/python\nprint('hello {flavour}')\n"), c);
            await AddFileAsync(tar, root + $"lib/python3.11/site-packages/{service.Replace('-', '_')}/__init__.py", Encoding.UTF8.GetBytes($"__version__ = '{tag}'\n"), c);
        }, ct, image);

    /// <summary>One archive member of <paramref name="size"/> random bytes, generated while it is written.</summary>
    public static Task<PublishTestArtifact> WriteLargeAsync(string directory, string service, string tag, long size,
        string platform = DefaultPlatform, CancellationToken ct = default) =>
        WriteAsync(directory, new ArtifactId(service, tag, PlatformId.Parse(platform)), async (tar, c) =>
        {
            var entry = TarEntry.CreateTarEntry($"openstack/venvs/{service}-{tag}/share/blob.bin");
            entry.Size = size;
            entry.ModTime = DateTime.UnixEpoch.AddSeconds(1_700_000_000);
            tar.PutNextEntry(entry);
            var buffer = new byte[1 << 20];
            for (var left = size; left > 0;)
            {
                var n = (int)Math.Min(buffer.Length, left);
                Random.Shared.NextBytes(buffer.AsSpan(0, n));
                await tar.WriteAsync(buffer.AsMemory(0, n), c);
                left -= n;
            }
            tar.CloseEntry();
        }, ct);

    private static async Task AddFileAsync(TarOutputStream tar, string name, byte[] content, CancellationToken ct)
    {
        var entry = TarEntry.CreateTarEntry(name);
        entry.Size = content.Length;
        entry.ModTime = DateTime.UnixEpoch.AddSeconds(1_700_000_000);
        tar.PutNextEntry(entry);
        await tar.WriteAsync(content, ct);
        tar.CloseEntry();
    }

    private static async Task<PublishTestArtifact> WriteAsync(string directory, ArtifactId id, Func<TarOutputStream, CancellationToken, Task> fill,
        CancellationToken ct, bool image = false)
    {
        Directory.CreateDirectory(directory);
        var archivePath = Path.Combine(directory, id.ArchiveFileName);
        string archiveSha, tarSha;
        long archiveSize, tarSize;
        await using (var file = new FileStream(archivePath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, useAsync: true))
        {
            var gzHash = new HashingStream(file, leaveOpen: true);
            var gzip = new GZipStream(gzHash, CompressionLevel.Fastest, leaveOpen: true);
            var tarHash = new HashingStream(gzip, leaveOpen: true);
            using (var tar = new TarOutputStream(tarHash, Encoding.UTF8) { IsStreamOwner = false })
            {
                await fill(tar, ct);
                tar.Finish();
            }
            await tarHash.FlushAsync(ct);
            tarSize = tarHash.BytesHashed;
            tarSha = tarHash.Finish();
            await tarHash.DisposeAsync();
            await gzip.DisposeAsync();
            archiveSize = gzHash.BytesHashed;
            archiveSha = gzHash.Finish();
            await gzHash.DisposeAsync();
        }

        var checksumPath = Path.Combine(directory, id.ChecksumFileName);
        await File.WriteAllTextAsync(checksumPath, Sha256.ChecksumLine(archiveSha, id.ArchiveFileName), ct);

        var manifest = new Manifest
        {
            Service = id.Service,
            Tag = id.Tag,
            Platform = new ManifestPlatform
            {
                Id = id.Platform.ToString(),
                Distro = id.Platform.Distro,
                DistroVersion = id.Platform.Version,
                Arch = id.Platform.Arch,
                PythonVersion = id.Platform.Python,
                PythonPath = $"/usr/bin/python{id.Platform.Python}",
                Glibc = "2.36",
            },
            InstallPath = id.DefaultInstallPath,
            BuildImage = new BuildImage("osva/debian-12:test", "sha256:" + new string('0', 64)),
            BuildInputsHash = Sha256.Of(Encoding.UTF8.GetBytes(id.ToString() + archiveSha)),
            SourceDateEpoch = 1_700_000_000,
            Archive = new ArchiveInfo
            {
                FileName = id.ArchiveFileName,
                Sha256 = archiveSha,
                Size = archiveSize,
                TarSha256 = tarSha,
                TarSize = tarSize,
            },
            TreeHash = "sha256:" + tarSha,
            Tool = new ToolInfo("osva-publish-tests", "0"),
            Image = image ? await TestImages.WriteAsync(archivePath, id, directory) : null,
        };
        var manifestPath = Path.Combine(directory, id.ManifestFileName);
        await File.WriteAllBytesAsync(manifestPath, ArtifactJson.Serialize(manifest), ct);
        return new PublishTestArtifact(id, directory, archivePath, checksumPath, manifestPath, archiveSha, archiveSize)
        {
            ImagePath = image ? Path.Combine(directory, id.ImageFileName) : null,
        };
    }
}
