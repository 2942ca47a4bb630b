using System.Formats.Tar;
using System.IO.Compression;
using System.Text.RegularExpressions;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Installer.Unpack;

/// <summary>Bounds on what one archive may unpack to, so a hostile archive cannot fill the disk.</summary>
internal sealed record ExtractLimits(long MaxEntrySize, long MaxTotalSize, long MaxEntries)
{
    public static ExtractLimits For(Manifest manifest) => new(
        MaxEntrySize: 4L << 30,
        MaxTotalSize: manifest.UnpackedSize > 0 ? manifest.UnpackedSize : 64L << 30,
        MaxEntries: 1_000_000);
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
    [GeneratedRegex(@"^bin/python[0-9.]*$")]
    private static partial Regex InterpreterLink();

    private const UnixFileMode Permissions = (UnixFileMode)0x1FF;

    public static async Task<ExtractResult> ExtractAsync(string archive, string target, Manifest manifest, ExtractLimits limits, CancellationToken ct)
    {
        Directory.CreateDirectory(target);
        var archiveName = Path.GetFileName(archive);
        var tree = new List<TreeEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var links = new HashSet<string>(StringComparer.Ordinal);
        var files = new HashSet<string>(StringComparer.Ordinal);
        var directoryModes = new List<(string Path, UnixFileMode Mode)>();
        long total = 0, count = 0;

        // Synchronous reads and writes: Linux has no async file I/O to gain from, and per-call async allocations
        // made the GC's gen0 budget (so peak RSS) grow with the artifact's size.
        await using var compressed = new FileStream(archive, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: false);
        await using var gzip = new GZipStream(compressed, CompressionMode.Decompress);
        using var tarHash = new HashingStream(gzip, leaveOpen: true);
        using (var reader = new TarReader(tarHash, leaveOpen: true))
        {
            TarEntry? entry;
            while ((entry = Next(reader, archiveName, ct)) is not null)
            {
                var path = Normalize(entry.Name, archiveName);
                if (path is null) continue;
                void Reject(string reason) => throw Unsafe(archiveName, entry.Name, reason);

                if (++count > limits.MaxEntries) Reject($"more than {limits.MaxEntries} entries");
                if (!seen.Add(path)) Reject("duplicate entry (a second entry could replace a checked one)");
                if (Ancestors(path).FirstOrDefault(links.Contains) is { } via) Reject($"path goes through the symlink '{via}'");
                if ((entry.Mode & (UnixFileMode.SetUser | UnixFileMode.SetGroup)) != 0) Reject("setuid or setgid bit");
                var mode = entry.Mode & Permissions;
                var full = Path.Join(target, path);
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        Directory.CreateDirectory(full);
                        directoryModes.Add((full, mode));
                        tree.Add(new TreeEntry(path, TreeEntryKind.Directory, (int)mode, 0, null, null));
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        if (entry.Length > limits.MaxEntrySize) Reject($"size {entry.Length} is over the {limits.MaxEntrySize}-byte entry limit");
                        total += entry.Length;
                        if (total > limits.MaxTotalSize) Reject($"unpacked size passes {limits.MaxTotalSize} bytes, the size its manifest states");
                        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                        var sha = WriteFile(entry, full, mode);
                        files.Add(path);
                        tree.Add(new TreeEntry(path, TreeEntryKind.File, (int)mode, entry.Length, sha, null));
                        break;
                    case TarEntryType.SymbolicLink:
                        CheckSymlink(path, entry.LinkName, manifest.Platform.PythonPath, Reject);
                        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                        File.CreateSymbolicLink(full, entry.LinkName);
                        links.Add(path);
                        tree.Add(new TreeEntry(path, TreeEntryKind.Symlink, 0, 0, null, entry.LinkName));
                        break;
                    case TarEntryType.HardLink:
                        var source = Normalize(entry.LinkName, archiveName);
                        if (source is null || !files.Contains(source)) Reject($"hardlink to '{entry.LinkName}', which is not a file unpacked earlier in the venv");
                        // A copy, not a link: the venv then shares no inode with anything an attacker could name.
                        File.Copy(Path.Join(target, source), full);
                        File.SetUnixFileMode(full, mode);
                        var copied = tree.Last(t => t.Path == source);
                        files.Add(path);
                        tree.Add(copied with { Path = path, Mode = (int)mode });
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
        // The tar hash covers the end-of-archive blocks too, which TarReader does not read.
        tarHash.CopyTo(Stream.Null);
        foreach (var (dir, mode) in directoryModes) File.SetUnixFileMode(dir, mode);
        var tarSha = tarHash.Finish();
        var hash = new TreeHash();
        foreach (var e in tree) hash.Add(e);
        return new ExtractResult(tree, hash.Compute(), tarSha, total, files.Count);
    }

    private static TarEntry? Next(TarReader reader, string archive, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        try
        {
            return reader.GetNextEntry(copyData: false);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
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
        var parts = name.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").ToList();
        if (parts.Contains("..")) throw Unsafe(archive, name, "'..' in the path");
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
