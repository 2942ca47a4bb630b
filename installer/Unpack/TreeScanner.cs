using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Installer.Unpack;

/// <summary>Reads a venv tree back from disk in the same form the builder hashed it, for verify and after relocation.</summary>
internal static class TreeScanner
{
    public static async Task<List<TreeEntry>> ScanAsync(string root, CancellationToken ct)
    {
        var entries = new List<TreeEntry>();
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var info in new DirectoryInfo(dir).EnumerateFileSystemInfos())
            {
                ct.ThrowIfCancellationRequested();
                // Linux names may hold a backslash; it is part of the name, not a separator.
                var rel = Path.GetRelativePath(root, info.FullName);
                var mode = (int)info.UnixFileMode & 0x1FF;
                if (!info.Exists)
                {
                    // .NET decodes names lossily: one that is not UTF-8 comes back with U+FFFD and cannot be opened by
                    // that name. Listed with no content, so verify shows it as added; unpacking never creates such a name.
                    entries.Add(new TreeEntry(rel, info is DirectoryInfo ? TreeEntryKind.Directory : TreeEntryKind.File, 0, 0, null, null));
                }
                else if (info.LinkTarget is { } target)
                {
                    entries.Add(new TreeEntry(rel, TreeEntryKind.Symlink, 0, 0, null, target));
                }
                else if (info is DirectoryInfo)
                {
                    entries.Add(new TreeEntry(rel, TreeEntryKind.Directory, mode, 0, null, null));
                    pending.Push(info.FullName);
                }
                else if (info is FileInfo file)
                {
                    entries.Add(new TreeEntry(rel, TreeEntryKind.File, mode, file.Length, await Sha256.OfFileAsync(file.FullName, ct), null));
                }
            }
        }
        return entries;
    }

    public static string Hash(IEnumerable<TreeEntry> entries)
    {
        var hash = new TreeHash();
        foreach (var e in entries) hash.Add(e);
        return hash.Compute();
    }
}
