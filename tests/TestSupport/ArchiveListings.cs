using System.Formats.Tar;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace OsVenvArtifacts.TestSupport;

/// <summary>
/// One archive entry as a reader understood it. Names and link targets as the reader gives them, a directory's
/// without its trailing '/'; <see cref="Type"/> is file, dir, symlink, hardlink, chardev, blockdev, fifo or the reader's
/// own type code;
/// <see cref="Mode"/> holds the permission bits only; an empty user or group name reads as "".
/// </summary>
public sealed record ArchiveRecord(string Name, string Type, int Mode, long Uid, long Gid, string UserName, string GroupName, long Size, string LinkTarget)
{
    public override string ToString() =>
        $"{Type} {Convert.ToString(Mode, 8)} {Uid}/{Gid} '{UserName}'/'{GroupName}' {Size} {Name}{(LinkTarget.Length > 0 ? " -> " + LinkTarget : "")}";
}

/// <summary>Everything one reader listed, in archive order.</summary>
public sealed record ArchiveListing(string Reader, IReadOnlyList<ArchiveRecord> Records);

/// <summary>How the readers' listings compare with the first one's.</summary>
public sealed record ListingComparison(string Reference, IReadOnlyDictionary<string, int> EntriesByReader,
    IReadOnlyDictionary<string, int> DifferingByReader, IReadOnlyList<string> FirstDifferences)
{
    public bool Same => DifferingByReader.Values.All(n => n == 0);

    public override string ToString() =>
        string.Join('\n', EntriesByReader.Select(r => $"{r.Key}: {r.Value} entries, {DifferingByReader[r.Key]} read differently from {Reference}")
            .Concat(FirstDifferences));
}

/// <summary>
/// Lists a tar or tar.gz with four independent readers: GNU tar, bsdtar (libarchive), Python's tarfile (every
/// interpreter found: pyenv's 3.12.1 with filter="tar", Debian's 3.11) and .NET's TarReader, as normalized
/// records, so a test can demand that every reader sees the same archive. The artifact is unpacked by tar in
/// containers, by .NET in the installer, and inspected by operators with whatever they have.
/// </summary>
public static class ArchiveListings
{
    /// <summary>The Python interpreters whose tarfile is checked, where installed; Debian's is always required.</summary>
    public static readonly string[] Pythons = ["/root/.pyenv/versions/3.12.1/bin/python3", "/usr/bin/python3"];

    private static readonly Dictionary<string, string> CLocale = new() { ["LC_ALL"] = "C", ["TZ"] = "UTC" };

    /// <summary>
    /// Lists <paramref name="archive"/> with every reader. A tar.gz is decompressed once, by gzip, and the readers
    /// read the tar: they may differ in reading tar headers, not in gzip, and seven passes over nova's 93 MB of gzip
    /// took 19 s where one takes 3.
    /// </summary>
    public static async Task<IReadOnlyList<ArchiveListing>> ListAllAsync(string archive)
    {
        var tar = await IsGzipAsync(archive) ? Path.Combine(Path.GetTempPath(), $"osva-listing-{Guid.NewGuid():N}.tar") : archive;
        try
        {
            if (tar != archive) await RunAsync("sh", ["-c", "gzip -dc \"$1\" > \"$2\"", "sh", archive, tar]);
            var readers = new List<Task<ArchiveListing>> { GnuTarAsync(tar), BsdtarAsync(tar) };
            readers.AddRange(Pythons.Where(p => p == "/usr/bin/python3" || File.Exists(p)).Select(p => PythonAsync(p, tar)));
            readers.Add(DotnetAsync(tar));
            return await Task.WhenAll(readers);
        }
        finally
        {
            if (tar != archive) File.Delete(tar);
        }
    }

