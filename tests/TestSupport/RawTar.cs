using System.Globalization;
using System.Text;

namespace OsVenvArtifacts.TestSupport;

/// <summary>
/// Writes tar bytes header by header, with none of a tar library's care: PAX records that rename an entry, GNU long
/// names and link targets, sparse and global headers, names with NUL. What a compromised build can put in an archive.
/// </summary>
public sealed class RawTar
{
    private readonly List<byte> _bytes = [];

    public byte[] ToArray() => _bytes.ToArray();

    /// <summary>
    /// One header, followed by <paramref name="data"/> padded to 512: ustar (magic "ustar\0" "00"), or GNU
    /// ("ustar  \0") for GNU's own types (long names 'L' and 'K', sparse 'S').
    /// </summary>
    public RawTar Entry(string name, char type, int mode = 0x1A4, byte[]? data = null, string linkName = "", long? size = null)
    {
        var gnu = type is 'L' or 'K' or 'S';
        var header = new byte[512];
        Put(header, 0, 100, Encoding.UTF8.GetBytes(name));
        Octal(header, 100, 8, mode);
        Octal(header, 108, 8, 0);
        Octal(header, 116, 8, 0);
        Octal(header, 124, 12, size ?? data?.Length ?? 0);
        Octal(header, 136, 12, 1_700_000_000);
        header[156] = (byte)type;
        Put(header, 157, 100, Encoding.UTF8.GetBytes(linkName));
        Put(header, 257, 8, gnu ? "ustar  \0"u8.ToArray() : "ustar\000"u8.ToArray());
        Put(header, 265, 32, "root"u8.ToArray());
        Put(header, 297, 32, "root"u8.ToArray());
        Checksum(header);
        _bytes.AddRange(header);
        if (data is not null) Data(data);
        return this;
    }

    public RawTar File(string name, string text, int mode = 0x1A4) => Entry(name, '0', mode, Encoding.UTF8.GetBytes(text));

    public RawTar Dir(string name, int mode = 0x1ED) => Entry(name, '5', mode);

    public RawTar Symlink(string name, string target) => Entry(name, '2', 0x1FF, linkName: target);

    /// <summary>A PAX extended header ('x', or 'g' for global) whose records apply to the next entry.</summary>
    public RawTar Pax(IReadOnlyDictionary<string, string> records, char type = 'x')
    {
        var body = new StringBuilder();
        foreach (var (key, value) in records)
        {
            // The length counts itself: "30 path=..." is 30 bytes including "30".
            var record = $" {key}={value}\n";
            var rest = Encoding.UTF8.GetByteCount(record);
            var total = rest + 1;
            while (total != rest + Digits(total)) total = rest + Digits(total);
            body.Append(CultureInfo.InvariantCulture, $"{total}{record}");
        }
        return Entry("PaxHeaders/x", type, data: Encoding.UTF8.GetBytes(body.ToString()));
    }

    /// <summary>A GNU long name ('L') or long link target ('K') record for the next entry.</summary>
    public RawTar GnuLong(char type, string value) => GnuLong(type, Encoding.UTF8.GetBytes(value));

    /// <summary>The same with the name's raw bytes, which need not be UTF-8.</summary>
    public RawTar GnuLong(char type, byte[] value) => Entry("././@LongLink", type, data: [.. value, 0]);

    /// <summary>Raw bytes, padded to a 512-byte block.</summary>
    public RawTar Data(byte[] data)
    {
        _bytes.AddRange(data);
        var pad = (512 - data.Length % 512) % 512;
        _bytes.AddRange(new byte[pad]);
        return this;
    }

    /// <summary>The two zero blocks that end an archive.</summary>
    public RawTar End() => Data(new byte[1024]);

    private static int Digits(int n) => n.ToString(CultureInfo.InvariantCulture).Length;

    private static void Put(byte[] header, int offset, int length, byte[] value) =>
        value.AsSpan(0, Math.Min(length, value.Length)).CopyTo(header.AsSpan(offset, length));

    private static void Octal(byte[] header, int offset, int length, long value) =>
        Put(header, offset, length, Encoding.ASCII.GetBytes(Convert.ToString(value, 8).PadLeft(length - 1, '0') + "\0"));

    private static void Checksum(byte[] header)
    {
        header.AsSpan(148, 8).Fill((byte)' ');
        var sum = header.Sum(b => (int)b);
        Put(header, 148, 8, Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 "));
    }
}
