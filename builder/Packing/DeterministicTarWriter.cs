using System.Buffers;
using System.Text;

namespace OsVenvArtifacts.Builder.Packing;

/// <summary>
/// Writes a tar byte for byte as GNU tar 1.34 writes the same entries with
/// <c>--format=gnu --sort=name --owner=root:0 --group=root:0 --mtime=@EPOCH</c> (the caller supplies the order).
/// Our own writer because .NET's TarWriter in GNU format fills the atime/ctime fields, which Python's
/// tarfile (3.11, 3.12) reads as a ustar name prefix: every short name then comes out as
/// <c>14524770400/bin/...</c>. Here those fields stay NUL, as GNU tar leaves them, so GNU tar, bsdtar,
/// Python and .NET all read the same names, and the bytes can be checked against GNU tar itself.
/// </summary>
/// <remarks>
/// Header layout (offsets): name 0, mode 100, uid 108, gid 116, size 124, mtime 136, checksum 148,
/// type 156, link name 157, magic "ustar  \0" 257, uname 265, gname 297; the rest (device numbers,
/// atime, ctime, ...) stays NUL. Numbers are zero-padded octal ending in NUL, as GNU tar pads them.
/// Names and link targets longer than 100 bytes go first into a <c>././@LongLink</c> record
/// (type 'L' for the name, 'K' for the link target) and are cut to 100 bytes in the header.
/// </remarks>
internal sealed class DeterministicTarWriter(Stream output, long modificationTime)
{
    private const int BlockSize = 512;
    // GNU tar's default blocking factor 20: the archive is padded with zeros to a multiple of 10240 bytes.
    private const int RecordSize = 20 * BlockSize;
    private const int NameFieldSize = 100;
    private const UnixFileMode SymlinkMode = (UnixFileMode)0x1FF; // 0777: what lstat gives GNU tar for a Linux symlink
    private const UnixFileMode LongLinkMode = (UnixFileMode)0x1A4; // 0644, GNU tar's mode for ././@LongLink records

    /// <summary>The largest size the 11 octal digits of the size field hold: 8 GiB - 1.</summary>
    public const long MaxFileSize = (1L << 33) - 1;

    private static readonly byte[] Zeros = new byte[RecordSize];
    private readonly byte[] _header = new byte[BlockSize];
    private long _written;

    public Task WriteDirectoryAsync(string path, UnixFileMode mode, CancellationToken ct) =>
        WriteHeaderAsync(path + "/", '5', mode, 0, null, ct);

    public Task WriteSymlinkAsync(string path, string target, CancellationToken ct) =>
        WriteHeaderAsync(path, '2', SymlinkMode, 0, target, ct);

    public Task WriteHardLinkAsync(string path, UnixFileMode mode, string target, CancellationToken ct) =>
        WriteHeaderAsync(path, '1', mode, 0, target, ct);

