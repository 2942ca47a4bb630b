using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;

namespace OsVenvArtifacts.Installer.Fetch;

/// <summary>
/// An artifact chosen from a store's index: what the index promises about it, the index's version, and the index's
/// last record of this tag being republished with other bytes (<c>osva-publish publish --force</c>), if any.
/// </summary>
internal sealed record ResolvedArtifact(ArtifactId Id, IndexArtifact Entry, string RequestedAs, long IndexVersion, IndexEvent? Republished);

/// <summary>
/// Finds an artifact in a store and downloads it: the (signed, versioned) index names the tag and platform and binds
/// the manifest's hash; the manifest binds the archive's hash; the archive is hashed while it streams to disk and
/// checked before use. Every small file is read with a cap, the archive stops at the size its manifest states, and
/// a transfer that stalls is cut (docs/security.md).
/// </summary>
internal sealed class ArtifactFetcher(IStoreReader store, TrustPolicy trust, TimeProvider clock, TimeSpan stallTimeout)
{
    private const int MaxAttempts = 4;
    private const int MaxIndexSize = 16 << 20;
    private const int MaxManifestSize = 16 << 20;
    private const int MaxSmallFileSize = 64 << 10;

    /// <summary>
    /// Reads and checks the service's index (signature, service, expiry, and a version no older than
    /// <paramref name="rememberedVersion"/>, the highest this host accepted from this store), then picks the artifact.
    /// </summary>
    public async Task<ResolvedArtifact> ResolveAsync(string service, string tagOrAlias, string platform, long rememberedVersion, CancellationToken ct)
    {
        var index = await ReadIndexAsync(service, rememberedVersion, ct);
        var tag = index.Resolve(tagOrAlias) ?? throw new InstallerException("OSVA-I012",
            $"{service} has no tag or alias '{tagOrAlias}' in {store.Location}",
            $"pick one of: {string.Join(", ", index.Tags.Select(t => t.Tag).Concat(index.Aliases.Keys))}", ExitCode.StoreError);
        var entry = index.FindTag(tag)?.FindPlatform(platform) ?? throw new InstallerException("OSVA-I013",
            $"{service} {tag} is not published for platform {platform}",
            $"published platforms: {string.Join(", ", index.FindTag(tag)?.Artifacts.Select(a => a.Platform) ?? [])}; build one for {platform} or pass --platform",
            ExitCode.HostMismatch);
        var republished = index.History.LastOrDefault(e => e.Action == "force-publish" && e.Tag == tag && (e.Platform ?? platform) == platform);
        return new ResolvedArtifact(new ArtifactId(service, tag, PlatformId.Parse(platform)), entry, tagOrAlias, index.Version, republished);
    }

    private async Task<StoreIndex> ReadIndexAsync(string service, long rememberedVersion, CancellationToken ct)
    {
        var key = StoreKeys.Index(service);
        var where = $"{store.Location}/{key}";
        var bytes = await ReadSmallAsync(key, MaxIndexSize, ct) ?? throw new InstallerException("OSVA-I012",
            $"service {service} is not in store {store.Location}", "check the service name and --store (osva-publish list)", ExitCode.StoreError);
        if (!await IndexSignatureHoldsAsync(service, bytes, ct))
        {
            // A publisher writes index.json, then index.json.sig: a reader between the two sees a pair that does not match.
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
            bytes = await ReadSmallAsync(key, MaxIndexSize, ct) ?? [];
            if (!await IndexSignatureHoldsAsync(service, bytes, ct))
            {
                throw new InstallerException("OSVA-I018", $"{StoreKeys.IndexSignature(service)} in {store.Location} is missing or not a valid signature of {key} by a trusted key",
                    "nothing was downloaded; the index was changed, not signed, or signed by a key this host does not trust (trusted-key in /etc/osva/osva.conf); publish with osva-publish --signing-key",
                    ExitCode.VerificationFailed);
            }
        }
        using var stream = new MemoryStream(bytes, writable: false);
        var index = await ArtifactJson.ReadIndexAsync(stream, where, ct);
        if (index.Service != service)
        {
            throw new InstallerException("OSVA-I011", $"{where} is the index of {index.Service}, not of {service}",
                "nothing was downloaded; the store serves another service's index under this name: republish it", ExitCode.VerificationFailed);
        }
        if (index.Expires is { } expires && expires <= clock.GetUtcNow())
        {
            throw new InstallerException("OSVA-I019", $"{where} expired at {expires:u}: the store may be serving a frozen, old view",
                $"nothing was downloaded; the publisher renews it with osva-publish sign-index {service}; check the store or mirror is current", ExitCode.VerificationFailed);
        }
        if (trust.Required && index.Expires is null)
        {
            throw new InstallerException("OSVA-I019", $"{where} has no expiry, and this host requires signed indexes to have one",
                $"the publisher renews it with osva-publish sign-index {service}", ExitCode.VerificationFailed);
        }
        if (index.Version < rememberedVersion)
        {
            throw new InstallerException("OSVA-I019", $"{where} is version {index.Version}, older than version {rememberedVersion} this host already accepted from {store.Location}",
                "nothing was downloaded; the store or a mirror serves an old index (a rollback, perhaps to a yanked tag); point --store at a current copy", ExitCode.VerificationFailed);
        }
        return index;
    }

