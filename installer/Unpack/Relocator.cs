using System.Text;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Installer.Unpack;

/// <summary>
/// Moves a venv built for one path to another: rewrites the old path in bin/ scripts (shebangs, pip's
/// long-path <c>exec</c> trampoline, the activate scripts) and in pyvenv.cfg. Binary files are left alone.
/// </summary>
internal static class Relocator
{
    private const long MaxScriptSize = 1 << 20;

    /// <returns>The venv-relative paths that were rewritten.</returns>
    public static async Task<IReadOnlyList<string>> RelocateAsync(string venv, string from, string to, CancellationToken ct)
    {
        var changed = new List<string>();
        var candidates = new List<string>();
        var bin = Path.Combine(venv, "bin");
        if (Directory.Exists(bin)) candidates.AddRange(Directory.EnumerateFiles(bin));
        candidates.Add(Path.Combine(venv, "pyvenv.cfg"));
        foreach (var path in candidates)
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.LinkTarget is not null || info.Length > MaxScriptSize) continue;
            var bytes = await File.ReadAllBytesAsync(path, ct);
            if (Array.IndexOf(bytes, (byte)0) >= 0) continue;
            var text = Encoding.UTF8.GetString(bytes);
            var rewritten = Rewrite(text, from, to);
            if (rewritten == text) continue;
            await AtomicFile.WriteAllTextAsync(path, rewritten, ct, info.UnixFileMode);
            changed.Add(Path.GetRelativePath(venv, path));
        }
        return changed;
    }

    /// <summary>Replaces the old venv path only where it is followed by a path end, so /venvs/a-1 never matches inside /venvs/a-10.</summary>
    internal static string Rewrite(string text, string from, string to)
    {
        var result = new StringBuilder(text.Length);
        var start = 0;
        for (var i = text.IndexOf(from, StringComparison.Ordinal); i >= 0; i = text.IndexOf(from, start, StringComparison.Ordinal))
        {
            var end = i + from.Length;
            var bounded = end == text.Length || text[end] is '/' or '"' or '\'' or '\n' or '\r' or ' ' or ':' or '\t';
            result.Append(text, start, i - start).Append(bounded ? to : from);
            start = end;
        }
        return result.Append(text, start, text.Length - start).ToString();
    }
}
