using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Host;

namespace OsVenvArtifacts.Installer.Unpack;

/// <summary>
/// Bounds on what one archive may unpack to: the manifest's own sizes, each within the host's limits
/// (<c>/etc/osva/osva.conf</c>), checked before a byte is downloaded, so a hostile build can neither switch the
/// bounds off (a size of 0) nor name sizes past what the host allows.
/// </summary>
internal sealed record ExtractLimits(long MaxEntrySize, long UnpackedSize, long FileCount, long MaxEntries, long TarSize)
{
    public static ExtractLimits For(Manifest manifest, IndexArtifact indexed, HostConfig config)
    {
        var id = manifest.Id;
        Within("archive size", manifest.Archive.Size, config.MaxArchiveSize, "max-archive-size");
        Within("unpacked size", manifest.UnpackedSize, config.MaxUnpackedSize, "max-unpacked-size");
        Within("file count", manifest.FileCount, config.MaxEntries, "max-entries", "files");
        // Headers and padding make the tar longer than its files, never more than a few KiB per entry.
        // Saturated: a large max-entries would wrap the sum negative and refuse every artifact (found by make fuzz).
        var tarLimit = config.MaxEntries > (long.MaxValue - config.MaxUnpackedSize) >> 12 ? long.MaxValue : config.MaxUnpackedSize + (config.MaxEntries << 12);
        Within("tar size", manifest.Archive.TarSize, tarLimit, "max-unpacked-size");
        if (manifest.Archive.TarSize < manifest.UnpackedSize)
        {
            throw Refused($"{id} states a tar of {manifest.Archive.TarSize} bytes holding {manifest.UnpackedSize} bytes of files");
        }
        if (indexed.ArchiveSize != manifest.Archive.Size)
        {
            throw Refused($"{id}: the index says the archive has {indexed.ArchiveSize} bytes, its manifest says {manifest.Archive.Size}");
        }
        return new ExtractLimits(config.MaxEntrySize, manifest.UnpackedSize, manifest.FileCount, config.MaxEntries, manifest.Archive.TarSize);

        void Within(string what, long value, long limit, string setting, string unit = "bytes")
        {
            if (value <= 0) throw Refused($"{id} states {what} {value}; it must be positive");
            if (value > limit)
            {
                throw new InstallerException("OSVA-I044", $"{id} states {what} {value}, over this host's limit of {limit} {unit}",
                    $"nothing was downloaded; if the artifact is right, raise {setting} in {HostConfig.HostPath}", ExitCode.VerificationFailed);
            }
        }
    }

    /// <summary>
    /// The image a manifest records, held to the host's rules before a byte of it is downloaded: its file is the
    /// artifact's own name (a name from the manifest never becomes a path), a squashfs, and its size positive, within
    /// max-archive-size and the one the index states.
    /// </summary>
    public static void CheckImage(Manifest manifest, ImageInfo image, IndexArtifact indexed, HostConfig config)
    {
        var id = manifest.Id;
        if (image.FileName != id.ImageFileName || image.Format != ImageInfo.Squashfs)
        {
            throw Refused($"{id} records an image '{image.FileName}' of type '{image.Format}'; only {id.ImageFileName}, a {ImageInfo.Squashfs}, is read");
        }
        if (image.Size <= 0) throw Refused($"{id} states image size {image.Size}; it must be positive");
        if (image.Size > config.MaxArchiveSize)
        {
            throw new InstallerException("OSVA-I044", $"{id} states image size {image.Size}, over this host's limit of {config.MaxArchiveSize} bytes",
                $"nothing was downloaded; if the artifact is right, raise max-archive-size in {HostConfig.HostPath}", ExitCode.VerificationFailed);
        }
        if (indexed.ImageSize is { } listed && listed != image.Size)
        {
            throw Refused($"{id}: the index says the image has {listed} bytes, its manifest says {image.Size}");
        }
    }

    private static InstallerException Refused(string problem) =>
        new("OSVA-I044", problem, "nothing was downloaded; the manifest is damaged or hostile: rebuild and republish the artifact",
            ExitCode.VerificationFailed);
}

internal sealed record ExtractResult(IReadOnlyList<TreeEntry> Tree, string TreeHash, string TarSha256, long Size, long Files);

