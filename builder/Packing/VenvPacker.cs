using System.Formats.Tar;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Builder.Packing;

/// <summary>What packing produced: the hashes and counts the manifest records.</summary>
internal sealed record PackResult(string Sha256, long Size, string TarSha256, long TarSize, string TreeHash, long FileCount, long UnpackedSize);

/// <summary>
/// Turns a venv tree into the artifact's deterministic tar.gz. The tree comes either from the tar the Docker archive
/// API returns (<see cref="SpoolAsync"/>: entry data goes to one temp file, never memory, metadata to a list) or from
/// a directory on this host (<see cref="FromDirectory"/>: files are read in place while writing). Either way the same
/// checks apply, then entries are written sorted by path with every varying field fixed: mtime =
/// SOURCE_DATE_EPOCH, uid/gid 0, user and group root, normalized modes, GNU format as GNU tar 1.34 writes it
/// (<see cref="DeterministicTarWriter"/>), compressed by <see cref="ParallelGzipStream"/> into one gzip member.
/// Entry names are relative to the venv root (<c>bin/python</c>); the install path is in the manifest.
/// </summary>
internal sealed class VenvPacker : IAsyncDisposable
{
    /// <summary>
    /// Part of the build key: raise it whenever the bytes written for the same tree change, so cached artifacts are rebuilt.
    /// 2: own GNU writer (atime/ctime empty, user and group root), replacing .NET's TarWriter.
    /// 3: gzip deflated in independent 1 MiB blocks on several threads (<see cref="ParallelGzipStream"/>).
    /// </summary>
    public const int FormatRevision = 3;

    private readonly List<PackEntry> _entries = [];
    private readonly Dictionary<string, PackEntry> _byPath = new(StringComparer.Ordinal);
    private readonly FileStream? _blob;

    private VenvPacker(FileStream? blob) => _blob = blob;

    /// <summary>
    /// One entry to write. A file's data is either <see cref="Length"/> bytes at <see cref="Offset"/> of the spool
    /// (content hash known) or the host file <see cref="SourceFile"/> (hashed while it is written).
    /// </summary>
    private sealed record PackEntry(string Path, TarEntryType Type, UnixFileMode Mode, long Length = 0, string? LinkTarget = null,
        long Offset = 0, string? Sha256 = null, string? SourceFile = null);

