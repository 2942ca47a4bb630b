using System.Runtime.InteropServices;

namespace OsVenvArtifacts.Builder.Packing;

internal enum FileKind { Regular, Directory, Symlink, Fifo, CharacterDevice, BlockDevice, Socket }

/// <summary>
/// The file type and size as lstat gives them. .NET reports a FIFO, socket or device as an ordinary file, and a
/// venv must hold none of those, so the type comes from statx(2), whose buffer has the same layout on every arch.
/// </summary>
internal static class UnixFile
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const uint StatxSize = 0x200;
    private const int TypeMask = 0xF000;

    [StructLayout(LayoutKind.Sequential, Size = 256)]
    private struct Statx
    {
        public uint Mask;
        public uint BlockSize;
        public ulong Attributes;
        public uint Links;
        public uint Uid;
        public uint Gid;
        public ushort Mode;
        public ushort Spare;
        public ulong Inode;
        public ulong Size;
    }

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int NativeStatx(int dirFd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, out Statx buffer);

    /// <summary>The kind of <paramref name="path"/> itself (a symlink is not followed) and its size in bytes.</summary>
    public static (FileKind Kind, long Size) Inspect(string path)
    {
        if (NativeStatx(AtFdCwd, path, AtSymlinkNoFollow, StatxType | StatxSize, out var s) != 0)
        {
            throw new IOException($"statx {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        var kind = (s.Mode & TypeMask) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.Symlink,
            0x1000 => FileKind.Fifo,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            _ => FileKind.Socket,
        };
        return (kind, (long)s.Size);
    }
}
