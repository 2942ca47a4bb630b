using System.Text.Json;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Host;

namespace OsVenvArtifacts.Installer.State;

/// <summary>
/// Reads and writes a service's state file and the per-tag files beside it
/// (<c>/var/lib/osva/&lt;service&gt;/&lt;tag&gt;.manifest.json</c> and <c>.tree</c>, the entry list verify diffs against).
/// </summary>
internal sealed class StateStore(InstallerEnvironment env)
{
    public async Task<ServiceState> LoadAsync(string service, CancellationToken ct)
    {
        var path = env.StateFile(service);
        if (!File.Exists(path)) return new ServiceState { Service = service };
        await using var stream = File.OpenRead(path);
        try
        {
            return await JsonSerializer.DeserializeAsync(stream, InstallerJsonContext.Default.ServiceState, ct)
                ?? new ServiceState { Service = service };
        }
        catch (JsonException e)
        {
            throw new InstallerException("OSVA-I061", $"state file {path} is damaged: {e.Message}",
                "restore it from backup, or remove it and reinstall the active tag with osva-install install", ExitCode.InvalidInput, e);
        }
    }

    public Task SaveAsync(ServiceState state, CancellationToken ct) =>
        AtomicFile.WriteAllBytesAsync(env.StateFile(state.Service),
            JsonSerializer.SerializeToUtf8Bytes(state, InstallerJsonContext.Default.ServiceState), ct);

    public string ManifestPath(string service, string tag) => Path.Combine(env.ServiceDataDirectory(service), tag + ".manifest.json");

    public string TreePath(string service, string tag) => Path.Combine(env.ServiceDataDirectory(service), tag + ".tree");

    public async Task<Manifest> LoadManifestAsync(string service, string tag, CancellationToken ct)
    {
        var path = ManifestPath(service, tag);
        if (!File.Exists(path))
        {
            throw new InstallerException("OSVA-I070", $"{service} {tag} is not installed on this host (no {path})",
                $"install it first: osva-install install {service} {tag} --store LOCATION", ExitCode.InvalidInput);
        }
        await using var stream = File.OpenRead(path);
        return await ArtifactJson.ReadManifestAsync(stream, path, ct);
    }

    public async Task SaveTagFilesAsync(Manifest manifest, IReadOnlyList<TreeEntry> tree, CancellationToken ct)
    {
        await AtomicFile.WriteAllBytesAsync(ManifestPath(manifest.Service, manifest.Tag), ArtifactJson.Serialize(manifest), ct);
        await SaveTreeAsync(manifest.Service, manifest.Tag, tree, ct);
    }

    public Task SaveTreeAsync(string service, string tag, IEnumerable<TreeEntry> tree, CancellationToken ct) =>
        AtomicFile.WriteAsync(TreePath(service, tag), (stream, c) => TreeFile.WriteAsync(stream, tree, c), ct);

    /// <summary>The tag's recorded entry list, or null when none was recorded.</summary>
    public async Task<RecordedTree?> LoadTreeAsync(string service, string tag, Func<string, string?> linkOnDisk, CancellationToken ct)
    {
        var path = TreePath(service, tag);
        if (!File.Exists(path)) return null;
        return await TreeFile.ReadAsync(path, $"osva-install repair {service} {tag} downloads the tag again and rewrites its entry list", linkOnDisk, ct);
    }

    public void DeleteTagFiles(string service, string tag)
    {
        File.Delete(ManifestPath(service, tag));
        File.Delete(TreePath(service, tag));
    }
}
