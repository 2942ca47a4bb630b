using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Installer.State;

/// <summary>One line of a <c>.tree</c> file: the fields of the tree-hash line (docs/artifact-format.md), named.</summary>
internal sealed record TreeRecord(string Kind, string Path, string? Mode = null, long? Size = null, string? Sha256 = null, string? Target = null);

/// <summary>What a <c>.tree</c> file holds, and whether an older osva-install wrote it (see <see cref="TreeFile"/>).</summary>
internal sealed record RecordedTree(IReadOnlyList<TreeEntry> Entries, bool Legacy);

[JsonSourceGenerationOptions(
    WriteIndented = false,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    RespectNullableAnnotations = true)]
[JsonSerializable(typeof(TreeRecord))]
internal sealed partial class TreeFileJsonContext : JsonSerializerContext;

/// <summary>
/// The entry list of an installed tag, <c>/var/lib/osva/&lt;service&gt;/&lt;tag&gt;.tree</c>, that verify compares the disk
/// with: one JSON object a line, <c>{"kind":"f","path":"bin/nova-api","mode":"0755","size":123,"sha256":"..."}</c>.
/// JSON, because a file name may hold any byte but '/' and NUL: the tree-hash line puts the path last, unescaped,
/// so a name with a space (setuptools' <c>script (dev).tmpl</c>) or a newline cannot be split back out of it.
/// Files written by earlier versions (tree-hash lines) are still read, as well as that format allows.
/// </summary>
internal static partial class TreeFile
{
    [GeneratedRegex(@"^(?<head>d (?<mode>0[0-7]{3}) -|f (?<mode>0[0-7]{3}) (?<size>[0-9]{1,18}) (?<sha>[0-9a-f]{64})|l -) (?<rest>.*)$")]
    private static partial Regex LegacyLine();

    public static async Task WriteAsync(Stream stream, IEnumerable<TreeEntry> entries, CancellationToken ct)
    {
        foreach (var entry in entries.OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            var line = JsonSerializer.SerializeToUtf8Bytes(ToRecord(entry), TreeFileJsonContext.Default.TreeRecord);
            await stream.WriteAsync(line, ct);
            stream.WriteByte((byte)'\n');
        }
    }

    /// <summary>
    /// Reads a tree file. <paramref name="linkOnDisk"/> (path to link target, or null) settles the one thing an old file
    /// leaves open: where a symlink's target ends and its name begins when either holds a space.
    /// </summary>
    public static async Task<RecordedTree> ReadAsync(string path, string repairHint, Func<string, string?> linkOnDisk, CancellationToken ct)
    {
        try
        {
            return await ReadAsync(path, linkOnDisk, ct);
        }
        catch (Exception e) when (e is FormatException or DecoderFallbackException)
        {
            throw new InstallerException("OSVA-I061", $"{path} is damaged: {e.Message}", repairHint, ExitCode.InvalidInput, e);
        }
    }

