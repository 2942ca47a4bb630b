using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace OsVenvArtifacts.Fuzz.Tests;

/// <summary>
/// Seeded mutations: byte-level (bit flips, inserts, deletes, block duplication and splicing, interesting integers,
/// truncation), JSON-aware (drop, duplicate or rename keys, change types, huge numbers, deep nesting, hostile strings)
/// and tar-aware (one header field rewritten, checksum fixed so the change reaches past the checksum check).
/// Every choice comes from the one <see cref="Random"/>, so a seed and iteration name an input exactly.
/// </summary>
internal sealed class Mutator(Random random)
{
    /// <summary>Values at the edges: signs, powers of two, octal field widths, and sizes near the host's limits.</summary>
    public static readonly long[] Interesting =
    [
        0, 1, -1, 7, 8, 127, 128, 255, 256, 511, 512, 513, 1023, 1024, 4095, 4096, 65535, 65536, 1_000_000, 1_000_001,
        int.MaxValue, 1L << 31, uint.MaxValue, 1L << 32, (1L << 33) - 1, 1L << 33, 8L << 30, 1L << 40,
        (2L << 30) - 1, 2L << 30, (2L << 30) + 1, 4L << 30, (16L << 30) + 1, long.MaxValue, long.MinValue, long.MinValue + 1,
    ];

    /// <summary>Pieces that mean something to a parser or a path: separators, quotes, escapes, control characters.</summary>
    public static readonly string[] Tokens =
    [
        "/", "//", "..", "../", "./", ".", "\0", "\n", "\r\n", "\t", " ", "\"", "'", "\\", ",", "=", ":", "#", ";", "%", "!", "*",
        "[", "]", "{", "}", "[DEFAULT]", "ALL", "root", "$(id)", "`id`", "\u00e9", "\u202e", "\ufeff", "\ufffd", "\u0085", "\u2028",
        "/etc/passwd", "../../../../tmp/escaped", "bin/python3", "/usr/bin/python3.11", "exec_dirs", "null", "-1", "1e400",
    ];

    private static readonly string[] KeySuffixes = [" ", "_", "\u0000", "s"];
    private static readonly string[] Magics = ["ustar\000", "ustar  \0", "ustar", "gnu\0\0\0", ""];
    private static readonly string[] JunkNumbers = ["        ", "8", "99999999", "-1", "0x10", "1e3", " 12 ", "\0\0\0\0"];
    /// <summary>Numbers JSON allows but no .NET integer holds, and spellings JSON does not allow.</summary>
    private static readonly string[] RawNumbers = ["1e400", "-1e400", "18446744073709551616", "9223372036854775808", "-9223372036854775809", "2147483648",
        "1.0", "-0", "0e0", "123456789012345678901234567890", "NaN", "Infinity", "01", "1_000"];

    public Random Random => random;

