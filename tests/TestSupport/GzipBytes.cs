using System.IO.Compression;

namespace OsVenvArtifacts.TestSupport;

/// <summary>Small in-memory gzip for hand-made hostile archives (test data only; artifacts stream).</summary>
public static class GzipBytes
{
    public static byte[] Compress(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(data);
        return output.ToArray();
    }

    /// <summary>As .NET's lenient GZipStream reads it (a stream cut short decompresses without an error).</summary>
    public static byte[] Decompress(byte[] gz)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress)) gzip.CopyTo(output);
        return output.ToArray();
    }
}
