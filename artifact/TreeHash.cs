using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace OsVenvArtifacts.Artifact;

public enum TreeEntryKind { Directory, File, Symlink }

/// <summary>One entry of a venv tree, path relative to the venv root with '/' separators.</summary>
public sealed record TreeEntry(string Path, TreeEntryKind Kind, int Mode, long Size, string? ContentSha256, string? LinkTarget);

/// <summary>
/// The identity of an unpacked venv, independent of tar and gzip: sha256 over one line per entry,
/// sorted by path (ordinal). The builder computes it while packing; the installer recomputes it
/// from disk for <c>verify</c>. Line format (docs/artifact-format.md):
/// <c>d 0755 - path</c>, <c>f 0644 &lt;size&gt; &lt;sha256&gt; path</c>, <c>l - &lt;target&gt; path</c>.
/// </summary>
public sealed class TreeHash
{
    private readonly List<TreeEntry> _entries = [];

    public IReadOnlyList<TreeEntry> Entries => _entries;

    public void Add(TreeEntry entry) => _entries.Add(entry);

    public static string Line(TreeEntry e) => e.Kind switch
    {
        TreeEntryKind.Directory => $"d {Octal(e.Mode)} - {e.Path}\n",
        TreeEntryKind.File => $"f {Octal(e.Mode)} {e.Size.ToString(CultureInfo.InvariantCulture)} {e.ContentSha256} {e.Path}\n",
        _ => $"l - {e.LinkTarget} {e.Path}\n",
    };

    public string Compute()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var entry in _entries.OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(Line(entry)));
        }
        return "sha256:" + Sha256.Hex(hash.GetHashAndReset());
    }

    private static string Octal(int mode) => Convert.ToString(mode & 0x1FF, 8).PadLeft(4, '0');
}
