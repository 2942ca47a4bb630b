using System.Buffers.Binary;
using System.IO.Hashing;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Installer.Unpack;

/// <summary>
/// Watches the decompressed tar on its way to the tar reader so the archive has exactly one reading: it stops at
/// the tar size the manifest states (endless data), keeps the CRC-32 the gzip trailer must match, and remembers
/// where the last non-zero byte was, so the end-of-archive blocks can be checked. .NET's GZipStream reads a gzip
/// stream cut short, or followed by garbage, without an error; GNU tar and Python stop with one.
/// It also walks the header blocks itself and checks each one's checksum, which System.Formats.Tar does not: GNU tar
/// skips an entry whose header checksum is wrong and Python stops, so the installer must not unpack it either.
/// </summary>
internal sealed class TarStreamGuard(Stream inner, long tarSize, string archive) : Stream
{
    private const int Block = 512;
    private readonly Crc32 _crc = new();
    private long _position;
    private long _lastNonZeroEnd;
    private uint _trailerCrc;
    private readonly byte[] _header = new byte[Block];
    private long _nextHeader;
    private bool _headersEnded;
    // The data of the last GNU long name/link or PAX entry: from _metaStart, checked up to _metaFrom, the name or records end at
    // _metaEnd, its block's padding at _metaPadEnd.
    private long _metaStart, _metaFrom, _metaEnd, _metaPadEnd;
    private bool _metaIsName, _metaNulSeen;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n;
        try
        {
            n = inner.Read(buffer);
        }
        // Every decompressed byte passes here, so a damaged deflate stream is named wherever the tar reader is.
        catch (InvalidDataException e)
        {
            throw Damaged($"its deflate stream is damaged ({e.Message})");
        }
        if (n == 0) return 0;
        var read = buffer[..n];
        if (_position + n > tarSize)
        {
            throw Damaged($"it decompresses to more than the {tarSize} bytes of tar its manifest states");
        }
        _crc.Append(read);
        var last = read.LastIndexOfAnyExcept((byte)0);
        if (last >= 0) _lastNonZeroEnd = _position + last + 1;
        WalkHeaders(read);
        _position += n;
        return n;
    }

    /// <summary>
    /// Reads the gzip member's trailer (the last 8 bytes of the file) before anything is decompressed: its length
    /// (mod 2^32) must be the manifest's tar size, and its CRC-32 is kept for <see cref="CheckEnd"/>. A stream cut
    /// short, followed by other data or made of several members has no such trailer.
    /// </summary>
    public void ReadGzipTrailer(string path)
    {
        Span<byte> header = stackalloc byte[3];
        Span<byte> trailer = stackalloc byte[8];
        using (var file = File.OpenHandle(path))
        {
            var length = RandomAccess.GetLength(file);
            if (length < 18 || RandomAccess.Read(file, header, 0) != 3 || RandomAccess.Read(file, trailer, length - 8) != 8)
            {
                throw Damaged("it is too short to be a gzip file");
            }
        }
        if (header[0] != 0x1f || header[1] != 0x8b || header[2] != 8) throw Damaged("it is not a gzip (deflate) file");
        _trailerCrc = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        var size = BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
        if (size != (uint)tarSize) throw BadTrailer($"states a length of {size}, not the {tarSize} bytes (mod 2^32) of tar its manifest states");
    }

    /// <summary>
    /// Called when the tar reader has seen the end: the block it stopped at must be zeros, at least one more zero
    /// block must follow, nothing but zeros after that, the tar must be exactly as long as the manifest says, and
    /// its CRC-32 the one in the gzip trailer.
    /// </summary>
    public void CheckEnd(CancellationToken ct)
    {
        var endMarker = _position - Block;
        if (_position % Block != 0 || endMarker < 0 || _lastNonZeroEnd > endMarker)
        {
            throw Damaged("the tar ends without its end-of-archive blocks");
        }
        var buffer = new byte[1 << 16];
        while (Read(buffer) > 0) ct.ThrowIfCancellationRequested();
        if (_lastNonZeroEnd > endMarker) throw Damaged("data follows the tar's end-of-archive blocks");
        if (_position - endMarker < 2 * Block || _position % Block != 0)
        {
            throw Damaged("the tar ends without its two end-of-archive blocks");
        }
        if (_position != tarSize) throw Damaged($"it decompresses to {_position} bytes of tar, its manifest states {tarSize}");
        var crc = _crc.GetCurrentHashAsUInt32();
        if (crc != _trailerCrc) throw BadTrailer($"states CRC-32 {_trailerCrc:x8}, the tar's is {crc:x8}");
    }

    /// <summary>
    /// Collects the bytes of the header block due at <see cref="_nextHeader"/> and checks it when whole. The next one
    /// follows the entry's data, as the size field states (PAX records that change a size are not followed: the walk
    /// then lands in data and the archive is refused; osva-build never writes them).
    /// </summary>
    private void WalkHeaders(ReadOnlySpan<byte> read)
    {
        var position = _position;
        CheckMetadata(read, position);
        while (!_headersEnded && _nextHeader < position + read.Length)
        {
            var from = (int)Math.Max(0, _nextHeader - position);
            var filled = (int)Math.Max(0, position - _nextHeader);
            var take = Math.Min(Block - filled, read.Length - from);
            read.Slice(from, take).CopyTo(_header.AsSpan(filled));
            if (filled + take < Block) return;
            CheckHeader();
            CheckMetadata(read, position);
        }
    }

    /// <summary>
    /// GNU tar and Python read a long name (or link) up to its first NUL in whole blocks, whatever its size field
    /// says, and Python reads PAX records from the whole blocks; System.Formats.Tar and bsdtar read exactly the size
    /// (found by fuzzing, seed 403183613 iteration 6268). So a long name holds no NUL but trailing ones, and the
    /// padding after either is zeros: then every reader reads the same name.
    /// </summary>
    private void CheckMetadata(ReadOnlySpan<byte> read, long position)
    {
        var end = Math.Min(_metaPadEnd, position + read.Length);
        for (var at = Math.Max(_metaFrom, position); at < end; at++)
        {
            var b = read[(int)(at - position)];
            if (at >= _metaEnd)
            {
                if (b != 0) throw Damaged($"the block of the long name or PAX records at byte {_metaEnd} goes on past the size its header states");
            }
            else if (!_metaIsName) { }
            else if (b == 0)
            {
                if (at == _metaStart) throw Damaged($"the long name at byte {_metaStart} is empty");
                _metaNulSeen = true;
            }
            else if (_metaNulSeen) throw Damaged($"the long name before byte {_metaEnd} goes on past a NUL");
        }
        _metaFrom = Math.Max(_metaFrom, end);
    }

    private void CheckHeader()
    {
        var header = _header.AsSpan();
        if (!header.ContainsAnyExcept((byte)0))
        {
            // The end-of-archive block; CheckEnd checks what follows.
            _headersEnded = true;
            return;
        }
        long unsigned = 0, signed = 0;
        for (var i = 0; i < Block; i++)
        {
            var b = i is >= 148 and < 156 ? (byte)' ' : header[i];
            unsigned += b;
            signed += (sbyte)b;
        }
        var stored = Octal(header.Slice(148, 8));
        // GNU tar and Python accept the sum of the bytes as signed or as unsigned, as old tars wrote either.
        if (stored != unsigned && stored != signed)
        {
            throw Damaged($"the header at byte {_nextHeader} has checksum {stored}, its bytes sum to {unsigned} (GNU tar skips such an entry, Python stops)");
        }
        var size = header[156] is (byte)'1' or (byte)'2' or (byte)'3' or (byte)'4' or (byte)'5' or (byte)'6' ? 0 : Size(header.Slice(124, 12));
        if (size < 0 || size > tarSize) throw Damaged($"the header at byte {_nextHeader} states a size past the tar's end");
        if (header[156] is (byte)'L' or (byte)'K' or (byte)'x' or (byte)'g')
        {
            _metaIsName = header[156] is (byte)'L' or (byte)'K';
            if (_metaIsName && size == 0) throw Damaged($"the long name at byte {_nextHeader} is empty");
            _metaStart = _metaFrom = _nextHeader + Block;
            _metaEnd = _metaFrom + size;
            _metaPadEnd = _metaFrom + (size + Block - 1) / Block * Block;
            _metaNulSeen = false;
        }
        _nextHeader += Block + (size + Block - 1) / Block * Block;
    }

    /// <summary>An octal field as tar writes it (leading spaces, NUL or space after the digits); -1 when it is not one.</summary>
    private static long Octal(ReadOnlySpan<byte> field)
    {
        field = field.TrimStart((byte)' ');
        var end = field.IndexOfAny((byte)0, (byte)' ');
        var digits = end < 0 ? field : field[..end];
        if (digits.IsEmpty || digits.Length > 21) return -1;
        long value = 0;
        foreach (var b in digits)
        {
            if (b is < (byte)'0' or > (byte)'7') return -1;
            value = value * 8 + (b - '0');
        }
        return value;
    }

    /// <summary>The size field: octal, or GNU base-256 (first byte 0x80) for sizes past 8 GiB; -1 when it is neither.</summary>
    private static long Size(ReadOnlySpan<byte> field)
    {
        if (field[0] != 0x80) return Octal(field);
        long value = 0;
        foreach (var b in field[1..])
        {
            if (value > long.MaxValue >> 8) return -1;
            value = (value << 8) | b;
        }
        return value;
    }

    private InstallerException BadTrailer(string problem) =>
        Damaged($"its gzip trailer {problem}: the stream was cut short, is followed by other data or is more than one gzip member");

    private InstallerException Damaged(string problem) =>
        new("OSVA-I033", $"{archive} is not one well-formed tar.gz: {problem}",
            "nothing was installed; the archive is damaged or was made to read differently in other tools; rebuild it with osva-build",
            ExitCode.VerificationFailed);

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