    /// <summary>Writes a regular file of exactly <paramref name="length"/> bytes read from <paramref name="data"/>.</summary>
    public async Task WriteFileAsync(string path, UnixFileMode mode, Stream data, long length, CancellationToken ct)
    {
        CheckFileSize(path, length);
        await WriteHeaderAsync(path, '0', mode, length, null, ct);
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            var remaining = length;
            while (remaining > 0)
            {
                ct.ThrowIfCancellationRequested();
                // A synchronous read: the data is a local file (the spool or the tree), and .NET runs an async file
                // read on Linux as a thread-pool hop, which for nova's 22k mostly small files cost more than the reads
                // (most of the wall time of a pack on a loaded machine).
                var n = data.Read(buffer.AsSpan(0, (int)Math.Min(buffer.Length, remaining)));
                if (n == 0) throw new EndOfStreamException($"{path}: the data ended {remaining} bytes before its size {length}");
                await output.WriteAsync(buffer.AsMemory(0, n), ct);
                remaining -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        _written += length;
        await PadAsync(BlockSize, ct);
    }

    /// <summary>Ends the archive as GNU tar does: two zero blocks, then zeros up to the end of the 10240-byte record.</summary>
    public async Task FinishAsync(CancellationToken ct)
    {
        await WriteZerosAsync(2 * BlockSize, ct);
        await PadAsync(RecordSize, ct);
    }

    /// <summary>Refuses a file the octal size field cannot hold; GNU tar would switch to base-256, which not every reader takes.</summary>
    public static void CheckFileSize(string path, long length)
    {
        if (length > MaxFileSize)
        {
            throw new BuilderException("OSVA-B031", $"venv file {path} is {length} bytes; the artifact's tar format holds files up to 8 GiB - 1",
                "keep data files of that size out of the venv (install them apart, e.g. under /var/lib)");
        }
    }

    private async Task WriteHeaderAsync(string name, char type, UnixFileMode mode, long size, string? link, CancellationToken ct)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var linkBytes = link is null ? [] : Encoding.UTF8.GetBytes(link);
        if (linkBytes.Length > NameFieldSize) await WriteLongLinkAsync('K', linkBytes, ct);
        if (nameBytes.Length > NameFieldSize) await WriteLongLinkAsync('L', nameBytes, ct);
        Fill(nameBytes, type, mode, size, modificationTime, linkBytes);
        await output.WriteAsync(_header, ct);
        _written += BlockSize;
    }

    private async Task WriteLongLinkAsync(char type, byte[] value, CancellationToken ct)
    {
        Fill("././@LongLink"u8, type, LongLinkMode, value.Length + 1, 0, []);
        await output.WriteAsync(_header, ct);
        await output.WriteAsync(value, ct);
        // The value is stored with its terminating NUL, which the padding supplies.
        _written += BlockSize + value.Length;
        await WriteZerosAsync(1, ct);
        await PadAsync(BlockSize, ct);
    }

    private void Fill(ReadOnlySpan<byte> name, char type, UnixFileMode mode, long size, long mtime, ReadOnlySpan<byte> link)
    {
        var h = _header.AsSpan();
        h.Clear();
        Copy(name, h[..100]);
        Octal(h.Slice(100, 8), (long)mode & 0xFFF);
        Octal(h.Slice(108, 8), 0);
        Octal(h.Slice(116, 8), 0);
        Octal(h.Slice(124, 12), size);
        Octal(h.Slice(136, 12), mtime);
        h[156] = (byte)type;
        Copy(link, h.Slice(157, 100));
        "ustar  \0"u8.CopyTo(h[257..]);
        "root"u8.CopyTo(h[265..]);
        "root"u8.CopyTo(h[297..]);
        // The checksum counts its own field as eight spaces and is written as six digits, NUL, space.
        h.Slice(148, 8).Fill((byte)' ');
        long sum = 0;
        foreach (var b in h) sum += b;
        Octal(h.Slice(148, 7), sum);
    }

    private static void Copy(ReadOnlySpan<byte> value, Span<byte> field) => value[..Math.Min(value.Length, field.Length)].CopyTo(field);

    /// <summary>Zero-padded octal filling all but the last byte of the field, which stays NUL.</summary>
    private static void Octal(Span<byte> field, long value)
    {
        var digits = Convert.ToString(value, 8);
        if (value < 0 || digits.Length > field.Length - 1) throw new ArgumentOutOfRangeException(nameof(value), value, $"does not fit {field.Length - 1} octal digits");
        field[..^1].Fill((byte)'0');
        Encoding.ASCII.GetBytes(digits, field[(field.Length - 1 - digits.Length)..^1]);
        field[^1] = 0;
    }

    private Task PadAsync(int multiple, CancellationToken ct) => WriteZerosAsync((int)((multiple - _written % multiple) % multiple), ct);

    private async Task WriteZerosAsync(int count, CancellationToken ct)
    {
        if (count == 0) return;
        await output.WriteAsync(Zeros.AsMemory(0, count), ct);
        _written += count;
    }
}