    /// <summary>The threads that deflate when the caller names none: one per core.</summary>
    public static int DefaultThreads => Environment.ProcessorCount;

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
        CheckName(path);
        PackEntry spooled;
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                spooled = new PackEntry(path, TarEntryType.Directory, Modes.Directory);
                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                DeterministicTarWriter.CheckFileSize(path, entry.Length);
                var blob = _blob!;
                var offset = blob.Position;
                string sha;
                await using (var hashing = new HashingStream(blob, leaveOpen: true))
                {
                    if (entry.DataStream is { } data) await data.CopyToAsync(hashing, ct);
                    sha = hashing.Finish();
                }
                spooled = new PackEntry(path, TarEntryType.RegularFile, Modes.Normalize(entry.EntryType, entry.Mode), blob.Position - offset,
                    Offset: offset, Sha256: sha);
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
                spooled = new PackEntry(path, TarEntryType.SymbolicLink, Modes.Symlink, LinkTarget: entry.LinkName);
                break;
            default:
                throw Unsafe(path, $"is a {entry.EntryType} entry; a venv holds only directories, files and symlinks");
        }
        Add(spooled);
    }

    /// <summary>
    /// Takes the venv tree under <paramref name="directory"/> as it is on this host, with the checks the build applies to
    /// the engine's tar. Only metadata is read here; file data is read while writing. Hard links become copies.
    /// </summary>
    public static VenvPacker FromDirectory(string directory, string interpreter, CancellationToken ct)
    {
        var packer = new VenvPacker(null);
        packer.AddTree(Path.GetFullPath(directory), "", interpreter, ct);
        return packer;
    }

    private void AddTree(string hostDirectory, string relative, string interpreter, CancellationToken ct)
    {
        foreach (var info in new DirectoryInfo(hostDirectory).EnumerateFileSystemInfos())
        {
            ct.ThrowIfCancellationRequested();
            var path = relative.Length == 0 ? info.Name : $"{relative}/{info.Name}";
            CheckName(path);
            var (kind, size) = UnixFile.Inspect(info.FullName);
            switch (kind)
            {
                case FileKind.Directory:
                    Add(new PackEntry(path, TarEntryType.Directory, Modes.Directory));
                    AddTree(info.FullName, path, interpreter, ct);
                    break;
                case FileKind.Symlink:
                    var target = info.LinkTarget ?? throw Unsafe(path, "is a symlink that cannot be read");
                    CheckLink(path, target, interpreter);
                    Add(new PackEntry(path, TarEntryType.SymbolicLink, Modes.Symlink, LinkTarget: target));
                    break;
                case FileKind.Regular:
                    DeterministicTarWriter.CheckFileSize(path, size);
                    Add(new PackEntry(path, TarEntryType.RegularFile, Modes.Normalize(TarEntryType.RegularFile, info.UnixFileMode), size,
                        SourceFile: info.FullName));
                    break;
                default:
                    throw Unsafe(path, $"is a {kind}; a venv holds only directories, files and symlinks");
            }
        }
    }

    private void Add(PackEntry entry)
    {
        if (!_byPath.TryAdd(entry.Path, entry)) throw Unsafe(entry.Path, "appears twice");
        _entries.Add(entry);
    }

    /// <summary>Relative, normalized, and UTF-8 (a name that is not decodes with U+FFFD and could not be recreated).</summary>
    private static void CheckName(string path)
    {
        if (path.Length == 0 || path.StartsWith('/') || path.Split('/').Any(p => p is "" or "." or ".."))
        {
            throw Unsafe(path, "is not a normalized relative path");
        }
        if (path.Contains('\uFFFD', StringComparison.Ordinal)) throw Unsafe(path, "is not valid UTF-8");
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
    public Task<PackResult> WriteAsync(Stream destination, long sourceDateEpoch, CancellationToken ct) =>
        WriteAsync(destination, sourceDateEpoch, DefaultThreads, ct);

    /// <summary>The same bytes whatever <paramref name="threads"/> is: it only says how many blocks deflate at once.</summary>
    public async Task<PackResult> WriteAsync(Stream destination, long sourceDateEpoch, int threads, CancellationToken ct)
    {
        var tree = new TreeHash();
        long files = 0, unpacked = 0;
        var gzHashing = new HashingStream(destination, leaveOpen: true);
        var gzip = new ParallelGzipStream(gzHashing, threads);
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
                        var sha = e.SourceFile is null ? await WriteSpooledAsync(writer, e, ct) : await WriteHostFileAsync(writer, e, ct);
                        tree.Add(new TreeEntry(e.Path, TreeEntryKind.File, (int)e.Mode, e.Length, sha, null));
                        files++;
                        unpacked += e.Length;
                        break;
                }
            }
            await writer.FinishAsync(ct);
            var tarSize = tarHashing.BytesHashed;
            var tarSha = tarHashing.Finish();
            await gzip.CompleteAsync(ct);
            await gzHashing.FlushAsync(ct);
            return new PackResult(gzHashing.Finish(), gzHashing.BytesHashed, tarSha, tarSize, tree.Compute(), files, unpacked);
        }
    }

    private async Task<string> WriteSpooledAsync(DeterministicTarWriter writer, PackEntry e, CancellationToken ct)
    {
        _blob!.Position = e.Offset;
        await writer.WriteFileAsync(e.Path, e.Mode, _blob, e.Length, ct);
        return e.Sha256!;
    }

    /// <summary>Copies a host file into the tar, hashing it on the way; a file that changed size since the walk fails the pack.</summary>
    private static async Task<string> WriteHostFileAsync(DeterministicTarWriter writer, PackEntry e, CancellationToken ct)
    {
        await using var file = new FileStream(e.SourceFile!, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        await using var hashing = new HashingStream(file);
        try
        {
            await writer.WriteFileAsync(e.Path, e.Mode, hashing, e.Length, ct);
        }
        catch (EndOfStreamException)
        {
            throw Changed(e.Path);
        }
        if (file.Length != e.Length) throw Changed(e.Path);
        return hashing.Finish();
    }

    private static BuilderException Changed(string path) =>
        new("OSVA-B091", $"venv file {path} changed size while it was being packed", "pack a tree nothing writes to (stop the service or copy it first)");

    public async ValueTask DisposeAsync()
    {
        if (_blob is not null) await _blob.DisposeAsync();
    }
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
