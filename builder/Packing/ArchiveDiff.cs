using System.Formats.Tar;
using System.IO.Compression;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Builder.Packing;

/// <summary>
/// Compares two artifacts entry by entry (name, type, mode, owner, mtime, size, content hash, link target)
/// and names the first differences, so a reproducibility failure points at the file that drifted.
/// </summary>
internal static class ArchiveDiff
{
    internal sealed record EntryFacts(int Index, string Name, string Facts);

    public static async Task<List<string>> CompareAsync(string a, string b, int limit, CancellationToken ct)
    {
        var left = await ReadAsync(a, ct);
        var right = await ReadAsync(b, ct);
        var differences = new List<string>();
        foreach (var name in left.Keys.Union(right.Keys).Order(StringComparer.Ordinal))
        {
            if (differences.Count >= limit) break;
            var inLeft = left.TryGetValue(name, out var l);
            var inRight = right.TryGetValue(name, out var r);
            if (!inRight) differences.Add($"only in A: {name}");
            else if (!inLeft) differences.Add($"only in B: {name}");
            else if (l!.Facts != r!.Facts) differences.Add($"differs: {name} (A: {l.Facts}; B: {r.Facts})");
        }
        if (differences.Count > 0) return differences;
        // Same entries, so any remaining difference is their order in the archive.
        foreach (var (name, l) in left.OrderBy(e => e.Value.Index))
        {
            if (differences.Count >= limit) break;
            if (right[name].Index != l.Index) differences.Add($"order: {name} is entry {l.Index} in A, {right[name].Index} in B");
        }
        return differences;
    }

    private static async Task<Dictionary<string, EntryFacts>> ReadAsync(string path, CancellationToken ct)
    {
        if (!File.Exists(path))
        {
            throw new BuilderException("OSVA-B050", $"{path} does not exist", "give two .tar.gz artifacts", ExitCode.InvalidInput);
        }
        var entries = new Dictionary<string, EntryFacts>(StringComparer.Ordinal);
        try
        {
            await using var file = File.OpenRead(path);
            await using var gzip = new GZipStream(file, CompressionMode.Decompress);
            await using var reader = new TarReader(gzip);
            var index = 0;
            while (await reader.GetNextEntryAsync(copyData: false, ct) is { } e)
            {
                var content = e.DataStream is { } data ? await Sha256.OfStreamAsync(data, ct) : "-";
                var mode = Convert.ToString((int)e.Mode, 8);
                var facts = $"{e.EntryType} mode {mode} uid {e.Uid} gid {e.Gid} mtime {e.ModificationTime.ToUnixTimeSeconds()} size {e.Length} sha256 {content[..Math.Min(12, content.Length)]} link {e.LinkName}";
                entries[e.Name] = new EntryFacts(index++, e.Name, facts);
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new BuilderException("OSVA-B051", $"{path} is not a readable tar.gz: {e.Message}", "give two .tar.gz artifacts", ExitCode.InvalidInput);
        }
        return entries;
    }
}
