using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Activation;
using OsVenvArtifacts.Installer.Host;
using OsVenvArtifacts.Installer.Image;
using OsVenvArtifacts.Installer.State;

namespace OsVenvArtifacts.Installer.Operations;

/// <summary>switch, rollback, list, status, gc, verify, uninstall and doctor: everything after a tag is on the host.</summary>
internal sealed class LifecycleOperations(InstallerEnvironment env)
{
    private readonly StateStore _states = new(env);

    public Task<CommandResult> SwitchAsync(SwitchOptions options, CancellationToken ct) =>
        ActivateInstalledAsync(options.Service, options.Tag, options.Activation, options.DryRun, "switch", ct);

    public Task<CommandResult> RollbackAsync(RollbackOptions options, CancellationToken ct) =>
        ActivateInstalledAsync(options.Service, null, options.Activation, options.DryRun, "rollback", ct);

    /// <summary>Activates <paramref name="tag"/>, or the previous tag when it is null (rollback).</summary>
    private async Task<CommandResult> ActivateInstalledAsync(string service, string? tag, ActivationSettings settings, bool dryRun, string command, CancellationToken ct)
    {
        Names.Service(service);
        using var serviceLock = await ServiceLock.AcquireAsync(env, service, ct);
        await ActivationJournal.RecoverAsync(env, service, ct);
        var state = await _states.LoadAsync(service, ct);
        tag ??= state.Previous ?? throw new InstallerException("OSVA-I071", $"{service} has no previous tag to roll back to",
            $"switch to a named tag instead: osva-install list {service}", ExitCode.InvalidInput);
        var installed = Installed(state, tag);
        if (!Directory.Exists(env.HostPath(installed.InstallPath)))
        {
            throw new InstallerException("OSVA-I072", $"{installed.InstallPath} is missing although {service} {tag} is recorded as installed",
                $"bring it back: osva-install repair {service} {tag}", ExitCode.InvalidInput);
        }
        var manifest = await _states.LoadManifestAsync(service, tag, ct);
        var (changed, actions, next, files) = await ActivationFlow.ActivateAsync(env, _states, state, manifest, installed, settings, dryRun, command, ct);
        return new CommandResult
        {
            Command = command, Service = service, Tag = tag, Changed = changed, DryRun = dryRun,
            Active = next.Active, Previous = next.Previous, Actions = actions, Files = files,
        };
    }

    /// <summary>
    /// disable: one transaction through the activation journal: stop the units, put every packaged original back (bytes,
    /// mode, owner), remove the drop-ins, sudoers and wrappers the activation wrote, start the units again (now from the
    /// packages) and confirm none runs from a venv, then record the service as disabled. The venvs stay installed.
    /// </summary>
    public async Task<CommandResult> DisableAsync(DisableOptions options, CancellationToken ct)
    {
        var service = Names.Service(options.Service);
        using var serviceLock = await ServiceLock.AcquireAsync(env, service, ct);
        await ActivationJournal.RecoverAsync(env, service, ct);
        var state = await _states.LoadAsync(service, ct);
        if (state.Active is null)
        {
            return new CommandResult
            {
                Command = "disable", Service = service, DryRun = options.DryRun, Previous = state.Previous,
                Actions = [state.Disabled ? $"{service} is already disabled" : $"{service} has no active tag: nothing to disable"],
            };
        }
        var plan = ActivationPlanner.PlanDisable(env, state);
        var next = state with
        {
            Active = null, Previous = state.Active, Activation = null, Disabled = true,
            History = [.. state.History, new StateEvent(env.Now, "disable", state.Active, null)],
        };
        var outcome = await new ActivationTransaction(env).ActivateAsync(plan, new ActivationSettings(), alreadyActive: false, options.DryRun,
            c => _states.SaveAsync(next, c), ct);
        var after = options.DryRun ? state : next;
        return new CommandResult
        {
            Command = "disable", Service = service, Tag = state.Active, Changed = outcome.Changed, DryRun = options.DryRun,
            Active = after.Active, Previous = after.Previous, Actions = outcome.Actions, Files = outcome.Files,
        };
    }

    public Task<CommandResult> ListAsync(ListOptions options, CancellationToken ct) => ListAsync(options.Service, "list", ct);

    public Task<CommandResult> StatusAsync(StatusOptions options, CancellationToken ct) => ListAsync(options.Service, "status", ct);

