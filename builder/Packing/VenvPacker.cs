using System.Formats.Tar;
using System.IO.Compression;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Builder.Packing;

/// <summary>What packing produced: the hashes and counts the manifest records.</summary>
internal sealed record PackResult(string Sha256, long Size, string TarSha256, long TarSize, string TreeHash, long FileCount, long UnpackedSize);

/// <summary>
/// Turns the tar the Docker archive API returns for the venv into the artifact's deterministic tar.gz.
/// The engine's tar is spooled once: entry data goes to one temp file (never memory), entry metadata is
/// kept in a list. Then entries are written sorted by path with every varying field fixed: mtime =
/// SOURCE_DATE_EPOCH, uid/gid 0, user and group root, normalized modes, GNU format as GNU tar 1.34 writes it
/// (<see cref="DeterministicTarWriter"/>), gzip header without name or time.
/// Entry names are relative to the venv root (<c>bin/python</c>); the install path is in the manifest.
/// </summary>
internal sealed class VenvPacker : IAsyncDisposable
{
    /// <summary>
    /// Part of the build key: raise it whenever the bytes written for the same tree change, so cached artifacts are rebuilt.
    /// 2: own GNU writer (atime/ctime empty, user and group root), replacing .NET's TarWriter.
    /// </summary>
    public const int FormatRevision = 2;

    private readonly List<SpooledEntry> _entries = [];
    private readonly Dictionary<string, SpooledEntry> _byPath = new(StringComparer.Ordinal);
    private readonly FileStream _blob;

    private VenvPacker(FileStream blob) => _blob = blob;

    private sealed record SpooledEntry(string Path, TarEntryType Type, UnixFileMode Mode, long Offset, long Length, string? Sha256, string? LinkTarget);

    /// <summary>
    /// Reads the engine's tar of <paramref name="installPath"/> (entries named after its last component)
    /// and checks each entry: no absolute or '..' names, no devices, and no symlink leaving the venv
    /// except <c>bin/python</c> to exactly <paramref name="interpreter"/>.
    /// </summary>
    public static async Task<VenvPacker> SpoolAsync(Stream engineTar, string installPath, string interpreter, CancellationToken ct)
    {
        var blobPath = Path.Combine(Path.GetTempPath(), $"osva-build-spool-{Guid.NewGuid():N}");
        var packer = new VenvPacker(new FileStream(blobPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16,
            FileOptions.Asynchronous | FileOptions.DeleteOnClose));
        try
        {
            var rootName = Path.GetFileName(installPath);
            await using var reader = new TarReader(engineTar, leaveOpen: true);
            while (await reader.GetNextEntryAsync(copyData: false, ct) is { } entry)
            {
                var name = entry.Name.TrimEnd('/');
                if (name == rootName) continue;
                if (!name.StartsWith(rootName + "/", StringComparison.Ordinal))
                {
                    throw Unsafe(entry.Name, $"is outside {rootName}/");
                }
                var hardLinkTarget = entry.EntryType == TarEntryType.HardLink && entry.LinkName.StartsWith(rootName + "/", StringComparison.Ordinal)
                    ? entry.LinkName[(rootName.Length + 1)..] : entry.LinkName;
                await packer.AddAsync(name[(rootName.Length + 1)..], entry, hardLinkTarget, interpreter, ct);
            }
            return packer;
        }
        catch
        {
            await packer.DisposeAsync();
            throw;
        }
    }

