using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;

namespace OsVenvArtifacts.Installer.Fetch;

/// <summary>An artifact chosen from a store's index: what the index promises about it.</summary>
internal sealed record ResolvedArtifact(ArtifactId Id, IndexArtifact Entry, string RequestedAs);

/// <summary>
/// Finds an artifact in a store and downloads it: the index names the tag and platform and binds the manifest's hash;
/// the manifest binds the archive's hash; the archive is hashed while it streams to disk and checked before use.
/// </summary>
internal sealed class ArtifactFetcher(IStoreReader store)
{
    private const int MaxAttempts = 4;

    public async Task<ResolvedArtifact> ResolveAsync(string service, string tagOrAlias, string platform, CancellationToken ct)
    {
        var index = await store.ReadIndexAsync(service, ct) ?? throw new InstallerException("OSVA-I012",
            $"service {service} is not in store {store.Location}", "check the service name and --store (osva-publish list)", ExitCode.StoreError);
        var tag = index.Resolve(tagOrAlias) ?? throw new InstallerException("OSVA-I012",
            $"{service} has no tag or alias '{tagOrAlias}' in {store.Location}",
            $"pick one of: {string.Join(", ", index.Tags.Select(t => t.Tag).Concat(index.Aliases.Keys))}", ExitCode.StoreError);
        var entry = index.FindTag(tag)?.FindPlatform(platform) ?? throw new InstallerException("OSVA-I013",
            $"{service} {tag} is not published for platform {platform}",
            $"published platforms: {string.Join(", ", index.FindTag(tag)?.Artifacts.Select(a => a.Platform) ?? [])}; build one for {platform} or pass --platform",
            ExitCode.HostMismatch);
        return new ResolvedArtifact(new ArtifactId(service, tag, PlatformId.Parse(platform)), entry, tagOrAlias);
    }

    /// <summary>
    /// Reads the manifest (small) and checks it is the one the index names, that it is signed by one of
    /// <paramref name="trustedKeys"/> when any are given, and that it describes the same artifact.
    /// </summary>
    public async Task<Manifest> ReadManifestAsync(ResolvedArtifact artifact, IReadOnlyList<System.Security.Cryptography.ECDsa> trustedKeys, CancellationToken ct)
    {
        var key = artifact.Id.StoreKey(artifact.Id.ManifestFileName);
        using var buffer = new MemoryStream();
        await using (var stream = await store.OpenReadAsync(key, ct))
        {
            await stream.CopyToAsync(buffer, ct);
        }
        var bytes = buffer.ToArray();
        var actual = Sha256.Of(bytes);
        if (actual != artifact.Entry.ManifestSha256)
        {
            throw Mismatch(artifact.Id.ManifestFileName, actual, "index.json", artifact.Entry.ManifestSha256);
        }
        if (trustedKeys.Count > 0) await CheckSignatureAsync(artifact.Id, bytes, trustedKeys, ct);
        buffer.Position = 0;
        var manifest = await ArtifactJson.ReadManifestAsync(buffer, $"{store.Location}/{key}", ct);
        if (manifest.Service != artifact.Id.Service || manifest.Tag != artifact.Id.Tag || manifest.Platform.Id != artifact.Id.Platform.ToString())
        {
            throw new InstallerException("OSVA-I011", $"{artifact.Id.ManifestFileName} describes {manifest.Id}, not {artifact.Id}",
                "the store is inconsistent; republish the artifact with osva-publish", ExitCode.VerificationFailed);
        }
        if (manifest.Archive.Sha256 != artifact.Entry.ArchiveSha256)
        {
            throw Mismatch(artifact.Id.ArchiveFileName, manifest.Archive.Sha256, "index.json", artifact.Entry.ArchiveSha256, "manifest says");
        }
        return manifest;
    }

    private async Task CheckSignatureAsync(ArtifactId id, byte[] manifest, IReadOnlyList<System.Security.Cryptography.ECDsa> trustedKeys, CancellationToken ct)
    {
        string signature;
        try
        {
            await using var stream = await store.OpenReadAsync(id.StoreKey(id.SignatureFileName), ct);
            using var reader = new StreamReader(stream);
            signature = await reader.ReadToEndAsync(ct);
        }
        catch (StoreNotFoundException)
        {
            throw new InstallerException("OSVA-I015", $"{id.SignatureFileName} is not in {store.Location}, and trusted keys were given",
                "publish artifacts signed at build time, or install without --trusted-key", ExitCode.VerificationFailed);
        }
        if (!Signatures.Verify(manifest, signature, trustedKeys))
        {
            throw new InstallerException("OSVA-I015", $"{id.SignatureFileName} is not a valid signature of {id.ManifestFileName} by any trusted key",
                "nothing was downloaded or unpacked; the manifest was changed or signed by another key", ExitCode.VerificationFailed);
        }
    }