/// <summary>
/// Unpacks a venv archive entry by entry with System.Formats.Tar, validating every entry before anything is written:
/// relative paths only, no '..', no entry below a symlink, no duplicates, only directories, regular files, links
/// that stay inside the venv (plus bin/python* pointing at the manifest's interpreter), hardlinks only to files
/// already unpacked, no devices or fifos, no setuid/setgid, sizes bounded. Never an "extract all" helper.
/// </summary>
internal static partial class SafeExtractor
{
    [GeneratedRegex(@"^bin/python[0-9.]*\z")]
    private static partial Regex InterpreterLink();

    private const UnixFileMode Permissions = (UnixFileMode)0x1FF;
    private const UnixFileMode Special = UnixFileMode.SetUser | UnixFileMode.SetGroup | UnixFileMode.StickyBit;
    private const UnixFileMode GroupOrOtherWrite = UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;

    public static async Task<ExtractResult> ExtractAsync(string archive, string target, Manifest manifest, ExtractLimits limits, CancellationToken ct)
    {
        Directory.CreateDirectory(target);
        var archiveName = Path.GetFileName(archive);
        var tree = new List<TreeEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var links = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new Dictionary<string, TreeEntry>(StringComparer.Ordinal);
        var directoryModes = new List<(string Path, UnixFileMode Mode)>();
        // fileCount counts what is not a directory (files and symlinks), as osva-build writes it.
        long total = 0, count = 0, nonDirectories = 0;

        // Synchronous reads and writes: Linux has no async file I/O to gain from, and per-call async allocations
        // made the GC's gen0 budget (so peak RSS) grow with the artifact's size.
        await using var compressed = new FileStream(archive, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: false);
        await using var gzip = new GZipStream(compressed, CompressionMode.Decompress);
        using var tarHash = new HashingStream(gzip, leaveOpen: true);
        await using var guard = new TarStreamGuard(tarHash, limits.TarSize, archiveName);
        guard.ReadGzipTrailer(archive);
        using (var reader = new TarReader(guard, leaveOpen: true))
        {
            TarEntry? entry;
            while ((entry = Next(reader, archiveName, ct)) is not null)
            {
                var path = Normalize(entry.Name, archiveName);
                if (path is null) continue;
                void Reject(string reason) => throw Unsafe(archiveName, entry.Name, reason);

                if (++count > limits.MaxEntries) Reject($"more than {limits.MaxEntries} entries");
                if (!seen.Add(path)) Reject("duplicate entry (a second entry could replace a checked one)");
                if (Ancestors(path).FirstOrDefault(links.ContainsKey) is { } via) Reject($"path goes through the symlink '{via}'");
                if (Ancestors(path).FirstOrDefault(files.ContainsKey) is { } under) Reject($"path goes through the file '{under}'");
                // PEP 706's data filter, refused rather than changed: a changed mode would not be the tree the manifest signs.
                if (entry.EntryType is TarEntryType.Directory or TarEntryType.RegularFile or TarEntryType.V7RegularFile
                    or TarEntryType.ContiguousFile or TarEntryType.HardLink)
                {
                    if ((entry.Mode & Special) != 0) Reject("setuid, setgid or sticky bit");
                    if ((entry.Mode & GroupOrOtherWrite) != 0) Reject($"mode {Convert.ToString((int)entry.Mode, 8)} lets group or others write in a venv root runs");
                }
                var mode = entry.Mode & Permissions;
                var full = Path.Join(target, path);
                // A directory made implicitly for an earlier entry's parent must not become a link or a file.
                if (entry.EntryType != TarEntryType.Directory && Path.Exists(full)) Reject("replaces a directory unpacked earlier");
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        Directory.CreateDirectory(full);
                        directoryModes.Add((full, mode));
                        tree.Add(new TreeEntry(path, TreeEntryKind.Directory, (int)mode, 0, null, null));
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        if (entry.Length > limits.MaxEntrySize) Reject($"size {entry.Length} is over the {limits.MaxEntrySize}-byte entry limit");
                        // Checked before the file is created, so preallocation never passes what the free-space check allowed.
                        total += entry.Length;
                        if (total > limits.UnpackedSize) Reject($"unpacked size passes {limits.UnpackedSize} bytes, the size its manifest states");
                        if (++nonDirectories > limits.FileCount) Reject($"more than the {limits.FileCount} files its manifest states");
                        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                        var sha = WriteFile(entry, full, mode);
                        var file = new TreeEntry(path, TreeEntryKind.File, (int)mode, entry.Length, sha, null);
                        files.Add(path, file);
                        tree.Add(file);
                        break;
                    case TarEntryType.SymbolicLink:
                        CheckSymlink(path, entry.LinkName, manifest.Platform.PythonPath, Reject);
                        if (++nonDirectories > limits.FileCount) Reject($"more than the {limits.FileCount} files its manifest states");
                        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                        File.CreateSymbolicLink(full, entry.LinkName);
                        links.Add(path, entry.LinkName);
                        tree.Add(new TreeEntry(path, TreeEntryKind.Symlink, 0, 0, null, entry.LinkName));
                        break;
                    case TarEntryType.HardLink:
                        var source = Normalize(entry.LinkName, archiveName);
                        if (source is null || !files.TryGetValue(source, out var copied)) Reject($"hardlink to '{entry.LinkName}', which is not a file unpacked earlier in the venv");
                        copied = files[source!];
                        total += copied.Size;
                        if (total > limits.UnpackedSize) Reject($"unpacked size passes {limits.UnpackedSize} bytes, the size its manifest states");
                        if (++nonDirectories > limits.FileCount) Reject($"more than the {limits.FileCount} files its manifest states");
                        // A copy, not a link: the venv then shares no inode with anything an attacker could name.
                        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                        File.Copy(Path.Join(target, source), full);
                        File.SetUnixFileMode(full, mode);
                        var copy = copied with { Path = path, Mode = (int)mode };
                        files.Add(path, copy);
                        tree.Add(copy);
                        break;
                    case TarEntryType.CharacterDevice or TarEntryType.BlockDevice:
                        Reject("device node");
                        break;
                    case TarEntryType.Fifo:
                        Reject("fifo");
                        break;
                    default:
                        Reject($"unsupported entry type {entry.EntryType}");
                        break;
                }
            }
        }
        foreach (var (link, linkTarget) in links) CheckResolution(link, linkTarget, links, archiveName);
        // The tar hash covers the end-of-archive blocks too, which TarReader does not read.
        guard.CheckEnd(ct);
        if (total != limits.UnpackedSize || nonDirectories != limits.FileCount)
        {
            throw new InstallerException("OSVA-I031", $"{archiveName} unpacks to {nonDirectories} files of {total} bytes but its manifest says {limits.FileCount} files of {limits.UnpackedSize} bytes",
                "the archive does not match its manifest; rebuild and republish it", ExitCode.VerificationFailed);
        }
        foreach (var (dir, mode) in directoryModes) File.SetUnixFileMode(dir, mode);
        var tarSha = tarHash.Finish();
        var hash = new TreeHash();
        foreach (var e in tree) hash.Add(e);
        return new ExtractResult(tree, hash.Compute(), tarSha, total, nonDirectories);
    }

    private static TarEntry? Next(TarReader reader, string archive, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        try
        {
            return reader.GetNextEntry(copyData: false);
        }
        // NotSupportedException: entry types System.Formats.Tar does not read (GNU sparse files, multi-volume).
        // Found by make fuzz: OverflowException (a base-256 number too large for its field), ArgumentException (a time
        // past DateTime's range), InvalidOperationException (a GNU long name or link whose size field is too large).
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or NotSupportedException
            or OverflowException or ArgumentException or InvalidOperationException)
        {
            throw new InstallerException("OSVA-I033", $"{archive} is not a readable tar.gz: {e.Message}",
                "the archive is damaged; rebuild it with osva-build", ExitCode.VerificationFailed, e);
        }
    }

    /// <summary>The entry's path relative to the venv root, or null for the root itself; rejects anything that could leave it.</summary>
    internal static string? Normalize(string name, string archive)
    {
        if (name.Contains('\0', StringComparison.Ordinal)) throw Unsafe(archive, name, "NUL byte in the path");
        if (name.StartsWith('/')) throw Unsafe(archive, name, "absolute path");
        // System.Formats.Tar decodes names as UTF-8 and turns invalid bytes into U+FFFD: such a name would be unpacked
        // under another name than the archive's, so it is refused (a literal U+FFFD cannot be told apart from one).
        if (name.Contains('\uFFFD', StringComparison.Ordinal)) throw Unsafe(archive, name, "name is not valid UTF-8 (or holds U+FFFD)");
        var parts = name.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").ToList();
        if (parts.Contains("..")) throw Unsafe(archive, name, "'..' in the path");
        // Linux's NAME_MAX and PATH_MAX, with room for the venvs root in front.
        if (parts.Any(p => Encoding.UTF8.GetByteCount(p) > 255) || Encoding.UTF8.GetByteCount(name) > 3840)
        {
            throw Unsafe(archive, name[..Math.Min(name.Length, 80)] + "...", "name longer than the file system allows");
        }
        return parts.Count == 0 ? null : string.Join('/', parts);
    }

    private static void CheckSymlink(string path, string target, string interpreter, Action<string> reject)
    {
        if (target.Length == 0 || target.Contains('\0', StringComparison.Ordinal)) reject("empty symlink target");
        if (target.StartsWith('/'))
        {
            if (!InterpreterLink().IsMatch(path)) reject($"symlink to the absolute path '{target}' (only bin/python* may leave the venv)");
            else if (target != interpreter) reject($"interpreter link to '{target}', not the manifest's interpreter '{interpreter}'");
            return;
        }
        // Resolved lexically from the link's directory; every other link has been checked the same way, so no chain can escape.
        var stack = new List<string>(path.Split('/')[..^1]);
        foreach (var part in target.Split('/'))
        {
            if (part is "" or ".") continue;
            if (part == "..")
            {
                if (stack.Count == 0) { reject($"symlink to '{target}' escapes the venv"); return; }
                stack.RemoveAt(stack.Count - 1);
            }
            else stack.Add(part);
        }
    }

    /// <summary>
    /// Resolves a link as the kernel would, through every other link of the archive: a <c>..</c> after a link goes to
    /// the parent of where that link points, not of its name, so a chain of links each harmless alone can still leave
    /// the venv (<c>a/b -&gt; ..</c>, <c>x -&gt; a/b/../..</c>). Refuses an escape and a loop (more than 40 links, as Linux).
    /// </summary>
    private static void CheckResolution(string link, string linkTarget, Dictionary<string, string> links, string archive)
    {
        if (linkTarget.StartsWith('/')) return;
        var at = new List<string>(link.Split('/')[..^1]);
        var pending = new LinkedList<string>(linkTarget.Split('/'));
        var hops = 0;
        while (pending.First is { } next)
        {
            pending.RemoveFirst();
            var part = next.Value;
            if (part is "" or ".") continue;
            if (part == "..")
            {
                if (at.Count == 0) throw Unsafe(archive, link, $"symlink to '{linkTarget}' leaves the venv through other links");
                at.RemoveAt(at.Count - 1);
                continue;
            }
            if (!links.TryGetValue(string.Join('/', at.Append(part)), out var through))
            {
                at.Add(part);
                continue;
            }
            if (++hops > 40) throw Unsafe(archive, link, "symlink loop");
            if (through.StartsWith('/')) return;
            foreach (var p in through.Split('/').Reverse()) pending.AddFirst(p);
        }
    }

    private static IEnumerable<string> Ancestors(string path)
    {
        for (var i = path.IndexOf('/', StringComparison.Ordinal); i > 0; i = path.IndexOf('/', i + 1))
        {
            yield return path[..i];
        }
    }

    private static string WriteFile(TarEntry entry, string path, UnixFileMode mode)
    {
        using var file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            BufferSize = 0,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            PreallocationSize = entry.Length,
        });
        using var hashing = new HashingStream(file, leaveOpen: true);
        if (entry.DataStream is { } data) data.CopyTo(hashing, 1 << 16);
        if (hashing.BytesHashed != entry.Length)
        {
            throw Unsafe(Path.GetFileName(path), entry.Name, $"holds {hashing.BytesHashed} bytes, its header says {entry.Length}");
        }
        File.SetUnixFileMode(file.SafeFileHandle, mode);
        return hashing.Finish();
    }

    private static InstallerException Unsafe(string archive, string entry, string reason) =>
        new("OSVA-I030", $"{archive}: entry '{entry}' refused: {reason}",
            "nothing was installed; the artifact is unsafe or damaged, rebuild it with osva-build", ExitCode.VerificationFailed);
}
