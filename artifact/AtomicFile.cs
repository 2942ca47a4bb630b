namespace OsVenvArtifacts.Artifact;

/// <summary>Writes that a crash can never leave half-done: temp file in the same directory, fsync, rename.</summary>
public static class AtomicFile
{
    public static async Task WriteAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken ct, UnixFileMode? mode = null)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                await write(stream, ct);
                await stream.FlushAsync(ct);
                stream.Flush(flushToDisk: true);
            }
            if (mode is { } m) File.SetUnixFileMode(temp, m);
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    public static Task WriteAllBytesAsync(string path, byte[] data, CancellationToken ct, UnixFileMode? mode = null) =>
        WriteAsync(path, (s, c) => s.WriteAsync(data, c).AsTask(), ct, mode);

    public static Task WriteAllTextAsync(string path, string text, CancellationToken ct, UnixFileMode? mode = null) =>
        WriteAllBytesAsync(path, System.Text.Encoding.UTF8.GetBytes(text), ct, mode);
}
