using System.Text.RegularExpressions;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Activation;
using OsVenvArtifacts.Installer.Host;
using OsVenvArtifacts.Installer.State;

namespace OsVenvArtifacts.Installer.Operations;

/// <summary>
/// repair SERVICE --state: writes <c>/var/lib/osva/&lt;service&gt;.json</c> again from what is on disk, so a damaged or
/// emptied state forgets no tag. Every tag keeps its manifest under <c>/var/lib/osva/&lt;service&gt;/</c>; its venv is
/// found at the path it would be installed to, or wherever a venv below the venvs root matches its entry list; the
/// active tag is the one the activation files (drop-ins, sudoers, wrappers) name in their header. What a readable
/// state already says is kept; a damaged one is set aside, not deleted.
/// </summary>
internal sealed partial class StateRebuild(InstallerEnvironment env)
{
    private readonly StateStore _states = new(env);

    [GeneratedRegex(@"^# Written by osva-install for (?<service>\S+) (?<tag>\S+) \(")]
    private static partial Regex Header();

    public async Task<CommandResult> RunAsync(string service, bool dryRun, CancellationToken ct)
    {
        Names.Service(service);
        using var serviceLock = await ServiceLock.AcquireAsync(env, service, ct);
        // An interrupted activation puts back the state from before it, which may be the very file being rebuilt.
        await ActivationJournal.RecoverAsync(env, service, ct);
        var stateFile = env.StateFile(service);
        ServiceState? current = null;
        string? damage = null;
        try
        {
            current = File.Exists(stateFile) ? await _states.LoadAsync(service, ct) : null;
        }
        catch (InstallerException e) when (e.Code == "OSVA-I061")
        {
            damage = e.Message;
        }
        var actions = new List<string>();
        if (damage is not null) actions.Add($"set aside {stateFile} ({damage})");

        // What a readable state records stays: a missing venv is for repair to bring back, not for this to forget.
        var kept = current?.Installed.ToList() ?? [];
        actions.AddRange(kept.Where(t => !Directory.Exists(env.HostPath(t.InstallPath)))
            .Select(t => $"keep {t.Tag} although {t.InstallPath} is missing (osva-install repair {service} {t.Tag} brings it back)"));
        var found = new List<(InstalledTag Tag, Manifest Manifest)>();
        foreach (var located in await FindUnlistedAsync(service, kept, ct))
        {
            if (located.Tag is null)
            {
                actions.Add($"skip {located.Name}: {located.Problem}");
                continue;
            }
            found.Add((located.Tag, located.Manifest!));
            actions.Add($"record {located.Name} at {located.Tag.InstallPath}" + (located.Note is null ? "" : $" ({located.Note})"));
        }

        var installed = kept.Concat(found.Select(f => f.Tag)).OrderBy(t => t.InstalledAt).ToList();
        var activation = current?.Activation ?? FindActivation(service, installed, actions);
        var active = current?.Active ?? activation?.Tag;
        if (current?.Active is null && active is not null) actions.Add($"active tag {active}, as its activation files say");
        var changed = damage is not null || found.Count > 0 || current is null || active != current.Active;
        if (!changed)
        {
            return new CommandResult { Command = "repair", Service = service, Active = current!.Active, Previous = current.Previous, Actions = actions };
        }
        var rebuilt = new ServiceState
        {
            Service = service,
            Active = active,
            Previous = current?.Previous is { } p && installed.Any(t => t.Tag == p) ? p : null,
            Installed = installed,
            Activation = activation,
            IndexVersions = current?.IndexVersions ?? new Dictionary<string, long>(),
            History = [.. current?.History ?? [], new StateEvent(env.Now, "rebuild-state", active ?? "-", damage is null ? null : "damaged state")],
        };
        if (current is null && damage is null && installed.Count == 0) actions.Add($"nothing of {service} found on disk");
        if (!dryRun)
        {
            if (damage is not null) File.Copy(stateFile, $"{stateFile}.damaged-{env.Now:yyyyMMddTHHmmssZ}", overwrite: true);
            await _states.SaveAsync(rebuilt, ct);
        }
        actions.Add($"write {stateFile} with {installed.Count} tags");
        return new CommandResult
        {
            Command = "repair", Service = service, Changed = true, DryRun = dryRun, Active = rebuilt.Active, Previous = rebuilt.Previous, Actions = actions,
        };
    }