    /// <summary>True when the index's signature verifies, or when none is required and none is there.</summary>
    private async Task<bool> IndexSignatureHoldsAsync(string service, byte[] index, CancellationToken ct)
    {
        if (trust.Keys.Count == 0) return !trust.Required;
        var signature = await ReadSmallAsync(StoreKeys.IndexSignature(service), MaxSmallFileSize, ct);
        if (signature is null) return !trust.Required;
        return Signatures.Verify(index, System.Text.Encoding.ASCII.GetString(signature), trust.Keys);
    }

    /// <summary>
    /// Reads the manifest (small) and checks it is the one the index names, that it is signed by a trusted key when
    /// the host requires it (or carries a signature at all), and that it describes the same artifact.
    /// </summary>
    public async Task<Manifest> ReadManifestAsync(ResolvedArtifact artifact, CancellationToken ct)
    {
        var key = artifact.Id.StoreKey(artifact.Id.ManifestFileName);
        var bytes = await ReadSmallAsync(key, MaxManifestSize, ct) ?? throw new StoreNotFoundException(store.Location.ToString(), key);
        var actual = Sha256.Of(bytes);
        if (actual != artifact.Entry.ManifestSha256)
        {
            throw Mismatch(artifact.Id.ManifestFileName, actual, "index.json", artifact.Entry.ManifestSha256);
        }
        if (trust.Keys.Count > 0) await CheckSignatureAsync(artifact.Id, bytes, ct);
        using var buffer = new MemoryStream(bytes, writable: false);
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

    private async Task CheckSignatureAsync(ArtifactId id, byte[] manifest, CancellationToken ct)
    {
        var signature = await ReadSmallAsync(id.StoreKey(id.SignatureFileName), MaxSmallFileSize, ct);
        if (signature is null)
        {
            if (!trust.Required) return;
            throw new InstallerException("OSVA-I015", $"{id.SignatureFileName} is not in {store.Location}, and this host requires signatures",
                "publish artifacts signed at build time (osva-build --signing-key, or osva-publish sign-index --resign-manifests)", ExitCode.VerificationFailed);
        }
        if (!Signatures.Verify(manifest, System.Text.Encoding.ASCII.GetString(signature), trust.Keys))
        {
            throw new InstallerException("OSVA-I015", $"{id.SignatureFileName} is not a valid signature of {id.ManifestFileName} by any trusted key",
                "nothing was downloaded or unpacked; the manifest was changed or signed by another key", ExitCode.VerificationFailed);
        }
    }

    /// <summary>A small file read whole, refused past <paramref name="max"/> bytes (endless data); null when absent.</summary>
    private async Task<byte[]?> ReadSmallAsync(string key, int max, CancellationToken ct)
    {
        using var stall = Stall(ct);
        try
        {
            await using var stream = await store.OpenReadAsync(key, stall.Token);
            using var buffer = new MemoryStream();
            var chunk = new byte[1 << 16];
            int n;
            while ((n = await stream.ReadAsync(chunk, stall.Token)) > 0)
            {
                if (buffer.Length + n > max)
                {
                    throw new InstallerException("OSVA-I014", $"{key} in {store.Location} is larger than {max} bytes",
                        "nothing was downloaded; the store serves a file far larger than osva writes: check the store or mirror", ExitCode.VerificationFailed);
                }
                buffer.Write(chunk, 0, n);
                stall.CancelAfter(stallTimeout);
            }
            return buffer.ToArray();
        }
        catch (StoreNotFoundException)
        {
            return null;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw Stalled(key, 0);
        }
    }

    private CancellationTokenSource Stall(CancellationToken ct)
    {
        var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stall.CancelAfter(stallTimeout);
        return stall;
    }

    private InstallerException Stalled(string key, long at) =>
        new("OSVA-I017", $"the transfer of {key} from {store.Location} stalled: no byte for {stallTimeout.TotalSeconds:0} s (at byte {at})",
            "run the same command again: a download continues from the partial file kept in staging; raise stall-timeout in /etc/osva/osva.conf for a slow link",
            ExitCode.StoreError);

    /// <summary>
    /// Streams the archive into <paramref name="stagingDirectory"/> while hashing it and returns the verified file.
    /// A broken transfer resumes where it stopped (ranged read where the store offers one), also in a later run,
    /// because the partial file is kept; a file whose hash does not match is deleted before anyone unpacks it.
    /// </summary>
    public async Task<string> DownloadAsync(ResolvedArtifact artifact, Manifest manifest, string stagingDirectory, CancellationToken ct)
    {
        var id = artifact.Id;
        var checksumKey = id.StoreKey(id.ChecksumFileName);
        var checksum = await ReadSmallAsync(checksumKey, MaxSmallFileSize, ct) ?? throw new StoreNotFoundException(store.Location.ToString(), checksumKey);
        var expected = Sha256.ParseChecksumLine(System.Text.Encoding.UTF8.GetString(checksum), id.ArchiveFileName, id.ChecksumFileName);
        if (expected != manifest.Archive.Sha256) throw Mismatch(id.ArchiveFileName, manifest.Archive.Sha256, id.ChecksumFileName, expected, "manifest says");
        // Positive and within the host's limit (ExtractLimits.For): the download never passes it.
        return await DownloadCheckedAsync(id, id.ArchiveFileName, manifest.Archive.Size, expected, id.ChecksumFileName, stagingDirectory, ct);
    }

    /// <summary>The image-mode file, checked against the sha256 the (verified, and when required signed) manifest records.</summary>
    public Task<string> DownloadImageAsync(ResolvedArtifact artifact, ImageInfo image, string stagingDirectory, CancellationToken ct) =>
        DownloadCheckedAsync(artifact.Id, image.FileName, image.Size, image.Sha256, artifact.Id.ManifestFileName, stagingDirectory, ct);

    private async Task<string> DownloadCheckedAsync(ArtifactId id, string fileName, long limit, string expected, string expectedFrom,
        string stagingDirectory, CancellationToken ct)
    {
        Directory.CreateDirectory(stagingDirectory);
        var final = Path.Combine(stagingDirectory, fileName);
        var partial = final + ".partial";
        var key = id.StoreKey(fileName);
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
                    catch (Exception e) when (e is IOException or HttpRequestException or TimeoutException && attempt < MaxAttempts && !ct.IsCancellationRequested)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(250 * attempt), ct);
                    }
                    catch (TimeoutException)
                    {
                        throw Stalled(key, hashing.BytesHashed);
                    }
                    catch (Exception e) when (e is HttpIOException or HttpRequestException && !ct.IsCancellationRequested)
                    {
                        throw new InstallerException("OSVA-I016", $"the download of {fileName} from {store.Location} broke {attempt} times, last at byte {hashing.BytesHashed}: {e.Message}",
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
            throw Mismatch(fileName, actual, expectedFrom, expected);
        }
        File.Move(partial, final, overwrite: true);
        return final;
    }