    private async Task<CommandResult> ListAsync(string? service, string command, CancellationToken ct)
    {
        var services = service is not null ? [Names.Service(service)]
            : Directory.Exists(env.StateDirectory)
                ? Directory.EnumerateFiles(env.StateDirectory, "*.json").Select(f => Path.GetFileNameWithoutExtension(f)!).Order(StringComparer.Ordinal).ToList()
                : [];
        var tags = new List<TagStatus>();
        var disabled = new List<string>();
        ServiceState? one = null;
        foreach (var name in services)
        {
            var state = one = await _states.LoadAsync(name, ct);
            tags.AddRange(Statuses(state));
            if (state.Disabled) disabled.Add(name);
        }
        return new CommandResult
        {
            Command = command, Service = service, Tags = tags, Disabled = disabled,
            Active = service is null ? null : one?.Active, Previous = service is null ? null : one?.Previous,
            Actions = command == "status" && one?.Activation is { } a ? [.. a.Units.Select(u => $"unit {u}"), .. a.Files.Select(f => $"file {f}")] : [],
        };
    }

    private static IEnumerable<TagStatus> Statuses(ServiceState state) =>
        state.Installed.OrderBy(t => t.InstalledAt).Select(t => new TagStatus(state.Service, t.Tag, t.Platform, t.InstallPath,
            t.Tag == state.Active, t.Tag == state.Previous, t.UnpackedSize, t.FileCount, t.InstalledAt, t.InstallPath != t.BuiltFor));

    public async Task<CommandResult> GcAsync(GcOptions options, CancellationToken ct)
    {
        var (service, keep, dryRun) = (options.Service, options.Keep, options.DryRun);
        if (keep < 0) throw new InstallerException("OSVA-I005", "--keep must be 0 or more", "pass --keep N");
        using var serviceLock = await ServiceLock.AcquireAsync(env, service, ct);
        await ActivationJournal.RecoverAsync(env, service, ct);
        var state = await _states.LoadAsync(Names.Service(service), ct);
        var keepTags = state.Installed.OrderByDescending(t => t.InstalledAt).Take(keep).Select(t => t.Tag)
            .Append(state.Active).Append(state.Previous).ToHashSet(StringComparer.Ordinal);
        var remove = state.Installed.Where(t => !keepTags.Contains(t.Tag)).ToList();
        if (!dryRun)
        {
            foreach (var tag in remove) state = await RemoveAsync(state, tag, "gc", ct);
        }
        return new CommandResult
        {
            Command = "gc", Service = service, Changed = remove.Count > 0, DryRun = dryRun, Active = state.Active, Previous = state.Previous,
            Actions = remove.Select(t => $"remove {t.Tag} ({t.InstallPath})").ToList(),
        };
    }

    public async Task<CommandResult> UninstallAsync(UninstallOptions options, CancellationToken ct)
    {
        var (service, tag, dryRun) = (options.Service, options.Tag, options.DryRun);
        using var serviceLock = await ServiceLock.AcquireAsync(env, Names.Service(service), ct);
        await ActivationJournal.RecoverAsync(env, Names.Service(service), ct);
        var state = await _states.LoadAsync(service, ct);
        var installed = state.Find(tag);
        if (installed is null)
        {
            return new CommandResult { Command = "uninstall", Service = service, Tag = tag, Active = state.Active, Previous = state.Previous };
        }
        if (state.Active == tag)
        {
            throw new InstallerException("OSVA-I073", $"{service} {tag} is the active tag", $"switch to another tag first (osva-install list {service})", ExitCode.Conflict);
        }
        if (!dryRun) state = await RemoveAsync(state, installed, "uninstall", ct);
        return new CommandResult
        {
            Command = "uninstall", Service = service, Tag = tag, Changed = true, DryRun = dryRun, Active = state.Active, Previous = state.Previous,
            Actions = [$"remove {tag} ({installed.InstallPath})"],
        };
    }

    private async Task<ServiceState> RemoveAsync(ServiceState state, InstalledTag tag, string action, CancellationToken ct)
    {
        var dir = env.HostPath(tag.InstallPath);
        string? doomed = null;
        if (tag.IsImage)
        {
            // Unmounted and removed before the state forgets it, so a failure here leaves a tag that is still listed.
            await new ImageMount(env).RemoveAsync(state.Service, tag.Tag, tag.InstallPath, ct);
        }
        else if (Directory.Exists(dir))
        {
            // Renamed first, so a kill never leaves a half venv at a recorded path; the next run finishes what it finds renamed (InterruptedWork).
            doomed = InterruptedWork.RemovingPath(env, state.Service, tag.Tag);
            Directory.CreateDirectory(Path.GetDirectoryName(doomed)!);
            Directory.Move(dir, doomed);
        }
        var next = state.Without(tag.Tag, new StateEvent(env.Now, action, tag.Tag, null));
        await _states.SaveAsync(next, ct);
        _states.DeleteTagFiles(state.Service, tag.Tag);
        // With it goes this service's staging directory: swept at the start of the run, it holds nothing else.
        if (doomed is not null) Directory.Delete(Path.GetDirectoryName(doomed)!, recursive: true);
        return next;
    }