    /// <summary>
    /// The recorded tags <paramref name="listed"/> lacks, each with its venv or why none was found. Usual paths first, for
    /// every tag, so that the search for a relocated venv never takes another tag's.
    /// </summary>
    public async Task<List<Located>> FindUnlistedAsync(string service, IReadOnlyList<InstalledTag> listed, CancellationToken ct)
    {
        var claimed = listed.Select(t => t.InstallPath).ToHashSet(StringComparer.Ordinal);
        var pending = RecordedTags(service).Where(tag => listed.All(t => t.Tag != tag)).ToList();
        var results = new List<Located>();
        foreach (var elsewhere in new[] { false, true })
        {
            foreach (var tag in pending.ToList())
            {
                var located = await LocateAsync(service, tag, claimed, elsewhere, ct);
                if (located.Tag is null && !elsewhere) continue;
                pending.Remove(tag);
                if (located.Tag is not null) claimed.Add(located.Tag.InstallPath);
                results.Add(located);
            }
        }
        return results;
    }

    /// <summary>The tags with a manifest recorded under <c>/var/lib/osva/&lt;service&gt;/</c>: every tag installed and not removed.</summary>
    public IReadOnlyList<string> RecordedTags(string service)
    {
        var dir = env.ServiceDataDirectory(service);
        return Directory.Exists(dir)
            ? Directory.EnumerateFiles(dir, "*.manifest.json").Select(f => Path.GetFileName(f)[..^".manifest.json".Length]).Order(StringComparer.Ordinal).ToList()
            : [];
    }

    internal sealed record Located(string Name, InstalledTag? Tag, Manifest? Manifest, string? Problem, string? Note = null);

    /// <summary>
    /// Where a recorded tag's venv is: its default path or its build path when one exists, else (with
    /// <paramref name="elsewhere"/>) another venv below the venvs root that nothing claims and that matches the entry
    /// list (a tag installed with --install-path).
    /// </summary>
    private async Task<Located> LocateAsync(string service, string tag, HashSet<string> claimed, bool elsewhere, CancellationToken ct)
    {
        Manifest manifest;
        try
        {
            manifest = await _states.LoadManifestAsync(service, tag, ct);
        }
        catch (OsvaException e)
        {
            return new Located(tag, null, null, e.Message);
        }
        if (manifest.Service != service || manifest.Tag != tag) return new Located(tag, null, null, $"its manifest describes {manifest.Service} {manifest.Tag}");
        var root = env.Config.VenvsRoot;
        var usual = new[] { $"{root}/{service}-{tag}", manifest.InstallPath }.Where(p => Path.GetDirectoryName(p) == root && !claimed.Contains(p)).Distinct().ToList();
        var recorded = await _states.LoadTreeAsync(service, tag, _ => null, ct);
        foreach (var path in usual.Where(p => Directory.Exists(env.HostPath(p))))
        {
            var wrong = recorded is null ? 0 : VenvCheck.QuickMismatches(env.HostPath(path), recorded.Entries).Count;
            return new Located(tag, Tag(manifest, path, recorded), manifest, null,
                wrong == 0 ? null : $"{wrong} entries differ: osva-install repair {service} {tag} fixes them");
        }
        if (!elsewhere) return new Located(tag, null, null, $"no venv at {string.Join(" or ", usual)}");
        if (recorded is null) return new Located(tag, null, null, $"no venv at {string.Join(" or ", usual)} and no entry list to find it elsewhere");
        var others = Directory.Exists(env.HostPath(root))
            ? Directory.EnumerateDirectories(env.HostPath(root)).Select(d => $"{root}/{Path.GetFileName(d)}")
                .Where(p => !Path.GetFileName(p).StartsWith('.') && !claimed.Contains(p)).Order(StringComparer.Ordinal).ToList()
            : [];
        foreach (var path in others)
        {
            if (VenvCheck.QuickMismatches(env.HostPath(path), recorded.Entries).Count == 0) return new Located(tag, Tag(manifest, path, recorded), manifest, null);
        }
        return new Located(tag, null, null, $"no venv below {root} matches its entry list");
    }

