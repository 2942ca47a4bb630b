using System.Runtime.InteropServices;

namespace OsVenvArtifacts.Installer.Host;

/// <summary>The few libc calls .NET does not expose: advisory locks, whole-file-system sync, directory swap, glibc version.</summary>
internal static partial class Native
{
    public const int LockExclusive = 2;
    public const int LockNonBlocking = 4;
    public const int LockUnlock = 8;
    private const int OpenReadOnly = 0;
    private const int OpenReadWrite = 2;
    private const int OpenCreate = 0x40;
    private const int OpenDirectory = 0x10000;
    private const int OpenNoFollow = 0x20000;
    private const int OpenCloseOnExec = 0x80000;
    private const int CurrentDirectory = -100; // AT_FDCWD
    private const uint RenameExchange = 2;
    private const int InvalidArgument = 22;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    private static partial nint PRead(int fd, Span<byte> buffer, nuint count, long offset);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    private static partial nint PWrite(int fd, ReadOnlySpan<byte> buffer, nuint count, long offset);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int FTruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    public static partial int Flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int SyncFs(int fd);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int oldDirFd, string oldPath, int newDirFd, string newPath, uint flags);

    [LibraryImport("libc", EntryPoint = "lstat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LStat(string path, Span<byte> buffer);

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LChown(string path, int owner, int group);

    [LibraryImport("libc", EntryPoint = "gnu_get_libc_version")]
    private static partial IntPtr GnuGetLibcVersion();

    /// <summary>
    /// Swaps two directories in one step (<c>renameat2(RENAME_EXCHANGE)</c>): a process that looks at either path sees
    /// the old tree or the new one, never neither. False when the file system cannot (EINVAL), so the caller falls back
    /// to two renames.
    /// </summary>
    public static bool TryExchange(string a, string b)
    {
        if (RenameAt2(CurrentDirectory, a, CurrentDirectory, b, RenameExchange) == 0) return true;
        var errno = Marshal.GetLastPInvokeError();
        return errno == InvalidArgument ? false
            : throw new IOException($"cannot swap {a} and {b}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
    }

    /// <summary>Opens (creating) a lock file without .NET's own flock emulation, which would share-lock it first.</summary>
    public static int OpenLockFile(string path)
    {
        // Never through a symlink: the holder's text is written into the file.
        var fd = Open(path, OpenReadWrite | OpenCreate | OpenCloseOnExec | OpenNoFollow, Convert.ToInt32("600", 8));
        return fd >= 0 ? fd : throw new IOException($"cannot open lock file {path}: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>
    /// The lock file's text, read through the descriptor already open: .NET's own FileStream would take a flock of
    /// its own on the file, which the holder's exclusive lock refuses.
    /// </summary>
    public static string ReadLockFile(int fd)
    {
        Span<byte> buffer = stackalloc byte[512];
        var n = PRead(fd, buffer, (nuint)buffer.Length, 0);
        return n > 0 ? System.Text.Encoding.UTF8.GetString(buffer[..(int)n]) : "";
    }

    /// <summary>Replaces the lock file's text (who holds it), through the descriptor that holds the lock.</summary>
    public static void WriteLockFile(int fd, string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        // Best effort: the text only tells a waiting run whom it waits for.
        if (FTruncate(fd, 0) == 0) PWrite(fd, bytes, (nuint)bytes.Length, 0);
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

    /// <summary>
    /// Owner and group of a file (not following a symlink): .NET exposes the mode but not these, and a packaged file
    /// osva takes over must be put back with both. <c>struct stat</c> as glibc lays it out on x86-64 (144 bytes,
    /// st_uid at 28, st_gid at 32), the only platform the installer is published for.
    /// </summary>
    public static (int Uid, int Gid) Owner(string path)
    {
        Span<byte> stat = stackalloc byte[144];
        if (LStat(path, stat) != 0) throw new IOException($"cannot stat {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        return (BitConverter.ToInt32(stat[28..32]), BitConverter.ToInt32(stat[32..36]));
    }

    public static void SetOwner(string path, int uid, int gid)
    {
        if (LChown(path, uid, gid) != 0) throw new IOException($"cannot chown {path}: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    public static string GlibcVersion() => Marshal.PtrToStringUTF8(GnuGetLibcVersion()) ?? "0";
}
