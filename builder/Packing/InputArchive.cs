using System.Formats.Tar;
using System.Text;

namespace OsVenvArtifacts.Builder.Packing;

/// <summary>
/// A tar spooled to a temp file (never held in memory) that carries host files into a container or
/// a build context through the Docker archive API. Owner root, fixed mtime, modes from the host.
/// </summary>
internal sealed class InputArchive : IAsyncDisposable
{
    private static readonly DateTimeOffset Epoch = DateTimeOffset.FromUnixTimeSeconds(315532800);
    private readonly string _path;
    private readonly FileStream _file;
    private readonly TarWriter _writer;
    private readonly HashSet<string> _directories = new(StringComparer.Ordinal);

    public InputArchive()
    {
        _path = Path.Combine(Path.GetTempPath(), $"osva-build-input-{Guid.NewGuid():N}.tar");
        _file = new FileStream(_path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16,
            FileOptions.Asynchronous | FileOptions.DeleteOnClose);
        _writer = new TarWriter(_file, TarEntryFormat.Gnu, leaveOpen: true);
    }

    public async Task AddDirectoryAsync(string name, CancellationToken ct)
    {
        name = name.TrimEnd('/');
        if (name.Length == 0 || !_directories.Add(name)) return;
        var parent = Path.GetDirectoryName(name);
        if (!string.IsNullOrEmpty(parent)) await AddDirectoryAsync(parent, ct);
        await _writer.WriteEntryAsync(Entry(TarEntryType.Directory, name + "/", Modes.Directory), ct);
    }

    public async Task AddFileAsync(string name, string hostPath, CancellationToken ct)
    {
        if (Path.GetDirectoryName(name) is { Length: > 0 } parent) await AddDirectoryAsync(parent, ct);
        var executable = (File.GetUnixFileMode(hostPath) & UnixFileMode.UserExecute) != 0;
        var entry = Entry(TarEntryType.RegularFile, name, executable ? Modes.Executable : Modes.File);
        await using var data = new FileStream(hostPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        entry.DataStream = data;
        await _writer.WriteEntryAsync(entry, ct);
    }

    public async Task AddTextAsync(string name, string text, CancellationToken ct)
    {
        if (Path.GetDirectoryName(name) is { Length: > 0 } parent) await AddDirectoryAsync(parent, ct);
        var entry = Entry(TarEntryType.RegularFile, name, Modes.File);
        entry.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text));
        await _writer.WriteEntryAsync(entry, ct);
    }

    /// <summary>Adds every file below <paramref name="hostDirectory"/> under <paramref name="prefix"/>, in ordinal order.</summary>
    public async Task AddTreeAsync(string prefix, string hostDirectory, CancellationToken ct)
    {
        await AddDirectoryAsync(prefix, ct);
        foreach (var file in Directory.EnumerateFiles(hostDirectory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(hostDirectory, file).Replace('\\', '/');
            await AddFileAsync($"{prefix}/{relative}", file, ct);
        }
    }

    /// <summary>Finishes the tar and returns it positioned at its start; the archive owns the stream.</summary>
    public async Task<Stream> CompleteAsync()
    {
        await _writer.DisposeAsync();
        await _file.FlushAsync();
        _file.Position = 0;
        return _file;
    }

    private static GnuTarEntry Entry(TarEntryType type, string name, UnixFileMode mode) => new(type, name)
    {
        Mode = mode,
        Uid = 0,
        Gid = 0,
        ModificationTime = Epoch,
        AccessTime = Epoch,
        ChangeTime = Epoch,
    };

    public async ValueTask DisposeAsync()
    {
        await _writer.DisposeAsync();
        await _file.DisposeAsync();
    }
}

/// <summary>The only modes osva writes: owner-writable, world-readable, executable where the source was.</summary>
internal static class Modes
{
    public const UnixFileMode File = (UnixFileMode)0x1A4;       // 0644
    public const UnixFileMode Executable = (UnixFileMode)0x1ED; // 0755
    public const UnixFileMode Directory = Executable;
    public const UnixFileMode Symlink = (UnixFileMode)0x1FF;    // 0777, as ln -s makes them

    public static UnixFileMode Normalize(TarEntryType type, UnixFileMode mode) => type switch
    {
        TarEntryType.Directory => Directory,
        TarEntryType.SymbolicLink => Symlink,
        _ => (mode & UnixFileMode.UserExecute) != 0 ? Executable : File,
    };
}