    /// <summary>
    /// Streams the archive into <paramref name="stagingDirectory"/> while hashing it and returns the verified file.
    /// A broken transfer resumes where it stopped (ranged read where the store offers one), also in a later run,
    /// because the partial file is kept; a file whose hash does not match is deleted before anyone unpacks it.
    /// </summary>
    public async Task<string> DownloadAsync(ResolvedArtifact artifact, Manifest manifest, string stagingDirectory, CancellationToken ct)
    {
        var id = artifact.Id;
        string expected;
        await using (var checksum = await store.OpenReadAsync(id.StoreKey(id.ChecksumFileName), ct))
        using (var reader = new StreamReader(checksum))
        {
            expected = Sha256.ParseChecksumLine(await reader.ReadToEndAsync(ct), id.ArchiveFileName, id.ChecksumFileName);
        }
        if (expected != manifest.Archive.Sha256) throw Mismatch(id.ArchiveFileName, manifest.Archive.Sha256, id.ChecksumFileName, expected, "manifest says");

        Directory.CreateDirectory(stagingDirectory);
        var final = Path.Combine(stagingDirectory, id.ArchiveFileName);
        var partial = final + ".partial";
        var key = id.StoreKey(id.ArchiveFileName);
        var limit = manifest.Archive.Size > 0 ? manifest.Archive.Size : long.MaxValue;
        string actual;
        await using (var file = new FileStream(partial, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: true))
        {
            if (file.Length > limit) file.SetLength(0);
            var hashing = new HashingStream(file, leaveOpen: true);
            try
            {
                // The prefix kept from a broken transfer is hashed from disk, so the final hash covers every byte.
                await hashing.CopyToAsync(Stream.Null, ct);
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        if (await CopyFromAsync(key, hashing, limit, ct)) break;
                        // The store cannot continue where the partial file ends: start the file over.
                        await hashing.DisposeAsync();
                        file.SetLength(0);
                        file.Position = 0;
                        hashing = new HashingStream(file, leaveOpen: true);
                    }
                    catch (Exception e) when (e is IOException or HttpRequestException && attempt < MaxAttempts && !ct.IsCancellationRequested)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(250 * attempt), ct);
                    }
                    catch (Exception e) when (e is HttpIOException or HttpRequestException && !ct.IsCancellationRequested)
                    {
                        throw new InstallerException("OSVA-I016", $"the download of {id.ArchiveFileName} from {store.Location} broke {attempt} times, last at byte {hashing.BytesHashed}: {e.Message}",
                            "run the same command again: it continues from the partial file kept in staging", ExitCode.StoreError, e);
                    }
                }
                await file.FlushAsync(ct);
                file.Flush(flushToDisk: true);
                actual = hashing.Finish();
            }
            finally
            {
                await hashing.DisposeAsync();
            }
        }
        if (actual != expected)
        {
            File.Delete(partial);
            throw Mismatch(id.ArchiveFileName, actual, id.ChecksumFileName, expected);
        }
        File.Move(partial, final, overwrite: true);
        return final;
    }

    /// <summary>Appends the rest of <paramref name="key"/> to <paramref name="target"/>; false when the store cannot continue from there.</summary>
    private async Task<bool> CopyFromAsync(string key, HashingStream target, long limit, CancellationToken ct)
    {
        var offset = target.BytesHashed;
        if (offset >= limit && limit != long.MaxValue) return true;
        await using var source = offset == 0 ? await store.OpenReadAsync(key, ct) : await store.OpenReadFromAsync(key, offset, ct);
        if (source is null) return false;
        var buffer = new byte[1 << 16];
        int n;
        while ((n = await source.ReadAsync(buffer, ct)) > 0)
        {
            if (target.BytesHashed + n > limit)
            {
                throw new InstallerException("OSVA-I014", $"{key} is larger than the {limit} bytes its manifest states",
                    "the store holds a different file than was published; republish the artifact", ExitCode.VerificationFailed);
            }
            await target.WriteAsync(buffer.AsMemory(0, n), ct);
        }
        return true;
    }

    private static InstallerException Mismatch(string file, string actual, string source, string expected, string verb = "has sha256") =>
        new("OSVA-I010", $"{file} {verb} {actual} but {source} says {expected}",
            "the file was changed or damaged in the store or in transit; nothing was unpacked; republish or re-mirror the artifact",
            ExitCode.VerificationFailed);
}
