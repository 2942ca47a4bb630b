using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Host;
using OsVenvArtifacts.Installer.State;

namespace OsVenvArtifacts.Installer.Operations;

/// <summary>
/// Where a tag goes on this host: decided by the host's rules, never by the artifact. The manifest's
/// <c>installPath</c> is only the text relocation rewrites; a venv always lands directly below the venvs root
/// (<c>venvs-root</c> in <c>/etc/osva/osva.conf</c>), as <c>&lt;service&gt;-&lt;tag&gt;</c> or the name
/// <c>--install-path</c> gives, and never on a directory the installer did not create for this tag.
/// </summary>
internal sealed class InstallTarget(InstallerEnvironment env)
{
    public string Choose(string service, string tag, string? requested)
    {
        var root = env.Config.VenvsRoot;
        var path = InstallerEnvironment.CheckInstallPath(requested ?? $"{root}/{service}-{tag}");
        if (Path.GetDirectoryName(path) != root || Path.GetFileName(path).StartsWith('.'))
        {
            throw new InstallerException("OSVA-I043", $"install path {path} is not directly below this host's venvs root {root}",
                $"use --install-path {root}/NAME, or set venvs-root in {HostConfig.HostPath}", ExitCode.InvalidInput);
        }
        return path;
    }

    /// <summary>
    /// Refuses a path another service or tag has recorded, and a directory that exists without a record, unless
    /// this tag's own intent file says an earlier run created it and died before recording it.
    /// </summary>
    public async Task EnsureFreeAsync(string service, string tag, string path, CancellationToken ct)
    {
        foreach (var (owner, recorded) in await RecordedAsync(ct))
        {
            if (recorded.InstallPath == path && (owner != service || recorded.Tag != tag))
            {
                throw new InstallerException("OSVA-I043", $"{path} is where {owner} {recorded.Tag} is installed",
                    $"install {service} {tag} elsewhere with --install-path, or uninstall {owner} {recorded.Tag} first", ExitCode.Conflict);
            }
        }
        var onDisk = env.HostPath(path);
        var exists = Directory.Exists(onDisk) || File.Exists(onDisk) || new FileInfo(onDisk).LinkTarget is not null;
        if (exists && !IsOwnLeftover(service, tag, path))
        {
            throw new InstallerException("OSVA-I043", $"{path} already exists and osva-install did not create it for {service} {tag}",
                $"nothing was changed; move it away if it is a venv made by other means (see docs/osva-install.md, \"Migrating\"), or install with --install-path {env.Config.VenvsRoot}/NAME",
                ExitCode.Conflict);
        }
    }

    /// <summary>Written before the staging directory is renamed into place, removed once the tag is recorded.</summary>
    public Task WriteIntentAsync(string service, string tag, string path, CancellationToken ct)
    {
        Directory.CreateDirectory(env.ServiceDataDirectory(service));
        return AtomicFile.WriteAllTextAsync(IntentFile(service, tag), path + "\n", ct);
    }

    public void DeleteIntent(string service, string tag) => File.Delete(IntentFile(service, tag));

    public bool IsOwnLeftover(string service, string tag, string path)
    {
        var intent = IntentFile(service, tag);
        return File.Exists(intent) && File.ReadAllText(intent).TrimEnd('\n') == path;
    }

    private string IntentFile(string service, string tag) => Path.Combine(env.ServiceDataDirectory(service), tag + InterruptedWork.IntentSuffix);

    private async Task<List<(string Service, InstalledTag Tag)>> RecordedAsync(CancellationToken ct)
    {
        var all = new List<(string, InstalledTag)>();
        if (!Directory.Exists(env.StateDirectory)) return all;
        var states = new StateStore(env);
        foreach (var file in Directory.EnumerateFiles(env.StateDirectory, "*.json"))
        {
            var state = await states.LoadAsync(Path.GetFileNameWithoutExtension(file), ct);
            all.AddRange(state.Installed.Select(t => (state.Service, t)));
        }
        return all;
    }
}
