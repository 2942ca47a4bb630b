using System.Runtime.InteropServices;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Installer.Host;

/// <summary>flock on <c>/var/lib/osva/&lt;service&gt;.lock</c>: one host transaction per service at a time.</summary>
internal sealed class ServiceLock : IDisposable
{
    private readonly int _fd;

    private ServiceLock(int fd) => _fd = fd;

    /// <summary>
    /// Takes the service's lock, waiting up to the environment's lock timeout (--lock-timeout). A run that has to
    /// wait says once for whom: the holder writes its pid and command into the lock file when it gets the lock.
    /// </summary>
    public static async Task<ServiceLock> AcquireAsync(InstallerEnvironment env, string service, CancellationToken ct)
    {
        Directory.CreateDirectory(env.StateDirectory);
        var path = Path.Combine(env.StateDirectory, service + ".lock");
        var fd = Native.OpenLockFile(path);
        var deadline = env.Now + env.LockTimeout;
        var said = false;
        while (Native.Flock(fd, Native.LockExclusive | Native.LockNonBlocking) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno != 11 || env.Now > deadline)
            {
                var holder = Holder(fd);
                Native.Close(fd);
                throw new InstallerException("OSVA-I060", $"another osva-install holds {path}{holder}",
                    $"wait for it to finish (or pass --lock-timeout SECONDS to wait longer than {env.LockTimeout.TotalSeconds:0} s); if none runs, the lock is stale only while its process lives (check with fuser)",
                    ExitCode.Conflict);
            }
            if (!said)
            {
                await Console.Error.WriteLineAsync($"osva-install: waiting for the lock on {service}{Holder(fd)}, up to {env.LockTimeout.TotalSeconds:0} s (--lock-timeout)");
                said = true;
            }
            await Task.Delay(200, ct);
        }
        Native.WriteLockFile(fd, $"{Environment.ProcessId} {Command()}\n");
        return new ServiceLock(fd);
    }

    /// <summary>" held by pid N (install nova 31.0.0)" from the lock file, or nothing when it says nothing readable.</summary>
    private static string Holder(int fd)
    {
        var text = Native.ReadLockFile(fd).Trim();
        var parts = text.Split(' ', 2);
        if (!int.TryParse(parts[0], out var pid) || text.Any(char.IsControl)) return "";
        return $" held by pid {pid}" + (parts.Length > 1 ? $" ({parts[1]})" : "");
    }

    /// <summary>The verb and its arguments up to the first option: what a waiting run is told this one is doing.</summary>
    private static string Command() =>
        string.Join(' ', Environment.GetCommandLineArgs().Skip(1).TakeWhile(a => !a.StartsWith('-')).Take(4));

    public void Dispose()
    {
        Native.Flock(_fd, Native.LockUnlock);
        Native.Close(_fd);
    }
}
