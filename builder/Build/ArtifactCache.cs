using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;

namespace OsVenvArtifacts.Builder.Build;

/// <summary>
/// Finds an artifact whose build key (the manifest's BuildInputsHash) matches a job, first among the
/// manifests in --out, then in the --store index. A hit in --out counts only when its archive and
/// .sha256 are there and agree with the manifest (size and hash), so a damaged output is rebuilt.
/// </summary>
internal sealed class ArtifactCache : IDisposable
{
    private readonly Dictionary<string, (Manifest Manifest, string Directory)> _local;
    private readonly IStoreReader? _store;
    private readonly Dictionary<string, Task<List<Manifest>>> _storeManifests = new(StringComparer.Ordinal);

    private ArtifactCache(Dictionary<string, (Manifest, string)> local, IStoreReader? store)
    {
        _local = local;
        _store = store;
    }

    public static async Task<ArtifactCache> OpenAsync(string outDirectory, string? store, S3Settings s3, CancellationToken ct)
    {
        var local = new Dictionary<string, (Manifest, string)>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(outDirectory, "*.manifest.json"))
        {
            try
            {
                await using var stream = File.OpenRead(path);
                var manifest = await ArtifactJson.ReadManifestAsync(stream, path, ct);
                local[manifest.BuildInputsHash] = (manifest, outDirectory);
            }
            catch (OsvaException)
            {
                // Not ours or damaged: the build that needs it will simply rebuild.
            }
        }
        return new ArtifactCache(local, store is null ? null : StoreReaders.Open(StoreLocation.Parse(store), s3));
    }

    public async Task<BuildOutcome?> FindAsync(BuildJob job, CancellationToken ct)
    {
        if (_local.TryGetValue(job.Key, out var hit) && hit.Manifest.Service == job.Spec.Name && hit.Manifest.Tag == job.Spec.Tag)
        {
            var archive = Path.Combine(hit.Directory, hit.Manifest.Archive.FileName);
            var checksum = archive + ".sha256";
            if (File.Exists(archive) && new FileInfo(archive).Length == hit.Manifest.Archive.Size && File.Exists(checksum)
                && Sha256.ParseChecksumLine(await File.ReadAllTextAsync(checksum, ct), hit.Manifest.Archive.FileName, checksum) == hit.Manifest.Archive.Sha256
                && (hit.Manifest.Image is not { } image || new FileInfo(Path.Combine(hit.Directory, image.FileName)) is { Exists: true } f && f.Length == image.Size))
            {
                return Outcome(hit.Manifest, archive);
            }
        }
        if (_store is null) return null;
        foreach (var manifest in await StoreManifestsAsync(job.Spec.Name, job.Spec.Tag, ct))
        {
            if (manifest.BuildInputsHash == job.Key)
            {
                return Outcome(manifest, $"{_store.Location.Root.TrimEnd('/')}/{manifest.Id.StoreKey(manifest.Archive.FileName)}");
            }
        }
        return null;
    }

    private Task<List<Manifest>> StoreManifestsAsync(string service, string tag, CancellationToken ct)
    {
        lock (_storeManifests)
        {
            var key = $"{service}/{tag}";
            if (!_storeManifests.TryGetValue(key, out var task))
            {
                task = ReadStoreManifestsAsync(service, tag, ct);
                _storeManifests[key] = task;
            }
            return task;
        }
    }

    private async Task<List<Manifest>> ReadStoreManifestsAsync(string service, string tag, CancellationToken ct)
    {
        var manifests = new List<Manifest>();
        if (_store is null || await _store.ReadIndexAsync(service, ct) is not { } index || index.FindTag(tag) is not { } published) return manifests;
        foreach (var artifact in published.Artifacts)
        {
            var manifestName = artifact.ArchiveFileName[..^".tar.gz".Length] + ".manifest.json";
            var key = StoreKeys.File(service, tag, manifestName);
            try
            {
                await using var stream = await _store.OpenReadAsync(key, ct);
                manifests.Add(await ArtifactJson.ReadManifestAsync(stream, key, ct));
            }
            catch (StoreNotFoundException)
            {
                // Listed but gone (yanked): not a cache hit.
            }
        }
        return manifests;
    }

    private static BuildOutcome Outcome(Manifest m, string path) =>
        new(m.Service, m.Tag, m.Platform.Id, path, m.Archive.Sha256, m.Archive.Size, "cached", TimeSpan.Zero, null);

    public void Dispose() => _store?.Dispose();
}
