using System.Runtime.CompilerServices;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Distributor.Publishing;

namespace OsVenvArtifacts.Distributor.Stores;

/// <summary>A store in a local or network directory. Every write is temp file + fsync + rename.</summary>
internal sealed class DirectoryObjectStore(StoreLocation location) : IObjectStore
{
    private static readonly UnixFileMode Readable =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private readonly DirectoryStoreReader _reader = new(location);

    public StoreLocation Location => location;

    public string PathOf(string key) => _reader.PathOf(key);

    public Task<Stream> OpenReadAsync(string key, CancellationToken ct) => _reader.OpenReadAsync(key, ct);

    public Task<Stream?> OpenReadFromAsync(string key, long offset, CancellationToken ct) => _reader.OpenReadFromAsync(key, offset, ct);

    public Task<bool> ExistsAsync(string key, CancellationToken ct) => _reader.ExistsAsync(key, ct);

    public async Task<bool> HasContentAsync(string key, long size, string sha256, CancellationToken ct)
    {
        var info = new FileInfo(PathOf(key));
        // A local re-hash costs about what the copy would, but it spares the store a rewrite and keeps mtimes.
        return info.Exists && info.Length == size && await Sha256.OfFileAsync(info.FullName, ct) == sha256;
    }

    public async Task PutFileAsync(string key, string path, string sha256, IProgress<long>? progress, CancellationToken ct)
    {
        await using var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        await AtomicFile.WriteAsync(PathOf(key), async (target, c) =>
        {
            var buffer = new byte[1 << 20];
            int n;
            while ((n = await source.ReadAsync(buffer, c)) > 0)
            {
                await target.WriteAsync(buffer.AsMemory(0, n), c);
                progress?.Report(n);
            }
        }, ct, Readable);
        SweepDeadTemporaryFiles(PathOf(key));
    }

    /// <summary>
    /// Temp files of <paramref name="path"/> (<c>.NAME.PID.GUID.tmp</c>) whose writer is gone: a publisher killed mid-copy
    /// leaves one, and the copy that replaces it removes it. A writer still running keeps its own.
    /// </summary>
    private static void SweepDeadTemporaryFiles(string path)
    {
        var prefix = $".{Path.GetFileName(path)}.";
        foreach (var temp in Directory.EnumerateFiles(Path.GetDirectoryName(path)!, prefix + "*.tmp"))
        {
            var pid = Path.GetFileName(temp)[prefix.Length..].Split('.')[0];
            if (int.TryParse(pid, out var id) && id != Environment.ProcessId && !Directory.Exists($"/proc/{id}")) File.Delete(temp);
        }
    }

    public async Task<bool> PutSmallAsync(string key, byte[] data, string? ifMatch, CancellationToken ct)
    {
        // Callers hold the service lock, so the condition is checked here and cannot change before the rename.
        if (ifMatch is not null)
        {
            var current = await GetSmallAsync(key, ct);
            var ok = ifMatch == "*" ? current is null : current?.ETag == ifMatch;
            if (!ok) return false;
        }
        await AtomicFile.WriteAllBytesAsync(PathOf(key), data, ct, Readable);
        SweepDeadTemporaryFiles(PathOf(key));
        return true;
    }

    public async Task<(byte[] Data, string? ETag)?> GetSmallAsync(string key, CancellationToken ct)
    {
        try
        {
            var data = await File.ReadAllBytesAsync(PathOf(key), ct);
            return (data, Sha256.Of(data));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct)
    {
        var root = location.Root;
        if (!Directory.Exists(root)) throw StoreErrors.MissingDirectory(root);
        var start = PathOf(prefix.TrimEnd('/'));
        if (!Directory.Exists(start)) yield break;
        var files = Directory.EnumerateFiles(start, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
            // Temp files of writes in progress are not objects.
            .Where(k => !Path.GetFileName(k).StartsWith('.') && k.StartsWith(prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        foreach (var key in files)
        {
            ct.ThrowIfCancellationRequested();
            var info = new FileInfo(PathOf(key));
            if (info.Exists) yield return new StoredObject(key, info.Length, null);
        }
        await Task.CompletedTask;
    }

    public async IAsyncEnumerable<string> ListFoldersAsync(string prefix, [EnumeratorCancellation] CancellationToken ct)
    {
        if (!Directory.Exists(location.Root)) throw StoreErrors.MissingDirectory(location.Root);
        var start = prefix.Length == 0 ? location.Root : PathOf(prefix.TrimEnd('/'));
        if (!Directory.Exists(start)) yield break;
        foreach (var dir in Directory.EnumerateDirectories(start).Select(Path.GetFileName).Order(StringComparer.Ordinal))
        {
            ct.ThrowIfCancellationRequested();
            yield return dir!;
        }
        await Task.CompletedTask;
    }

    public Task DeleteAsync(string key, CancellationToken ct)
    {
        var path = PathOf(key);
        if (!File.Exists(path)) return Task.CompletedTask;
        File.Delete(path);
        // Leave no empty tag folders behind a yank; the service folder keeps its index.
        var dir = Path.GetDirectoryName(path);
        while (dir is not null && dir.Length > location.Root.Length && Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any())
        {
            Directory.Delete(dir);
            dir = Path.GetDirectoryName(dir);
        }
        return Task.CompletedTask;
    }

    public async Task<IAsyncDisposable> LockServiceAsync(string service, CancellationToken ct)
    {
        var path = PathOf(ServiceKeys.LockFile(service));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var delay = 10;
        while (true)
        {
            try
            {
                // FileShare.None takes an flock on Linux, released by the kernel if this process dies.
                return new FileLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException)
            {
                await Task.Delay(Random.Shared.Next(delay, delay * 2), ct);
                delay = Math.Min(delay * 2, 500);
            }
        }
    }

    public void Dispose() => _reader.Dispose();

    private sealed class FileLock(FileStream stream) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => stream.DisposeAsync();
    }
}
