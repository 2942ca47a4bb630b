using System.Security.Cryptography;

namespace OsVenvArtifacts.Artifact;

/// <summary>sha256 as lower-case hex, of streams and files, and the one-line <c>sha256sum</c> format.</summary>
public static class Sha256
{
    public static string Hex(ReadOnlySpan<byte> hash) => Convert.ToHexStringLower(hash);

    public static string Of(ReadOnlySpan<byte> data) => Hex(SHA256.HashData(data));

    public static async Task<string> OfStreamAsync(Stream stream, CancellationToken ct) =>
        Hex(await SHA256.HashDataAsync(stream, ct));

    public static async Task<string> OfFileAsync(string path, CancellationToken ct)
    {
        await using var file = File.OpenRead(path);
        return await OfStreamAsync(file, ct);
    }

    /// <summary>The line <c>sha256sum -c</c> checks: hash, two spaces, file name.</summary>
    public static string ChecksumLine(string hash, string fileName) => $"{hash}  {fileName}\n";

    /// <summary>Reads the hash from a <c>.sha256</c> file and checks it names <paramref name="expectedFileName"/>.</summary>
    public static string ParseChecksumLine(string text, string expectedFileName, string source)
    {
        var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
        var parts = line.Split(' ', 2);
        var name = parts.Length == 2 ? parts[1].TrimStart(' ', '*').TrimEnd('\r') : "";
        if (parts[0].Length != 64 || !parts[0].All(Uri.IsHexDigit) || name != expectedFileName)
        {
            throw new ArtifactFormatException("OSVA-A012",
                $"{source} is not a sha256sum line for {expectedFileName}",
                "re-download the .sha256 file or republish the artifact", ExitCode.InvalidInput);
        }
        return parts[0].ToLowerInvariant();
    }
}

/// <summary>Hashes everything that passes through, in either direction, so an artifact is hashed while it streams.</summary>
public sealed class HashingStream(Stream inner, bool leaveOpen = false) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long BytesHashed { get; private set; }

    /// <summary>The hex digest of everything read or written so far; call once, at the end.</summary>
    public string Finish() => Sha256.Hex(_hash.GetHashAndReset());

    public override bool CanRead => inner.CanRead;
    public override bool CanSeek => false;
    public override bool CanWrite => inner.CanWrite;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => BytesHashed; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Append(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken);
        Append(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Append(buffer);
        inner.Write(buffer);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Append(buffer.Span);
        await inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    private void Append(ReadOnlySpan<byte> data)
    {
        _hash.AppendData(data);
        BytesHashed += data.Length;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            if (!leaveOpen) inner.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        _hash.Dispose();
        if (!leaveOpen) await inner.DisposeAsync();
        await base.DisposeAsync();
    }
}