    /// <summary>Appends the rest of <paramref name="key"/> to <paramref name="target"/>; false when the store cannot continue from there.</summary>
    private async Task<bool> CopyFromAsync(string key, HashingStream target, long limit, CancellationToken ct)
    {
        var offset = target.BytesHashed;
        if (offset >= limit) return true;
        using var stall = Stall(ct);
        try
        {
            await using var source = offset == 0 ? await store.OpenReadAsync(key, stall.Token) : await store.OpenReadFromAsync(key, offset, stall.Token);
            if (source is null) return false;
            var buffer = new byte[1 << 16];
            int n;
            while ((n = await source.ReadAsync(buffer, stall.Token)) > 0)
            {
                if (target.BytesHashed + n > limit)
                {
                    throw new InstallerException("OSVA-I014", $"{key} is larger than the {limit} bytes its manifest states",
                        "the store holds a different file than was published; republish the artifact", ExitCode.VerificationFailed);
                }
                await target.WriteAsync(buffer.AsMemory(0, n), ct);
                stall.CancelAfter(stallTimeout);
            }
            return true;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // No byte for the stall timeout: retried like a broken connection, reported as a stall after the last attempt.
            throw new TimeoutException();
        }
    }

    private static InstallerException Mismatch(string file, string actual, string source, string expected, string verb = "has sha256") =>
        new("OSVA-I010", $"{file} {verb} {actual} but {source} says {expected}",
            "the file was changed or damaged in the store or in transit; nothing was unpacked; republish or re-mirror the artifact",
            ExitCode.VerificationFailed);
}
