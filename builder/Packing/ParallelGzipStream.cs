using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace OsVenvArtifacts.Builder.Packing;

/// <summary>
/// Writes one gzip member whose deflate data is made pigz-style, so several cores compress it: the input is cut
/// into blocks of <see cref="BlockSize"/> bytes, each block is deflated on its own by a fresh deflater (no shared
/// dictionary), and every block but the last ends with a sync flush, so its bytes end on a byte boundary and the
/// next block's bytes simply follow. The last block ends with deflate's final block. The cut points depend only
/// on the input's length, never on the number of threads, so the output is the same for 1 or 16 threads.
/// A single member is what the installer accepts (its trailer states the whole tar's CRC-32 and length); gzip,
/// GNU tar, bsdtar and Python read it as any gzip file.
/// </summary>
/// <remarks>
/// Memory stays bounded: at most <c>2 × threads + 2</c> blocks are queued or being compressed, <c>threads</c> of them at
/// once. The queue is deeper than the thread count so that the deflaters keep working while the writing thread waits
/// to be scheduled: on a loaded machine a queue of exactly <c>threads</c> blocks left them idle at every block, and
/// packing ran at half pigz's speed with half its CPU time. The CRC-32 is computed in order on the writing thread. Call <see cref="CompleteAsync"/> to write the last block
/// and the trailer; disposing without it only releases the buffers.
/// </remarks>
internal sealed class ParallelGzipStream : Stream
{
    /// <summary>Part of the format: changing it changes the bytes of every artifact (raise VenvPacker.FormatRevision).</summary>
    public const int BlockSize = 1 << 20;

    // A deflated block is at most a little larger than its input (stored blocks: 5 bytes per 64 KiB), plus the
    // sync flush's empty stored block and, past the point kept, the final block Dispose adds.
    private const int OutputCapacity = BlockSize + (BlockSize >> 8) + 4096;

    // ID1 ID2, CM deflate, no flags, MTIME 0, XFL 0, OS 3 (Unix): what .NET's GZipStream wrote before.
    private static readonly byte[] Header = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03];

    private readonly Stream _output;
    private readonly int _queueDepth;
    private readonly CompressionLevel _level;
    private readonly Crc32 _crc = new();
    private readonly Queue<Task<Compressed>> _inFlight = new();
    private readonly SemaphoreSlim _deflaters;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BlockSize);
    private int _filled;
    private long _length;
    private bool _headerWritten;
    private bool _completed;

    private sealed record Compressed(byte[] Buffer, int Length);

    public ParallelGzipStream(Stream output, int threads, CompressionLevel level = CompressionLevel.Optimal)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        _output = output;
        _queueDepth = 2 * threads + 2;
        _deflaters = new SemaphoreSlim(threads, threads);
        _level = level;
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => !_completed;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _length; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        // Sync callers get the same pipeline; only the waits for finished blocks block.
        var copy = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            buffer.CopyTo(copy);
            WriteAsync(copy.AsMemory(0, buffer.Length)).AsTask().GetAwaiter().GetResult();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        while (buffer.Length > 0)
        {
            // A full block is sent off only once more data arrives, so the last block is known at the end.
            if (_filled == BlockSize) await SendBlockAsync(last: false, cancellationToken);
            var n = Math.Min(BlockSize - _filled, buffer.Length);
            var chunk = buffer.Span[..n];
            chunk.CopyTo(_buffer.AsSpan(_filled));
            _crc.Append(chunk);
            _filled += n;
            _length += n;
            buffer = buffer[n..];
        }
    }

    /// <summary>Compresses and writes the last block, then the trailer (CRC-32 and length mod 2^32).</summary>
    public async Task CompleteAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        await SendBlockAsync(last: true, ct);
        while (_inFlight.Count > 0) await WriteOldestAsync(ct);
        var trailer = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, _crc.GetCurrentHashAsUInt32());
        BinaryPrimitives.WriteUInt32LittleEndian(trailer.AsSpan(4), (uint)_length);
        await _output.WriteAsync(trailer, ct);
        _completed = true;
    }

    private async Task SendBlockAsync(bool last, CancellationToken ct)
    {
        while (_inFlight.Count >= _queueDepth) await WriteOldestAsync(ct);
        var input = _buffer;
        var length = _filled;
        var level = _level;
        var deflaters = _deflaters;
        _inFlight.Enqueue(Task.Run(async () =>
        {
            await deflaters.WaitAsync(CancellationToken.None);
            try
            {
                return Deflate(input, length, last, level);
            }
            finally
            {
                deflaters.Release();
            }
        }, CancellationToken.None));
        _buffer = last ? [] : ArrayPool<byte>.Shared.Rent(BlockSize);
        _filled = 0;
    }

    private async Task WriteOldestAsync(CancellationToken ct)
    {
        var block = await _inFlight.Dequeue();
        try
        {
            if (!_headerWritten)
            {
                await _output.WriteAsync(Header, ct);
                _headerWritten = true;
            }
            await _output.WriteAsync(block.Buffer.AsMemory(0, block.Length), ct);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block.Buffer);
        }
    }

    /// <summary>Deflates one block; returns its input buffer to the pool and the compressed bytes in a pooled buffer.</summary>
    private static Compressed Deflate(byte[] input, int length, bool last, CompressionLevel level)
    {
        var output = ArrayPool<byte>.Shared.Rent(OutputCapacity);
        try
        {
            using var sink = new MemoryStream(output, writable: true);
            int kept;
            using (var deflate = new DeflateStream(sink, level, leaveOpen: true))
            {
                deflate.Write(input, 0, length);
                if (!last)
                {
                    // Sync flush: the block's data ends with an empty stored block, on a byte boundary. What
                    // Dispose then adds (a final block) is dropped: the next block continues the stream.
                    deflate.Flush();
                    kept = (int)sink.Position;
                }
                else
                {
                    kept = -1;
                }
            }
            if (kept < 0) kept = (int)sink.Position;
            if (kept == 0)
            {
                // Empty input: zlib may write nothing at all; a final empty fixed-Huffman block is valid deflate.
                output[0] = 0x03;
                output[1] = 0x00;
                kept = 2;
            }
            return new Compressed(output, kept);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(output);
            throw;
        }
        finally
        {
            if (input.Length > 0) ArrayPool<byte>.Shared.Return(input);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) ReleaseAsync().AsTask().GetAwaiter().GetResult();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await ReleaseAsync();
        await base.DisposeAsync();
    }

    /// <summary>Waits for blocks still being compressed (their buffers must not go back to the pool under them).</summary>
    private async ValueTask ReleaseAsync()
    {
        while (_inFlight.TryDequeue(out var task))
        {
            try
            {
                var block = await task;
                ArrayPool<byte>.Shared.Return(block.Buffer);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Already failed the write that was waiting for it, or the write was abandoned; nothing to release.
            }
        }
        if (_buffer.Length > 0) ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _completed = true;
        _deflaters.Dispose();
    }

    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
