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
        ServiceState? state;
        await using (var stream = File.OpenRead(path))
        {
            try
            {
                state = await JsonSerializer.DeserializeAsync(stream, InstallerJsonContext.Default.ServiceState, ct);
            }
            catch (JsonException e)
            {
                throw Damaged(path, service, e.Message, e);
            }
        }
        // "null" parses, but taken as an empty state it would silently forget every installed tag.
        if (state is null) throw Damaged(path, service, "it holds null, not a state");
        if (state.SchemaVersion > ServiceState.CurrentSchemaVersion)
        {
            throw new InstallerException("OSVA-I062", $"state file {path} has schema {state.SchemaVersion}, newer than this osva-install reads ({ServiceState.CurrentSchemaVersion})",
                "a newer osva-install wrote it: run that version (never downgrade osva-install on a host with a newer state)", ExitCode.InvalidInput);
        }
        if (state.SchemaVersion < 1) throw Damaged(path, service, $"schema {state.SchemaVersion} is no schema osva-install writes");
        if (state.Service != service) throw Damaged(path, service, $"it is the state of '{state.Service}'");
        // Null lists and null items pass the reader (it checks members, not items); every command assumes neither (found by make fuzz).
        if (ArtifactJson.HasNull(state.Installed) || ArtifactJson.HasNull(state.History) || state.IndexVersions is null
            || state.Activation is { } activation && (ArtifactJson.HasNull(activation.Units) || ArtifactJson.HasNull(activation.Files)))
        {
            throw Damaged(path, service, "it lists null entries");
        }
        return state;
    }


    private static InstallerException Damaged(string path, string service, string problem, Exception? inner = null) =>
        new("OSVA-I061", $"state file {path} is damaged: {problem}",
            $"rebuild it from the venvs and manifests on disk: osva-install repair {service} --state (the damaged file is kept beside it)", ExitCode.InvalidInput, inner);

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
