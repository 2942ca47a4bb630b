using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Distributor.Publishing;

/// <summary>One file of an artifact on disk, with the sha256 it was checked to have.</summary>
internal sealed record LocalFile(string Path, string Name, long Size, string Sha256);

/// <summary>
/// An artifact found by its <c>.manifest.json</c>, checked before anything is uploaded: the archive exists, its
/// <c>.sha256</c> names it, and both that line and the manifest agree with the archive's real hash and size; the same for
/// the image when the manifest records one.
/// </summary>
internal sealed record LocalArtifact(Manifest Manifest, ArtifactId Id, LocalFile Archive, LocalFile ManifestFile, IReadOnlyList<LocalFile> Files,
    LocalFile? Image = null)
{
    public const string ManifestSuffix = ".manifest.json";

    /// <summary>Every manifest named by the arguments: a manifest file itself, or each manifest directly in a directory.</summary>
    public static IReadOnlyList<string> FindManifests(IEnumerable<string> paths)
    {
        var found = new List<string>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                var inDir = Directory.GetFiles(path, "*" + ManifestSuffix).Order(StringComparer.Ordinal).ToList();
                if (inDir.Count == 0)
                {
                    throw new PublishException("OSVA-P001", $"{path} holds no *{ManifestSuffix}",
                        "point at the directory osva-build wrote (--out) or at a manifest file");
                }
                found.AddRange(inDir);
            }
            else if (File.Exists(path) && path.EndsWith(ManifestSuffix, StringComparison.Ordinal))
            {
                found.Add(path);
            }
            else
            {
                throw new PublishException("OSVA-P002", $"{path} is neither a directory nor a {ManifestSuffix} file",
                    "give the directory osva-build wrote or a manifest path");
            }
        }
        return found;
    }

    public static async Task<LocalArtifact> LoadAsync(string manifestPath, CancellationToken ct)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(manifestPath))!;
        Manifest manifest;
        await using (var stream = File.OpenRead(manifestPath))
        {
            manifest = await ArtifactJson.ReadManifestAsync(stream, manifestPath, ct);
        }
        var id = manifest.Id;
        if (Path.GetFileName(manifestPath) != id.ManifestFileName || manifest.Archive.FileName != id.ArchiveFileName)
        {
            throw new PublishException("OSVA-P003", $"{manifestPath} describes {id} but is named {Path.GetFileName(manifestPath)} for archive {manifest.Archive.FileName}",
                $"keep the names osva-build gave: {id.ManifestFileName} and {id.ArchiveFileName}");
        }

        var archivePath = Path.Combine(dir, id.ArchiveFileName);
        var checksumPath = Path.Combine(dir, id.ChecksumFileName);
        foreach (var required in new[] { archivePath, checksumPath })
        {
            if (!File.Exists(required))
            {
                throw new PublishException("OSVA-P004", $"{required} is missing beside {Path.GetFileName(manifestPath)}",
                    "publish the whole output of osva-build; rebuild if the file was lost");
            }
        }

        var checksumText = await File.ReadAllTextAsync(checksumPath, ct);
        var lineHash = Sha256.ParseChecksumLine(checksumText, id.ArchiveFileName, checksumPath);
        var archive = await HashAsync(archivePath, ct);
        if (archive.Sha256 != manifest.Archive.Sha256 || lineHash != manifest.Archive.Sha256 || archive.Size != manifest.Archive.Size)
        {
            throw new PublishException("OSVA-P005",
                $"{id.ArchiveFileName} has sha256 {archive.Sha256} and {archive.Size} bytes, but its manifest says {manifest.Archive.Sha256} ({manifest.Archive.Size} bytes) and its .sha256 says {lineHash}",
                "the archive was changed or damaged after the build; rebuild it", ExitCode.VerificationFailed);
        }

        var files = new List<LocalFile> { archive, await HashAsync(checksumPath, ct) };
        var image = manifest.Image is null ? null : await CheckImageAsync(manifest.Image, id, dir, ct);
        if (image is not null) files.Add(image);
        foreach (var optional in new[] { id.SignatureFileName, id.SbomFileName })
        {
            var path = Path.Combine(dir, optional);
            if (File.Exists(path)) files.Add(await HashAsync(path, ct));
        }
        var manifestFile = await HashAsync(Path.Combine(dir, id.ManifestFileName), ct);
        // The manifest goes last among the files: it is what a reader fetches first.
        files.Add(manifestFile);
        return new LocalArtifact(manifest, id, archive, manifestFile, files, image);
    }

    private static async Task<LocalFile> CheckImageAsync(ImageInfo expected, ArtifactId id, string dir, CancellationToken ct)
    {
        if (expected.FileName != id.ImageFileName)
        {
            throw new PublishException("OSVA-P003", $"the manifest of {id} names image {expected.FileName}", $"keep the name osva-build gave: {id.ImageFileName}");
        }
        var path = Path.Combine(dir, expected.FileName);
        if (!File.Exists(path))
        {
            throw new PublishException("OSVA-P090", $"{path} is missing, but the manifest {id.ManifestFileName} records an image",
                "publish the whole output of osva-build (formats: [tarball, image]); rebuild if the file was lost");
        }
        var image = await HashAsync(path, ct);
        if (image.Sha256 != expected.Sha256 || image.Size != expected.Size)
        {
            throw new PublishException("OSVA-P091",
                $"{expected.FileName} has sha256 {image.Sha256} and {image.Size} bytes, but its manifest says {expected.Sha256} ({expected.Size} bytes)",
                "the image was changed or damaged after the build; rebuild it", ExitCode.VerificationFailed);
        }
        return image;
    }

    private static async Task<LocalFile> HashAsync(string path, CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        var hash = await Sha256.OfStreamAsync(stream, ct);
        return new LocalFile(path, Path.GetFileName(path), stream.Length, hash);
    }
}