    private static async Task<RecordedTree> ReadAsync(string path, Func<string, string?> linkOnDisk, CancellationToken ct)
    {
        using var reader = new StreamReader(path, new UTF8Encoding(false, throwOnInvalidBytes: true));
        if (reader.Peek() is not ('{' or -1)) return new RecordedTree(ReadLegacy(await reader.ReadToEndAsync(ct), linkOnDisk), Legacy: true);
        // Line by line: a nova venv's list is 25k entries, 4.7 MB.
        var entries = new List<TreeEntry>();
        var number = 0;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            number++;
            if (line.Length == 0) continue;
            TreeRecord? record;
            try
            {
                record = JsonSerializer.Deserialize(line, TreeFileJsonContext.Default.TreeRecord);
            }
            catch (JsonException e)
            {
                throw Damaged(number, e.Message);
            }
            entries.Add(FromRecord(record, number));
        }
        return new RecordedTree(entries, Legacy: false);
    }

    /// <summary>A name as verify prints it: C escapes for the backslash and control characters, so one entry is one line.</summary>
    public static string Display(string path)
    {
        if (!path.Any(c => c == '\\' || char.IsControl(c))) return path;
        var text = new StringBuilder(path.Length + 8);
        foreach (var c in path)
        {
            text.Append(c switch
            {
                '\\' => "\\\\",
                '\n' => "\\n",
                '\t' => "\\t",
                '\r' => "\\r",
                _ when char.IsControl(c) => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        }
        return text.ToString();
    }

    private static TreeRecord ToRecord(TreeEntry e) => e.Kind switch
    {
        TreeEntryKind.Directory => new TreeRecord("d", e.Path, Octal(e.Mode)),
        TreeEntryKind.File => new TreeRecord("f", e.Path, Octal(e.Mode), e.Size, e.ContentSha256),
        _ => new TreeRecord("l", e.Path, Target: e.LinkTarget),
    };

    private static TreeEntry FromRecord(TreeRecord? r, int number)
    {
        if (r is null || string.IsNullOrEmpty(r.Path)) throw Damaged(number, "no path");
        return r.Kind switch
        {
            "d" => new TreeEntry(r.Path, TreeEntryKind.Directory, Mode(r.Mode, number), 0, null, null),
            "f" when r.Size is >= 0 && r.Sha256 is not null => new TreeEntry(r.Path, TreeEntryKind.File, Mode(r.Mode, number), r.Size.Value, r.Sha256, null),
            "l" when !string.IsNullOrEmpty(r.Target) => new TreeEntry(r.Path, TreeEntryKind.Symlink, 0, 0, null, r.Target),
            _ => throw Damaged(number, $"kind '{r.Kind}' without the fields it needs"),
        };
    }

    /// <summary>
    /// Tree-hash lines, as versions before the JSON form wrote them. Directory and file lines have a fixed number of
    /// fields before the path, so a path with spaces reads back whole; a line that starts no record continues the name
    /// before it (a name with a newline); a symlink's target is split from its name where the disk agrees, else at the
    /// first space.
    /// </summary>
    private static List<TreeEntry> ReadLegacy(string text, Func<string, string?> linkOnDisk)
    {
        var records = new List<(Match Head, string Text)>();
        var lines = text.Split('\n');
        // The file ends with '\n', so the last piece is empty unless a name ended in one.
        var count = lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        for (var i = 0; i < count; i++)
        {
            var match = LegacyLine().Match(lines[i]);
            if (match.Success) records.Add((match, match.Groups["rest"].Value));
            else if (records.Count > 0) records[^1] = (records[^1].Head, records[^1].Text + "\n" + lines[i]);
            else throw Damaged(i + 1, "not an entry line");
        }
        return records.Select(r =>
        {
            var mode = r.Head.Groups["mode"].Success ? Convert.ToInt32(r.Head.Groups["mode"].Value, 8) : 0;
            return r.Head.Value[0] switch
            {
                'd' => new TreeEntry(r.Text, TreeEntryKind.Directory, mode, 0, null, null),
                'f' => new TreeEntry(r.Text, TreeEntryKind.File, mode, long.Parse(r.Head.Groups["size"].Value, CultureInfo.InvariantCulture),
                    r.Head.Groups["sha"].Value, null),
                _ => LegacyLink(r.Text, linkOnDisk),
            };
        }).ToList();
    }

    private static TreeEntry LegacyLink(string rest, Func<string, string?> linkOnDisk)
    {
        var first = rest.IndexOf(' ', StringComparison.Ordinal);
        if (first <= 0) throw Damaged(0, $"symlink line without a target: {Display(rest)}");
        for (var at = first; at > 0; at = rest.IndexOf(' ', at + 1))
        {
            if (linkOnDisk(rest[(at + 1)..]) == rest[..at]) return new TreeEntry(rest[(at + 1)..], TreeEntryKind.Symlink, 0, 0, null, rest[..at]);
        }
        return new TreeEntry(rest[(first + 1)..], TreeEntryKind.Symlink, 0, 0, null, rest[..first]);
    }

    private static int Mode(string? octal, int number)
    {
        // 0 first: the writer keeps the permission bits only, so a special bit here would not survive a rewrite (found by make fuzz).
        if (octal is not { Length: 4 } || octal[0] != '0' || !octal.All(c => c is >= '0' and <= '7')) throw Damaged(number, $"mode '{octal}' is not 0 and three octal digits");
        return Convert.ToInt32(octal, 8);
    }

    private static string Octal(int mode) => Convert.ToString(mode & 0x1FF, 8).PadLeft(4, '0');

    private static FormatException Damaged(int line, string problem) =>
        new($"{(line > 0 ? $"line {line}: " : "")}{problem}");
}
