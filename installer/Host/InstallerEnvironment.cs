using OsVenvArtifacts.Artifact;
namespace OsVenvArtifacts.Installer.Host;

/// <summary>
/// Everything the installer touches on a host, wired by hand: the file system root (every host path is
/// under it, so tests and image builds activate into a directory), the clock and the host's tools.
/// </summary>
internal sealed record InstallerEnvironment
{
    public InstallerEnvironment(string root)
    {
        // A root that is a file would make every host path one that cannot exist: say so before anything. A root not
        // there yet is made by the first write (a new image's tree).
        if (root.Length == 0 || File.Exists(root))
        {
            throw new InstallerException("OSVA-I090", root.Length == 0 ? "--root is empty" : $"--root {root} is not a directory",
                "give the directory every host path is under (/ for this host, the default)", ExitCode.Usage);
        }
        Root = Path.GetFullPath(root);
        Config = HostConfig.Load(HostPath(HostConfig.HostPath));
    }

    public string Root { get; }
    /// <summary>The host's own rules (<c>/etc/osva/osva.conf</c> under the root): stores, trusted keys, venvs root, limits.</summary>
    public HostConfig Config { get; init; }
    public TimeProvider Clock { get; init; } = TimeProvider.System;
    /// <summary>visudo; OSVA_VISUDO replaces it so failure-injection tests can make the check reject.</summary>
    public string Visudo { get; init; } = Environment.GetEnvironmentVariable("OSVA_VISUDO") is { Length: > 0 } v ? v : "visudo";
    public string Systemctl { get; init; } = "systemctl";
    public string SystemdAnalyze { get; init; } = "systemd-analyze";
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan ConfirmTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How long a unit's new process must keep running before activation counts as confirmed.</summary>
    public TimeSpan SettleTime { get; init; } = TimeSpan.FromSeconds(2);

    public bool IsScratchRoot => Root != "/";

    /// <summary>Services are stopped, started and reloaded only on a real host booted with systemd.</summary>
    public bool ManagesSystemd => !IsScratchRoot && Directory.Exists("/run/systemd/system");

    /// <summary>The on-disk path of an absolute host path.</summary>
    public string HostPath(string absolute) =>
        IsScratchRoot ? Path.Join(Root, absolute.TrimStart('/')) : absolute;

    public string StateDirectory => HostPath("/var/lib/osva");

    public string StateFile(string service) => Path.Combine(StateDirectory, service + ".json");

    public string ServiceDataDirectory(string service) => Path.Combine(StateDirectory, service);

    public DateTimeOffset Now => Clock.GetUtcNow();

    /// <summary>Checks an install path the user or a manifest gives before it is joined under the root.</summary>
    public static string CheckInstallPath(string path)
    {
        var ok = path.StartsWith('/') && !path.Split('/').Any(s => s is ".." or ".") && path.Length > 1
            && path.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-' or '+');
        return ok ? path.TrimEnd('/') : throw new InstallerException("OSVA-I002", $"install path '{path}' is not a plain absolute path",
            "use an absolute path of letters, digits, '/', '.', '_', '-' and '+', such as /openstack/venvs/nova-31.0.0");
    }
}