    private async Task AddAsync(string path, TarEntry entry, string hardLinkTarget, string interpreter, CancellationToken ct)
    {
        if (path.Length == 0 || path.StartsWith('/') || path.Split('/').Any(p => p is "" or "." or ".."))
        {
            throw Unsafe(path, "is not a normalized relative path");
        }
        if (_byPath.ContainsKey(path)) throw Unsafe(path, "appears twice");
        SpooledEntry spooled;
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                spooled = new SpooledEntry(path, TarEntryType.Directory, Modes.Directory, 0, 0, null, null);
                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                DeterministicTarWriter.CheckFileSize(path, entry.Length);
                var offset = _blob.Position;
                string sha;
                await using (var hashing = new HashingStream(_blob, leaveOpen: true))
                {
                    if (entry.DataStream is { } data) await data.CopyToAsync(hashing, ct);
                    sha = hashing.Finish();
                }
                spooled = new SpooledEntry(path, TarEntryType.RegularFile, Modes.Normalize(entry.EntryType, entry.Mode), offset, _blob.Position - offset, sha, null);
                break;
            case TarEntryType.HardLink:
                // Hard links become copies: the installer then never has to resolve links between entries.
                if (!_byPath.TryGetValue(hardLinkTarget, out var source) || source.Type != TarEntryType.RegularFile)
                {
                    throw Unsafe(path, $"is a hard link to {entry.LinkName}, which is not an earlier file of the venv");
                }
                spooled = source with { Path = path, Mode = Modes.Normalize(TarEntryType.RegularFile, entry.Mode) };
                break;
            case TarEntryType.SymbolicLink:
                CheckLink(path, entry.LinkName, interpreter);
                spooled = new SpooledEntry(path, TarEntryType.SymbolicLink, Modes.Symlink, 0, 0, null, entry.LinkName);
                break;
            default:
                throw Unsafe(path, $"is a {entry.EntryType} entry; a venv holds only directories, files and symlinks");
        }
        _entries.Add(spooled);
        _byPath.Add(path, spooled);
    }

    /// <summary>The rule DESIGN.md states: only bin/python leaves the venv, and only to the interpreter the manifest names.</summary>
    internal static void CheckLink(string path, string target, string interpreter)
    {
        if (target.StartsWith('/'))
        {
            if (path == "bin/python" && target == interpreter) return;
            throw Unsafe(path, $"is a symlink to {target}; only bin/python may point outside the venv, and only to {interpreter}");
        }
        var depth = path.Count(c => c == '/');
        foreach (var part in target.Split('/'))
        {
            depth += part switch { ".." => -1, "." or "" => 0, _ => 1 };
            if (depth < 0) throw Unsafe(path, $"is a symlink to {target}, which leaves the venv");
        }
    }

    private static BuilderException Unsafe(string path, string problem) =>
        new("OSVA-B030", $"venv entry {path} {problem}", "check the requirements for packages that install outside their venv; rerun with --verbose");

    /// <summary>Writes the sorted, normalized tar.gz to <paramref name="destination"/> and returns its identity.</summary>
    public async Task<PackResult> WriteAsync(Stream destination, long sourceDateEpoch, CancellationToken ct)
    {
        var tree = new TreeHash();
        long files = 0, unpacked = 0;
        var gzHashing = new HashingStream(destination, leaveOpen: true);
        var gzip = new GZipStream(gzHashing, CompressionLevel.Optimal, leaveOpen: true);
        var tarHashing = new HashingStream(gzip, leaveOpen: true);
        await using (gzHashing)
        await using (gzip)
        await using (tarHashing)
        {
            var writer = new DeterministicTarWriter(tarHashing, sourceDateEpoch);
            foreach (var e in _entries.OrderBy(e => e.Path, EntryOrder.Instance))
            {
                switch (e.Type)
                {
                    case TarEntryType.Directory:
                        tree.Add(new TreeEntry(e.Path, TreeEntryKind.Directory, (int)e.Mode, 0, null, null));
                        await writer.WriteDirectoryAsync(e.Path, e.Mode, ct);
                        break;
                    case TarEntryType.SymbolicLink:
                        tree.Add(new TreeEntry(e.Path, TreeEntryKind.Symlink, (int)e.Mode, 0, null, e.LinkTarget));
                        files++;
                        await writer.WriteSymlinkAsync(e.Path, e.LinkTarget!, ct);
                        break;
                    default:
                        _blob.Position = e.Offset;
                        tree.Add(new TreeEntry(e.Path, TreeEntryKind.File, (int)e.Mode, e.Length, e.Sha256, null));
                        files++;
                        unpacked += e.Length;
                        await writer.WriteFileAsync(e.Path, e.Mode, _blob, e.Length, ct);
                        break;
                }
            }
            await writer.FinishAsync(ct);
            var tarSize = tarHashing.BytesHashed;
            var tarSha = tarHashing.Finish();
            await tarHashing.DisposeAsync();
            await gzip.DisposeAsync();
            await gzHashing.FlushAsync(ct);
            return new PackResult(gzHashing.Finish(), gzHashing.BytesHashed, tarSha, tarSize, tree.Compute(), files, unpacked);
        }
    }

    public async ValueTask DisposeAsync() => await _blob.DisposeAsync();
}

/// <summary>
/// Tar entry order: by path, component by component ('/' sorts before every other character), so each
/// directory's contents follow it directly and extractors can finish a directory before the next.
/// </summary>
internal sealed class EntryOrder : IComparer<string>
{
    public static readonly EntryOrder Instance = new();

    public int Compare(string? x, string? y) =>
        string.CompareOrdinal(x?.Replace('/', '\0'), y?.Replace('/', '\0'));
}
