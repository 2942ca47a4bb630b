using System.Runtime.InteropServices;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Installer.Host;

/// <summary>flock on <c>/var/lib/osva/&lt;service&gt;.lock</c>: one host transaction per service at a time.</summary>
internal sealed class ServiceLock : IDisposable
{
    private readonly int _fd;

    private ServiceLock(int fd) => _fd = fd;

    public static async Task<ServiceLock> AcquireAsync(InstallerEnvironment env, string service, CancellationToken ct)
    {
        Directory.CreateDirectory(env.StateDirectory);
        var path = Path.Combine(env.StateDirectory, service + ".lock");
        var fd = Native.OpenLockFile(path);
        var deadline = env.Now + env.LockTimeout;
        while (Native.Flock(fd, Native.LockExclusive | Native.LockNonBlocking) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno != 11 || env.Now > deadline)
            {
                Native.Close(fd);
                throw new InstallerException("OSVA-I060", $"another osva-install holds {path}",
                    "wait for it to finish; if none runs, the lock is stale only while its process lives (check with fuser)", ExitCode.Conflict);
            }
            await Task.Delay(200, ct);
        }
        return new ServiceLock(fd);
    }

    public void Dispose()
    {
        Native.Flock(_fd, Native.LockUnlock);
        Native.Close(_fd);
    }
}