    private static async Task<bool> IsGzipAsync(string path)
    {
        await using var file = File.OpenRead(path);
        var magic = new byte[2];
        return await file.ReadAsync(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    }

    /// <summary>Compares every listing with the first, entry by entry in archive order, and names each reader's first <paramref name="limit"/> differences.</summary>
    public static ListingComparison Compare(IReadOnlyList<ArchiveListing> listings, int limit = 5)
    {
        var reference = listings[0];
        var entries = new Dictionary<string, int>();
        var differing = new Dictionary<string, int>();
        var first = new List<string>();
        foreach (var listing in listings)
        {
            entries[listing.Reader] = listing.Records.Count;
            var count = Math.Abs(listing.Records.Count - reference.Records.Count);
            var shown = 0;
            for (var i = 0; i < Math.Min(listing.Records.Count, reference.Records.Count); i++)
            {
                var (a, b) = (reference.Records[i], listing.Records[i]);
                if (a == b) continue;
                count++;
                if (shown++ < limit) first.Add($"entry {i}: {reference.Reader} reads {a}; {listing.Reader} reads {b}");
            }
            if (listing.Records.Count != reference.Records.Count)
            {
                first.Add($"{listing.Reader} lists {listing.Records.Count} entries, {reference.Reader} {reference.Records.Count}");
            }
            differing[listing.Reader] = count;
        }
        return new ListingComparison(reference.Reader, entries, differing, first);
    }

    public static async Task<ListingComparison> CompareAllAsync(string archive, int limit = 5) => Compare(await ListAllAsync(archive), limit);

    // GNU tar -tv: "-rw-r--r-- 0/0       3 2023-11-14 22:13:20 "name" -> "target"", with C-quoted names.
    private static readonly Regex GnuLine = new(@"^(\S{10}) (\S+?)/(\S+)\s+(\S+) (\S+) (\S+) (""(?:[^""\\]|\\.)*"")(?: (->|link to) (""(?:[^""\\]|\\.)*""))?$",
        RegexOptions.CultureInvariant);

    // bsdtar -tv: "-rw-r--r--  0 0      0           3 Nov 14  2023 name -> target", names backslash-escaped but not quoted.
    private static readonly Regex BsdLine = new(@"^(\S{10})\s+\d+\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+\S+ (.*)$", RegexOptions.CultureInvariant);

    private static async Task<ArchiveListing> GnuTarAsync(string archive)
    {
        // Two runs: --numeric-owner gives the ids; without it tar prints the names, or the ids where names are empty.
        var numeric = ListLines(await RunAsync("tar", ["--list", "--verbose", "--numeric-owner", "--quoting-style=c", "--full-time", "-f", archive]));
        var named = ListLines(await RunAsync("tar", ["--list", "--verbose", "--quoting-style=c", "--full-time", "-f", archive]));
        return new ArchiveListing("GNU tar", Merge(numeric, named, line =>
        {
            var m = GnuLine.Match(line);
            if (!m.Success) throw new FormatException($"GNU tar printed a line this parser does not know: {line}");
            return (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value, m.Groups[4].Value,
                Unescape(m.Groups[7].Value[1..^1]), m.Groups[9].Success ? Unescape(m.Groups[9].Value[1..^1]) : "", m.Groups[8].Value);
        }));
    }

    private static async Task<ArchiveListing> BsdtarAsync(string archive)
    {
        if (await WhichAsync("bsdtar") is null)
        {
            throw new InvalidOperationException("bsdtar is not installed: apt-get install libarchive-tools (./setup/ensure-env.sh does)");
        }
        var numeric = ListLines(await RunAsync("bsdtar", ["-tv", "--numeric-owner", "-f", archive]));
        var named = ListLines(await RunAsync("bsdtar", ["-tv", "-f", archive]));
        return new ArchiveListing("bsdtar", Merge(numeric, named, line =>
        {
            var m = BsdLine.Match(line);
            if (!m.Success) throw new FormatException($"bsdtar printed a line this parser does not know: {line}");
            var rest = m.Groups[5].Value;
            // Unquoted, so a name that itself contains " -> " or " link to " cannot be told apart; venvs have none.
            var (name, link, kind) = m.Groups[1].Value[0] switch
            {
                'l' when rest.IndexOf(" -> ", StringComparison.Ordinal) is var i and >= 0 => (rest[..i], rest[(i + 4)..], "->"),
                'h' when rest.IndexOf(" link to ", StringComparison.Ordinal) is var i and >= 0 => (rest[..i], rest[(i + 9)..], "link to"),
                _ => (rest, "", ""),
            };
            return (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value, m.Groups[4].Value, Unescape(name), Unescape(link), kind);
        }));
    }

    /// <summary>Joins the numeric and the named listing of one reader, line by line.</summary>
    private static List<ArchiveRecord> Merge(List<string> numeric, List<string> named,
        Func<string, (string Mode, string User, string Group, string Size, string Name, string Link, string LinkKind)> parse)
    {
        if (numeric.Count != named.Count) throw new FormatException($"the numeric listing has {numeric.Count} lines, the named one {named.Count}");
        var records = new List<ArchiveRecord>(numeric.Count);
        for (var i = 0; i < numeric.Count; i++)
        {
            var n = parse(numeric[i]);
            var s = parse(named[i]);
            var type = n.Mode[0] switch
            {
                '-' => "file",
                'd' => "dir",
                'l' => "symlink",
                'h' => "hardlink",
                'c' => "chardev",
                'b' => "blockdev",
                'p' => "fifo",
                var c => c.ToString(),
            };
            // Where a name is empty both listings print the id.
            var user = s.User == n.User ? "" : s.User;
            var group = s.Group == n.Group ? "" : s.Group;
            records.Add(new ArchiveRecord(Normalize(n.Name, type), type, ParseMode(n.Mode), long.Parse(n.User), long.Parse(n.Group), user, group,
                long.TryParse(n.Size, out var size) ? size : -1, n.Link));
        }
        return records;
    }

    private const string PythonScript = """
        import json, sys, tarfile
        use_filter = hasattr(tarfile, "tar_filter")
        print(json.dumps({"version": "%d.%d.%d" % sys.version_info[:3], "filter": use_filter}))
        types = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink", tarfile.LNKTYPE: "hardlink",
                 tarfile.CHRTYPE: "chardev", tarfile.BLKTYPE: "blockdev", tarfile.FIFOTYPE: "fifo"}
        def text(s):
            return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        with tarfile.open(sys.argv[1], "r:*") as archive:
            for m in archive:
                kind = types.get(m.type, m.type.decode("latin-1"))
                if use_filter:
                    # What extraction with filter="tar" would refuse shows up as a different type.
                    try:
                        tarfile.tar_filter(m, "/osva-listing-destination")
                    except tarfile.FilterError as e:
                        kind = "refused by filter=tar: %s" % e
                print(json.dumps([text(m.name), kind, m.mode & 0o7777, m.uid, m.gid, text(m.uname), text(m.gname), m.size, text(m.linkname)]))
        """;

    private static async Task<ArchiveListing> PythonAsync(string python, string archive)
    {
        var lines = ListLines(await RunAsync(python, ["-c", PythonScript, archive]));
        using var header = JsonDocument.Parse(lines[0]);
        var version = header.RootElement.GetProperty("version").GetString();
        var filter = header.RootElement.GetProperty("filter").GetBoolean() ? " (filter=tar)" : "";
        var records = lines.Skip(1).Select(line =>
        {
            using var doc = JsonDocument.Parse(line);
            var f = doc.RootElement;
            var type = f[1].GetString()!;
            return new ArchiveRecord(Normalize(f[0].GetString()!, type), type, f[2].GetInt32(), f[3].GetInt64(), f[4].GetInt64(),
                f[5].GetString()!, f[6].GetString()!, f[7].GetInt64(), f[8].GetString()!);
        }).ToList();
        return new ArchiveListing($"Python {version} tarfile{filter}", records);
    }

    private static async Task<ArchiveListing> DotnetAsync(string tar)
    {
        var records = new List<ArchiveRecord>();
        await using var file = File.OpenRead(tar);
        await using var reader = new TarReader(file);
        while (await reader.GetNextEntryAsync(copyData: false) is { } e)
        {
            var type = e.EntryType switch
            {
                TarEntryType.RegularFile or TarEntryType.V7RegularFile => "file",
                TarEntryType.Directory => "dir",
                TarEntryType.SymbolicLink => "symlink",
                TarEntryType.HardLink => "hardlink",
                TarEntryType.CharacterDevice => "chardev",
                TarEntryType.BlockDevice => "blockdev",
                TarEntryType.Fifo => "fifo",
                var t => t.ToString(),
            };
            var (user, group) = e is PosixTarEntry p ? (p.UserName, p.GroupName) : ("", "");
            records.Add(new ArchiveRecord(Normalize(e.Name, type), type, (int)e.Mode, e.Uid, e.Gid, user, group, e.Length, e.LinkName ?? ""));
        }
        return new ArchiveListing(".NET TarReader", records);
    }

    private static string Normalize(string name, string type) => type == "dir" && name.Length > 1 ? name.TrimEnd('/') : name;

    /// <summary>"-rwsr-xr-t" to 05755.</summary>
    private static int ParseMode(string s)
    {
        var mode = 0;
        for (var i = 0; i < 9; i++)
        {
            var c = s[1 + i];
            if (c is 'r' or 'w' or 'x' or 's' or 't') mode |= 1 << (8 - i);
        }
        if (s[3] is 's' or 'S') mode |= 0x800;
        if (s[6] is 's' or 'S') mode |= 0x400;
        if (s[9] is 't' or 'T') mode |= 0x200;
        return mode;
    }

    /// <summary>Undoes the C-style escapes both tars print in the C locale (\\, \", \n, ..., \ooo for each non-ASCII byte).</summary>
    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var bytes = new List<byte>(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\' || i + 1 == s.Length)
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(s[i].ToString()));
                continue;
            }
            var c = s[++i];
            if (c is >= '0' and <= '7' && i + 2 < s.Length)
            {
                bytes.Add(Convert.ToByte(s.Substring(i, 3), 8));
                i += 2;
                continue;
            }
            bytes.Add(c switch
            {
                'a' => 7, 'b' => 8, 'f' => 12, 'n' => 10, 'r' => 13, 't' => 9, 'v' => 11,
                _ => (byte)c,
            });
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static List<string> ListLines(string stdout) => stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();

    private static async Task<string> RunAsync(string file, string[] args)
    {
        var r = await ProcessRunner.RunAsync(file, args, CLocale, timeout: TimeSpan.FromMinutes(5));
        if (r.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args.Where(a => !a.Contains('\n')))} failed: {r}");
        return r.Stdout;
    }

    private static async Task<string?> WhichAsync(string program)
    {
        var r = await ProcessRunner.RunAsync("sh", ["-c", $"command -v {program}"]);
        return r.ExitCode == 0 ? r.Stdout.Trim() : null;
    }
}
