using System.Runtime.InteropServices;

namespace OsVenvArtifacts.Installer.Host;

/// <summary>The few libc calls .NET does not expose: advisory locks, whole-file-system sync, glibc version.</summary>
internal static partial class Native
{
    public const int LockExclusive = 2;
    public const int LockNonBlocking = 4;
    public const int LockUnlock = 8;
    private const int OpenReadOnly = 0;
    private const int OpenReadWrite = 2;
    private const int OpenCreate = 0x40;
    private const int OpenDirectory = 0x10000;
    private const int OpenCloseOnExec = 0x80000;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    public static partial int Flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int SyncFs(int fd);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "gnu_get_libc_version")]
    private static partial IntPtr GnuGetLibcVersion();

    /// <summary>Opens (creating) a lock file without .NET's own flock emulation, which would share-lock it first.</summary>
    public static int OpenLockFile(string path)
    {
        var fd = Open(path, OpenReadWrite | OpenCreate | OpenCloseOnExec, Convert.ToInt32("600", 8));
        return fd >= 0 ? fd : throw new IOException($"cannot open lock file {path}: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>Flushes every dirty page of the file system holding <paramref name="directory"/>: one call instead of an fsync per file.</summary>
    public static void SyncFileSystem(string directory) => WithDirectory(directory, SyncFs);

    /// <summary>Makes a rename inside <paramref name="directory"/> durable.</summary>
    public static void SyncDirectory(string directory) => WithDirectory(directory, Fsync);

    private static void WithDirectory(string directory, Func<int, int> call)
    {
        var fd = Open(directory, OpenReadOnly | OpenDirectory | OpenCloseOnExec, 0);
        if (fd < 0) throw new IOException($"cannot open {directory}: {Marshal.GetLastPInvokeErrorMessage()}");
        try
        {
            if (call(fd) != 0) throw new IOException($"cannot sync {directory}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
        finally
        {
            Close(fd);
        }
    }

    public static string GlibcVersion() => Marshal.PtrToStringUTF8(GnuGetLibcVersion()) ?? "0";
}
