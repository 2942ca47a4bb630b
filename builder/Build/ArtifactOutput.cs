namespace OsVenvArtifacts.Builder.Build;

/// <summary>
/// The files of one artifact on their way into the output directory: each is written under a hidden temp
/// name, and only when all are complete are they renamed into place, the manifest last (the cache and the
/// publisher look for manifests). A failure or cancellation removes the temp files, so the output
/// directory never holds a partial artifact.
/// </summary>
internal sealed class ArtifactOutput(string directory) : IDisposable
{
    private readonly List<(string? Temp, string Final)> _files = [];
    private bool _committed;

    public string Directory => directory;

    /// <summary>A new temp path in the output directory for a file that will become <paramref name="fileName"/>.</summary>
    public string Stage(string fileName)
    {
        var temp = Path.Combine(directory, $".{fileName}.{Guid.NewGuid():N}.tmp");
        _files.Add((temp, Path.Combine(directory, fileName)));
        return temp;
    }

    /// <summary>
    /// Deletes <paramref name="fileName"/> at commit, in staging order: an unsigned rebuild must not leave the old
    /// signature beside the new manifest, where it would be published as if it belonged to it.
    /// </summary>
    public void RemoveOnCommit(string fileName) => _files.Add((null, Path.Combine(directory, fileName)));

    public FileStream Create(string fileName) =>
        new(Stage(fileName), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: true);

    public async Task WriteAllBytesAsync(string fileName, byte[] data, CancellationToken ct)
    {
        await using var stream = Create(fileName);
        await stream.WriteAsync(data, ct);
        await stream.FlushAsync(ct);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Renames every staged file into place (or removes it), in the order staged.</summary>
    public void Commit()
    {
        foreach (var (temp, final) in _files)
        {
            if (temp is null)
            {
                File.Delete(final);
                continue;
            }
            File.SetUnixFileMode(temp, (UnixFileMode)0x1A4);
            File.Move(temp, final, overwrite: true);
        }
        _committed = true;
    }

    public void Dispose()
    {
        if (_committed) return;
        foreach (var (temp, _) in _files)
        {
            if (temp is null) continue;
            try { File.Delete(temp); }
            catch (IOException) { }
        }
    }
}