    public T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];

    public bool Chance(int percent) => random.Next(100) < percent;

    /// <summary>1 to <paramref name="maxRounds"/> byte-level mutations; <paramref name="corpus"/> feeds splices.</summary>
    public byte[] Bytes(byte[] input, IReadOnlyList<byte[]> corpus, int maxRounds = 4)
    {
        var data = new List<byte>(input);
        var rounds = 1 + random.Next(maxRounds);
        for (var r = 0; r < rounds; r++)
        {
            var at = data.Count == 0 ? 0 : random.Next(data.Count);
            switch (random.Next(9))
            {
                case 0 when data.Count > 0:
                    data[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when data.Count > 0:
                    data[at] = Pick(new byte[] { 0, 0xff, 0x7f, 0x80, (byte)'\n', (byte)'/', (byte)'.', (byte)'"', (byte)'\\', (byte)'0', (byte)'7' });
                    break;
                case 2:
                    data.InsertRange(at, Chance(50) ? Encoding.UTF8.GetBytes(Pick(Tokens)) : RandomBytes(1 + random.Next(16)));
                    break;
                case 3 when data.Count > 0:
                    data.RemoveRange(at, Math.Min(data.Count - at, 1 + random.Next(Chance(80) ? 8 : 512)));
                    break;
                case 4 when data.Count > 0:
                    var length = Math.Min(data.Count - at, 1 + random.Next(Chance(50) ? 32 : 1024));
                    var block = data.GetRange(at, length);
                    data.InsertRange(random.Next(data.Count + 1), block);
                    break;
                case 5 when corpus.Count > 0:
                    var other = Pick(corpus);
                    if (other.Length == 0) break;
                    var from = random.Next(other.Length);
                    var piece = other.AsSpan(from, Math.Min(other.Length - from, 1 + random.Next(256))).ToArray();
                    data.RemoveRange(at, Math.Min(data.Count - at, random.Next(piece.Length + 1)));
                    data.InsertRange(at, piece);
                    break;
                case 6:
                    var number = Encoding.ASCII.GetBytes(NumberText(Pick(Interesting)));
                    data.RemoveRange(at, Math.Min(data.Count - at, number.Length));
                    data.InsertRange(at, number);
                    break;
                case 7 when data.Count >= 8:
                    var le = BitConverter.GetBytes(Pick(Interesting));
                    var width = Chance(50) ? 4 : 8;
                    var offset = random.Next(data.Count - width + 1);
                    for (var i = 0; i < width; i++) data[offset + i] = le[i];
                    break;
                case 8 when data.Count > 0:
                    data.RemoveRange(at, data.Count - at);
                    break;
            }
        }
        return [.. data];
    }

    /// <summary>An integer as text: decimal, octal, hex, with a sign, a fraction or an exponent.</summary>
    public string NumberText(long value) => random.Next(6) switch
    {
        0 => Convert.ToString(value, 8),
        1 => "0x" + value.ToString("x", CultureInfo.InvariantCulture),
        2 => value.ToString(CultureInfo.InvariantCulture) + "0000000000",
        3 => value.ToString(CultureInfo.InvariantCulture) + ".5",
        4 => value.ToString(CultureInfo.InvariantCulture) + "e30",
        _ => value.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>A name or line mutated with tokens: what a manifest, a config line or an option could carry.</summary>
    public string Text(string value)
    {
        var text = new StringBuilder(value);
        var rounds = 1 + random.Next(3);
        for (var r = 0; r < rounds; r++)
        {
            var at = random.Next(text.Length + 1);
            switch (random.Next(6))
            {
                case 0: text.Insert(at, Pick(Tokens)); break;
                case 1 when text.Length > 0: text.Remove(at == text.Length ? at - 1 : at, 1); break;
                case 2: text.Insert(at, NumberText(Pick(Interesting))); break;
                case 3: text.Insert(at, new string((char)('a' + random.Next(26)), Chance(80) ? 1 + random.Next(8) : 300 + random.Next(5000))); break;
                case 4: text.Clear().Append(Pick(Tokens)); break;
                default: text.Insert(at, (char)random.Next(1, 0xD800)); break;
            }
        }
        return text.ToString();
    }

    private byte[] RandomBytes(int n)
    {
        var bytes = new byte[n];
        random.NextBytes(bytes);
        return bytes;
    }

    // ---- JSON ----

    /// <summary>
    /// 1 to 3 structural mutations of a JSON document, then sometimes byte-level ones. What JsonNode cannot hold
    /// (duplicate keys, numbers past double, nesting past the writer's depth) goes in as a placeholder string that is
    /// replaced by raw text after writing.
    /// </summary>
    public byte[] Json(byte[] json, IReadOnlyList<byte[]> corpus)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (System.Text.Json.JsonException)
        {
            return Bytes(json, corpus);
        }
        if (root is null) return Bytes(json, corpus);
        var raw = new List<string>();
        var rounds = 1 + random.Next(3);
        for (var r = 0; r < rounds; r++) MutateNode(root, raw);
        // A key ending in @@dup becomes a second member of its original name.
        var text = root.ToJsonString().Replace("@@dup\":", "\":", StringComparison.Ordinal);
        for (var i = 0; i < raw.Count; i++) text = text.Replace($"\"@@fuzz{i}@@\"", raw[i], StringComparison.Ordinal);
        var bytes = Encoding.UTF8.GetBytes(text);
        return Chance(25) ? Bytes(bytes, corpus, 2) : bytes;
    }

    private void MutateNode(JsonNode root, List<string> raw)
    {
        var nodes = new List<(JsonNode Parent, string? Key, int Index)>();
        Collect(root, nodes);
        if (nodes.Count == 0) return;
        var (parent, key, index) = Pick(nodes);
        JsonNode? current = key is not null ? parent[key] : parent[index];
        string Placeholder(string text)
        {
            raw.Add(text);
            return $"@@fuzz{raw.Count - 1}@@";
        }
        void Set(JsonNode? value)
        {
            if (key is not null) parent[key] = value;
            else parent[index] = value;
        }
        switch (random.Next(10))
        {
            case 0 when key is not null:
                parent.AsObject().Remove(key);
                break;
            case 1 when key is not null:
                // A second member of the same name: which one wins differs between parsers.
                parent.AsObject()[key + "@@dup"] = current?.DeepClone();
                break;
            case 2 when key is not null:
                var renamed = Chance(50) ? char.ToUpperInvariant(key[0]) + key[1..] : key + Pick(KeySuffixes);
                parent.AsObject().Remove(key);
                if (!parent.AsObject().ContainsKey(renamed)) parent.AsObject()[renamed] = current;
                break;
            case 3 when Chance(30):
                Set(null);
                break;
            case 3:
                Set(Pick(new Func<JsonNode?>[]
                {
                    () => null, () => true, () => 0, () => -1, () => "", () => "x", () => new JsonArray(), () => new JsonObject(),
                    () => new JsonArray((JsonNode?)null), () => Pick(Interesting), () => 0.5, () => "2026-13-45T99:99:99Z",
                })());
                break;
            case 4:
                Set(Placeholder(Pick(RawNumbers)));
                break;
            case 5:
                var depth = Chance(50) ? 60 + random.Next(10) : 1000 + random.Next(5000);
                Set(Placeholder(new string('[', depth) + new string(']', depth)));
                break;
            case 6 when current is JsonValue value && value.TryGetValue<string>(out var s):
                Set(Text(s));
                break;
            case 7 when current is JsonArray array:
                if (array.Count > 0 && Chance(50)) array.Add(array[random.Next(array.Count)]?.DeepClone());
                else array.Add(Chance(50) ? null : Pick(Tokens));
                break;
            case 8:
                Set(new string('a', Chance(50) ? 256 : 1 << 20));
                break;
            default:
                if (current is JsonValue number && number.TryGetValue<long>(out var n)) Set(Chance(50) ? Pick(Interesting) : n + Pick(new long[] { 1, -1, 512, -512 }));
                else Set(Pick(Interesting));
                break;
        }
    }

    // ---- tar ----

    private static readonly (int Offset, int Length)[] NumericFields = [(100, 8), (108, 8), (116, 8), (124, 12), (136, 12), (329, 8), (337, 8)];
    private static readonly (int Offset, int Length)[] NameFields = [(0, 100), (157, 100), (345, 155)];
    private const string TypeFlags = "0123456789ALKxgSDMNVX\0";

    /// <summary>
    /// Rewrites one field of one header (or one PAX record), then fixes that header's checksum (mostly), so the
    /// change reaches the entry logic instead of stopping at the checksum; sometimes a byte-level mutation instead.
    /// </summary>
    public byte[] Tar(byte[] tar, IReadOnlyList<byte[]> corpus)
    {
        var headers = HeaderOffsets(tar);
        if (headers.Count == 0 || Chance(15)) return Bytes(tar, corpus);
        var data = (byte[])tar.Clone();
        var rounds = 1 + random.Next(2);
        for (var r = 0; r < rounds; r++)
        {
            var h = Pick(headers);
            var header = data.AsSpan(h, 512);
            switch (random.Next(6))
            {
                case 0 or 1:
                    var (offset, length) = Pick(NumericFields);
                    WriteNumber(header.Slice(offset, length), offset == 124 && Chance(30) ? ParseOctal(header.Slice(124, 12)) + Pick(new long[] { 1, -1, 511, 512, -512 }) : Pick(Interesting));
                    break;
                case 2:
                    header[156] = (byte)TypeFlags[random.Next(TypeFlags.Length)];
                    break;
                case 3:
                    var (at, width) = Pick(NameFields);
                    var name = Encoding.UTF8.GetBytes(Chance(40) ? NameOf(data, Pick(headers)) : Chance(50) ? Text(NameOf(data, h)) : Pick(Tokens));
                    header.Slice(at, width).Clear();
                    name.AsSpan(0, Math.Min(name.Length, width)).CopyTo(header.Slice(at, width));
                    break;
                case 4:
                    header.Slice(257, 8).Clear();
                    Encoding.ASCII.GetBytes(Pick(Magics)).CopyTo(header[257..]);
                    break;
                default:
                    if (header[156] is (byte)'x' or (byte)'g' && !MutatePax(data, h)) data[h + random.Next(512)] ^= (byte)(1 << random.Next(8));
                    else if (header[156] is not ((byte)'x' or (byte)'g')) header[random.Next(512)] = (byte)random.Next(256);
                    break;
            }
            if (Chance(90)) FixChecksum(data.AsSpan(h, 512));
        }
        return data;
    }

    /// <summary>Replaces one PAX record with a hostile one, lengths kept right so the reader takes it.</summary>
    private bool MutatePax(byte[] data, int header)
    {
        var size = (int)Math.Min(ParseOctal(data.AsSpan(header + 124, 12)), data.Length - header - 512);
        if (size <= 0) return false;
        var record = Pick(new[]
        {
            "path=../../escaped", "path=/etc/passwd", "path=bin", "linkpath=../../..", "linkpath=/usr/bin/python3.11",
            "size=99999999999999999999", "size=-1", $"size={Pick(Interesting)}", "mtime=1e400", "mtime=-1.5", "uid=-1",
            "path=" + Text("lib/a.py"), "GNU.sparse.map=0,1", "GNU.sparse.major=1", "SCHILY.xattr.security.capability=x", "path=",
        });
        var line = $" {record}\n";
        var total = Encoding.UTF8.GetByteCount(line) + 1;
        while (total != Encoding.UTF8.GetByteCount(line) + total.ToString(CultureInfo.InvariantCulture).Length) total = Encoding.UTF8.GetByteCount(line) + total.ToString(CultureInfo.InvariantCulture).Length;
        var bytes = Encoding.UTF8.GetBytes(total.ToString(CultureInfo.InvariantCulture) + line);
        if (bytes.Length > size) return false;
        // Padded out with a filler record so the body keeps its size: the header's size field stays true.
        var body = data.AsSpan(header + 512, size);
        body.Fill((byte)'\n');
        bytes.CopyTo(body);
        var rest = size - bytes.Length;
        if (rest >= 8)
        {
            var filler = Encoding.ASCII.GetBytes($"{rest} c={new string('x', rest - rest.ToString(CultureInfo.InvariantCulture).Length - 4)}\n");
            if (filler.Length == rest) filler.CopyTo(body[bytes.Length..]);
        }
        return true;
    }

    private void WriteNumber(Span<byte> field, long value)
    {
        field.Clear();
        switch (random.Next(4))
        {
            case 0:
                // GNU base-256: the high bit of the first byte set, big-endian two's complement after it.
                field[0] = value < 0 ? (byte)0xff : (byte)0x80;
                for (int i = field.Length - 1, shift = 0; i > 0 && shift < 64; i--, shift += 8) field[i] = (byte)(value >> shift);
                break;
            case 1:
                var junk = Pick(JunkNumbers);
                Encoding.ASCII.GetBytes(junk[..Math.Min(junk.Length, field.Length)]).CopyTo(field);
                break;
            default:
                var octal = Convert.ToString(value, 8);
                var text = octal.Length < field.Length ? octal.PadLeft(field.Length - 1, '0') : octal[..field.Length];
                Encoding.ASCII.GetBytes(text).CopyTo(field);
                break;
        }
    }

    private static string NameOf(byte[] data, int header)
    {
        var name = data.AsSpan(header, 100);
        var end = name.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? name : name[..end]);
    }

    /// <summary>Where each header block starts, following the size fields of the unmutated archive.</summary>
    public static List<int> HeaderOffsets(byte[] tar)
    {
        var offsets = new List<int>();
        for (var at = 0; at + 512 <= tar.Length;)
        {
            var header = tar.AsSpan(at, 512);
            if (!header.ContainsAnyExcept((byte)0)) break;
            offsets.Add(at);
            var size = header[156] is (byte)'1' or (byte)'2' or (byte)'5' ? 0 : ParseOctal(header.Slice(124, 12));
            if (size < 0 || size > tar.Length) break;
            at += 512 + (int)((size + 511) / 512 * 512);
        }
        return offsets;
    }

    private static long ParseOctal(ReadOnlySpan<byte> field)
    {
        long value = 0;
        foreach (var b in field)
        {
            if (b is 0 or (byte)' ') { if (value > 0) break; continue; }
            if (b is < (byte)'0' or > (byte)'7') return -1;
            value = value * 8 + (b - '0');
        }
        return value;
    }

    public static void FixChecksum(Span<byte> header)
    {
        header.Slice(148, 8).Fill((byte)' ');
        var sum = 0;
        foreach (var b in header) sum += b;
        var text = Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ";
        Encoding.ASCII.GetBytes(text).CopyTo(header.Slice(148, 8));
    }

    private static void Collect(JsonNode node, List<(JsonNode, string?, int)> nodes)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (k, v) in obj.ToList())
                {
                    nodes.Add((obj, k, -1));
                    if (v is not null) Collect(v, nodes);
                }
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    nodes.Add((array, null, i));
                    if (array[i] is { } v) Collect(v, nodes);
                }
                break;
        }
    }
}