    /// <summary>Recomputes the tree from disk and lists every entry that differs from what was installed.</summary>
    public async Task<CommandResult> VerifyAsync(VerifyOptions options, CancellationToken ct)
    {
        var (service, tag) = (options.Service, options.Tag);
        var state = await _states.LoadAsync(Names.Service(service), ct);
        tag ??= state.Active ?? throw new InstallerException("OSVA-I070", $"{service} has no active tag", "name the tag: osva-install verify SERVICE TAG");
        var installed = Installed(state, tag);
        var check = await VenvCheck.CompareAsync(env, _states, service, installed, ct);
        return new CommandResult
        {
            Command = "verify", Service = service, Tag = tag, Ok = check.Clean, Drift = check.Drift, Active = state.Active, Previous = state.Previous,
            Actions = check.Recorded?.Legacy == true
                ? [$"note: {_states.TreePath(service, tag)} is in the form of an older osva-install, which names with spaces or newlines can confuse; osva-install repair {service} {tag} rewrites it"]
                : [],
        };
    }

    /// <summary>
    /// Finds what would make a service fail: a state file that cannot be read or forgot a tag on disk, a venv missing or
    /// damaged (recorded entries gone or changed, by stat alone), an interpreter a host change removed. Each finding
    /// names the command that fixes it; doctor changes nothing itself beyond undoing an interrupted activation, which
    /// every command does first.
    /// </summary>
    public async Task<CommandResult> DoctorAsync(DoctorOptions options, CancellationToken ct)
    {
        var services = options.Service is { } one ? [Names.Service(one)] : KnownServices();
        // An activation a kill interrupted is undone first (and killed writes swept), so what doctor then checks is what the host runs.
        foreach (var name in services.Where(n => File.Exists(ActivationJournal.PathFor(env, n)) || File.Exists(env.StateFile(n))))
        {
            using var serviceLock = await ServiceLock.AcquireAsync(env, name, ct);
            await ActivationJournal.RecoverAsync(env, name, ct);
        }
        var facts = HostFacts.Detect(env);
        var findings = new List<Finding>();
        var tags = new List<TagStatus>();
        foreach (var service in services)
        {
            ServiceState state;
            try
            {
                state = await _states.LoadAsync(service, ct);
            }
            catch (InstallerException e) when (e.Code is "OSVA-I061" or "OSVA-I062")
            {
                findings.Add(new Finding(service, "-", e.Message, e.Code == "OSVA-I061" ? $"osva-install repair {service} --state" : e.Hint));
                continue;
            }
            tags.AddRange(Statuses(state));
            await FindForgottenAsync(state, findings, ct);
            foreach (var t in state.Installed) await CheckTagAsync(facts, state.Service, t, findings, ct);
        }
        return new CommandResult { Command = "doctor", Service = options.Service, Ok = findings.Count == 0, Findings = findings, Tags = tags };
    }