    private InstalledTag Tag(Manifest manifest, string path, RecordedTree? recorded) => new()
    {
        Tag = manifest.Tag, Platform = manifest.Platform.Id, InstallPath = path, BuiltFor = manifest.InstallPath,
        ArchiveSha256 = manifest.Archive.Sha256,
        // A relocated venv's tree is not the manifest's: its recorded entry list is what install hashed.
        TreeHash = path == manifest.InstallPath || recorded is null ? manifest.TreeHash : HashOf(recorded.Entries),
        UnpackedSize = manifest.UnpackedSize, FileCount = manifest.FileCount,
        InstalledAt = File.GetLastWriteTimeUtc(_states.ManifestPath(manifest.Service, manifest.Tag)),
    };

    private static string HashOf(IEnumerable<TreeEntry> entries)
    {
        var hash = new TreeHash();
        foreach (var e in entries) hash.Add(e);
        return hash.Compute();
    }

    /// <summary>The activation the files on disk describe: every file osva-install wrote for the service names its tag in its header.</summary>
    private ActivationRecord? FindActivation(string service, List<InstalledTag> installed, List<string> actions)
    {
        var written = new List<(string HostPath, string Tag)>();
        var dropIns = env.HostPath("/etc/systemd/system");
        if (Directory.Exists(dropIns))
        {
            foreach (var dir in Directory.EnumerateDirectories(dropIns, "*.service.d"))
            {
                var file = $"/etc/systemd/system/{Path.GetFileName(dir)}/osva-venv.conf";
                if (TagOf(file, service) is { } tag) written.Add((file, tag));
            }
        }
        if (TagOf($"/etc/sudoers.d/{service}_osva", service) is { } sudoers) written.Add(($"/etc/sudoers.d/{service}_osva", sudoers));
        var wrappers = env.HostPath("/usr/local/bin");
        if (Directory.Exists(wrappers))
        {
            foreach (var file in Directory.EnumerateFiles(wrappers).Select(f => $"/usr/local/bin/{Path.GetFileName(f)}"))
            {
                if (TagOf(file, service) is { } tag) written.Add((file, tag));
            }
        }
        var tags = written.Select(w => w.Tag).Where(t => installed.Any(i => i.Tag == t)).GroupBy(t => t, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g => g.Key).ToList();
        if (tags.Count == 0) return null;
        if (tags.Count > 1) actions.Add($"activation files name several tags ({string.Join(", ", tags)}): run osva-install switch {service} TAG to settle them");
        var files = written.Where(w => w.Tag == tags[0]).Select(w => w.HostPath).ToList();
        var units = files.Where(f => f.StartsWith("/etc/systemd/system/", StringComparison.Ordinal))
            .Select(f => Path.GetFileName(Path.GetDirectoryName(f))![..^".service.d".Length]).ToList();
        return new ActivationRecord { Tag = tags[0], Units = units, Files = files };
    }

    private string? TagOf(string hostPath, string service)
    {
        var path = env.HostPath(hostPath);
        if (!File.Exists(path)) return null;
        foreach (var line in File.ReadLines(path).Take(3))
        {
            var match = Header().Match(line);
            if (match.Success && match.Groups["service"].Value == service) return match.Groups["tag"].Value;
        }
        return null;
    }
}
