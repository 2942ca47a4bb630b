namespace OsVenvArtifacts.Installer.Host;

/// <summary>Tells a full disk (or quota) apart from other I/O failures, so it is reported as OSVA-I040, never as a bug.</summary>
internal static class DiskSpace
{
    private const int NoSpace = 28;        // ENOSPC
    private const int QuotaExceeded = 122; // EDQUOT

    /// <summary>
    /// .NET puts errno in HResult for most file-system failures, but a failed preallocation (FileStream's
    /// PreallocationSize, used while unpacking) throws a plain IOException that only its message marks as disk full.
    /// </summary>
    public static bool IsFull(Exception e) => e is IOException io
        && ((io.HResult & 0xFFFF) is NoSpace or QuotaExceeded
            || io.Message.Contains("because the disk was full", StringComparison.Ordinal)
            || io.Message.Contains("No space left on device", StringComparison.Ordinal));
}