    private async Task CheckTagAsync(HostFacts facts, string service, InstalledTag t, List<Finding> findings, CancellationToken ct)
    {
        var venv = env.HostPath(t.InstallPath);
        var repair = $"osva-install repair {service} {t.Tag}" + (env.Config.Store is null ? " --store LOCATION" : "");
        if (t.IsImage && !ImageMount.IsMounted(venv))
        {
            // Nothing below would be true of an empty mount point: one finding, the command that mounts it.
            findings.Add(new Finding(service, t.Tag, $"{t.InstallPath} is not mounted (image {ImageMount.ImagePath(service, t.Tag)})",
                env.ManagesSystemd ? $"systemctl start {ImageMount.UnitName(t.InstallPath)}" : $"mount -o {ImageMount.Options} {ImageMount.ImagePath(service, t.Tag)} {t.InstallPath}"));
            return;
        }
        if (!Directory.Exists(venv))
        {
            findings.Add(new Finding(service, t.Tag, $"{t.InstallPath} is missing", repair));
            return;
        }
        RecordedTree? recorded = null;
        try
        {
            // An image tag records no entry list: its bytes are read-only, and verify checks the image's sha256.
            if (!t.IsImage) recorded = await _states.LoadTreeAsync(service, t.Tag, _ => null, ct);
        }
        catch (InstallerException e) when (e.Code == "OSVA-I061")
        {
            findings.Add(new Finding(service, t.Tag, e.Message, repair));
        }
        if (recorded is not null && VenvCheck.QuickMismatches(venv, recorded.Entries) is { Count: > 0 } wrong)
        {
            findings.Add(new Finding(service, t.Tag, $"{wrong.Count} installed entries are missing or changed ({string.Join(", ", wrong.Take(3).Select(TreeFile.Display))}"
                + $"{(wrong.Count > 3 ? ", ..." : "")}; osva-install verify {service} {t.Tag} lists them)", repair));
        }
        // A repair cannot help here: the venv is whole, the host changed under it.
        var rebuild = facts.PlatformId is { } p && p != t.Platform ? $", or install a tag built for {p} (osva-install install {service} TAG)" : "";
        var (resolved, target) = Resolve(facts, Path.Combine(venv, "bin", "python"));
        if (!File.Exists(resolved))
        {
            findings.Add(new Finding(service, t.Tag, $"bin/python points to {target}, which is not on this host",
                $"install that interpreter again (apt-get install {Path.GetFileName(target)}){rebuild}"));
        }
        var home = PyvenvHome(Path.Combine(venv, "pyvenv.cfg"));
        if (home is null)
        {
            findings.Add(new Finding(service, t.Tag, "pyvenv.cfg is missing or names no home", repair));
        }
        else if (!Directory.Exists(facts.PathOf(home)) || !Directory.EnumerateFiles(facts.PathOf(home), "python3*").Any(p => File.Exists(Resolve(facts, p).Path)))
        {
            findings.Add(new Finding(service, t.Tag, $"pyvenv.cfg home {home} holds no python3", $"install python3 there again{rebuild}"));
        }
    }

    /// <summary>A tag whose manifest is recorded and whose venv is on disk, but which the state does not list (it cannot be switched to or removed).</summary>
    private async Task FindForgottenAsync(ServiceState state, List<Finding> findings, CancellationToken ct)
    {
        foreach (var located in await new StateRebuild(env).FindUnlistedAsync(state.Service, state.Installed, ct))
        {
            if (located.Tag is null) continue;
            findings.Add(new Finding(state.Service, located.Name, $"{located.Tag.InstallPath} and its manifest are on this host, but {env.StateFile(state.Service)} does not list {located.Name}",
                $"osva-install repair {state.Service} --state"));
        }
    }

    /// <summary>Services with a state file, an activation journal or a directory of recorded manifests under /var/lib/osva.</summary>
    private List<string> KnownServices()
    {
        if (!Directory.Exists(env.StateDirectory)) return [];
        return Directory.EnumerateFiles(env.StateDirectory, "*.json").Concat(Directory.EnumerateFiles(env.StateDirectory, "*.journal"))
            .Select(f => Path.GetFileNameWithoutExtension(f)!)
            .Concat(Directory.EnumerateDirectories(env.StateDirectory).Select(d => Path.GetFileName(d)!))
            .Where(IsServiceName).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }

    private static bool IsServiceName(string name)
    {
        try
        {
            Names.Service(name);
            return true;
        }
        catch (OsvaException)
        {
            return false;
        }
    }

    /// <summary>Follows a symlink chain the way the host would see it (absolute targets under the host's root).</summary>
    private static (string Path, string LastTarget) Resolve(HostFacts facts, string path)
    {
        var last = path;
        for (var hops = 0; hops < 16 && new FileInfo(path).LinkTarget is { } target; hops++)
        {
            last = target;
            path = target.StartsWith('/') ? facts.PathOf(target) : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, target));
        }
        return (path, last);
    }

    private static string? PyvenvHome(string path)
    {
        if (!File.Exists(path)) return null;
        return File.ReadLines(path).Select(l => l.Split('=', 2)).Where(p => p.Length == 2 && p[0].Trim() == "home")
            .Select(p => p[1].Trim()).FirstOrDefault();
    }

    private static InstalledTag Installed(ServiceState state, string tag) => state.Find(tag) ?? throw new InstallerException("OSVA-I070",
        $"{state.Service} {tag} is not installed on this host", $"install it: osva-install install {state.Service} {tag} --store LOCATION, or see osva-install list {state.Service}");
}
