using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Host;
using OsVenvArtifacts.Installer.Operations;

namespace OsVenvArtifacts.Installer.Activation;

internal sealed record ActivationOutcome(bool Changed, IReadOnlyList<string> Actions, IReadOnlyList<FileChange> Files);

/// <summary>
/// Points a service at a venv as one transaction: check sudoers with visudo, journal every file as it is, stop the
/// units, write the drop-ins, sudoers, rootwrap.conf and wrappers, daemon-reload, start, confirm the processes run
/// from the new venv, health check, then the caller's commit (saving the new state) and drop the journal. Any failure
/// puts every file back as it was, reloads and restarts the units on the previous venv; a kill anywhere in between
/// is undone by the next run from the journal (<see cref="ActivationJournal.RecoverAsync"/>).
/// </summary>
internal sealed class ActivationTransaction(InstallerEnvironment env)
{
    public async Task<ActivationOutcome> ActivateAsync(ActivationPlan plan, ActivationSettings settings, bool alreadyActive, bool dryRun,
        Func<CancellationToken, Task> commit, CancellationToken ct)
    {
        var actions = new List<string>();
        var pending = new List<PlannedFile>();
        foreach (var file in plan.Files)
        {
            if (file.Kind == PlannedFileKind.Wrapper) EnsureOurs(file.HostPath, plan.Service);
            if (!await SameAsync(file, ct)) pending.Add(file);
        }
        var removed = plan.Removed.Where(p => File.Exists(env.HostPath(p))).ToList();
        actions.AddRange(plan.Skipped.Select(u => $"skip unit {u}: no {u}.service on this host (name it with --unit to write its drop-in anyway)"));
        actions.AddRange(plan.Notes);
        actions.AddRange(pending.Select(f => f.Kind switch
        {
            PlannedFileKind.Original => $"keep the packaged {f.HostPath[(f.HostPath.IndexOf("/originals/", StringComparison.Ordinal) + 10)..]} as {f.HostPath}",
            PlannedFileKind.Restore => $"restore the packaged {f.HostPath}",
            _ => $"write {f.HostPath}",
        }));
        actions.AddRange(removed.Select(p => $"remove {p}"));
        IReadOnlyList<FileChange> files = [.. pending.Select(f => new FileChange(f.HostPath, "write", f.Content)), .. removed.Select(p => new FileChange(p, "remove", null))];
        var changed = pending.Count > 0 || removed.Count > 0 || !alreadyActive;
        if (!changed && !settings.Restart) return new ActivationOutcome(false, actions, files);
        if (dryRun)
        {
            if (env.ManagesSystemd)
            {
                var probe = new Systemd(env);
                foreach (var unit in plan.Units)
                {
                    if (settings.Restart || await probe.IsActiveAsync(unit, ct)) actions.Add($"restart {unit}");
                }
            }
            return new ActivationOutcome(changed, actions, files);
        }

        var sudoers = pending.FirstOrDefault(f => f.Kind == PlannedFileKind.Sudoers);
        string? checkedSudoers = null;
        var systemd = new Systemd(env);
        var running = new List<string>();
        if (env.ManagesSystemd)
        {
            foreach (var unit in plan.Units)
            {
                if (await systemd.IsActiveAsync(unit, ct)) running.Add(unit);
            }
        }
        var stateFile = env.StateFile(plan.Service);
        var journal = new ActivationJournal
        {
            Service = plan.Service, Tag = plan.Tag, Started = env.Now, Running = running,
            Files = plan.Files.Select(f => f.HostPath).Concat(removed).Select(p => ActivationJournal.Take(env, p)).ToList(),
            StateBefore = File.Exists(stateFile) ? await File.ReadAllBytesAsync(stateFile, ct) : null,
        };
        try
        {
            await journal.WriteAsync(env, ct);
        }
        catch (IOException e) when (DiskSpace.IsFull(e))
        {
            throw new InstallerException("OSVA-I040", $"ran out of space writing the activation journal of {plan.Service} {plan.Tag}: {e.Message}",
                $"nothing was changed; free space under {env.StateDirectory} and run the command again", ExitCode.ActivationFailed, e);
        }
        var changing = false;
        try
        {
            if (sudoers is not null) checkedSudoers = await CheckSudoersAsync(sudoers, ct);
            changing = true;
            if (env.ManagesSystemd)
            {
                if (running.Count > 0)
                {
                    await systemd.RunAsync(ct, ["stop", .. running.Select(u => u + ".service")]);
                    actions.Add($"stop {string.Join(' ', running)}");
                }
            }
            // Originals first: a packaged file is kept before anything edits or removes it.
            foreach (var file in pending.Where(f => f.Kind != PlannedFileKind.Sudoers).OrderBy(f => f.Kind != PlannedFileKind.Original))
            {
                var path = env.HostPath(file.HostPath);
                await AtomicFile.WriteAllBytesAsync(path, file.Data, ct, file.Mode);
                if (file.Owner is { } owner) Native.SetOwner(path, owner.Uid, owner.Gid);
            }
            if (checkedSudoers is not null)
            {
                File.Move(checkedSudoers, env.HostPath(sudoers!.HostPath), overwrite: true);
                checkedSudoers = null;
            }
            foreach (var path in removed)
            {
                File.Delete(env.HostPath(path));
                // A drop-in directory osva made holds nothing else once its drop-in goes; left, it would outlive a disable.
                var dir = Path.GetDirectoryName(env.HostPath(path))!;
                if (dir.EndsWith(".service.d", StringComparison.Ordinal) && !Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
            }
            if (env.ManagesSystemd)
            {
                await systemd.RunAsync(ct, "daemon-reload");
                if (HostProcess.OnPath(env.SystemdAnalyze))
                {
                    foreach (var unit in plan.Units) await systemd.VerifyAsync(unit, ct);
                }
                var start = settings.Restart ? plan.Units : running;
                if (start.Count > 0)
                {
                    await systemd.RunAsync(ct, ["start", .. start.Select(u => u + ".service")]);
                    actions.Add($"start {string.Join(' ', start)}");
                    foreach (var unit in start) await systemd.ConfirmAsync(unit, plan.Venv, ct);
                    actions.Add($"confirmed {string.Join(' ', start)} run from {plan.Venv ?? "outside the venvs"}");
                }
            }
            if (settings.HealthCheck is { } check)
            {
                await HealthCheck.RunAsync(env, check, settings.HealthTimeout, ct);
                actions.Add($"health check passed: {check}");
            }
            await commit(ct);
            ActivationJournal.Delete(env, plan.Service);
            return new ActivationOutcome(true, actions, files);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Restored from the journal's copies; if a file cannot be written the journal stays for the next run.
            if (changing) await journal.RestoreFilesAsync(env, plan.Units);
            ActivationJournal.Delete(env, plan.Service);
            if (DiskSpace.IsFull(e))
            {
                throw new InstallerException("OSVA-I040", $"ran out of space activating {plan.Service} {plan.Tag}: {e.Message}",
                    changing ? "the previous activation was restored; free space there and run the command again" : "nothing was changed; free space there and run the command again",
                    ExitCode.ActivationFailed, e);
            }
            if (e is OsvaException) throw;
            throw new InstallerException("OSVA-I055", $"activating {plan.Service} {plan.Tag} failed: {e.Message}",
                "the previous activation was restored; fix the cause and run the command again", ExitCode.ActivationFailed, e);
        }
        finally
        {
            if (checkedSudoers is not null) File.Delete(checkedSudoers);
        }
    }

    /// <summary>Writes the sudoers file beside its target under a name sudo ignores ('.' in it) and has visudo check it.</summary>
    private async Task<string> CheckSudoersAsync(PlannedFile file, CancellationToken ct)
    {
        var target = env.HostPath(file.HostPath);
        var temp = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.osva-new");
        await AtomicFile.WriteAllTextAsync(temp, file.Content, ct, file.Mode);
        ProcessOutput result;
        try
        {
            result = await HostProcess.RunAsync(env.Visudo, ["-c", "-q", "-f", temp], ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            File.Delete(temp);
            throw new InstallerException("OSVA-I050", $"cannot run {env.Visudo} to check {file.HostPath}: {e.Message}",
                "install sudo (it provides visudo); a sudoers file is never installed unchecked", ExitCode.ActivationFailed, e);
        }
        if (result.ExitCode != 0)
        {
            File.Delete(temp);
            throw new InstallerException("OSVA-I050", $"visudo rejected the new {file.HostPath}: {result.FirstLine}",
                "the old sudoers file is unchanged; check the service user and rootwrap hints in the manifest", ExitCode.ActivationFailed);
        }
        return temp;
    }

    private async Task<bool> SameAsync(PlannedFile file, CancellationToken ct)
    {
        var path = env.HostPath(file.HostPath);
        return File.Exists(path) && File.GetUnixFileMode(path) == file.Mode && (file.Owner is not { } owner || Native.Owner(path) == owner)
            && (await File.ReadAllBytesAsync(path, ct)).AsSpan().SequenceEqual(file.Data);
    }

    /// <summary>A wrapper is written only over nothing or over this service's own: a script name belongs to one service.</summary>
    private void EnsureOurs(string hostPath, string service)
    {
        var path = env.HostPath(hostPath);
        if (!File.Exists(path)) return;
        var owner = ActivationPlanner.Owner(path);
        if (owner is null)
        {
            throw new InstallerException("OSVA-I051", $"{hostPath} exists and was not written by osva-install",
                "move it away, or remove the script from the artifact's managementScripts; osva never overwrites files it did not write", ExitCode.Conflict);
        }
        if (owner != service)
        {
            throw new InstallerException("OSVA-I075", $"{hostPath} is a management script of {owner}; {service} declares the same name",
                $"a script name on the PATH belongs to one service: drop it from {service}'s managementScripts, or from {owner}'s (then switch {owner} to that tag first)", ExitCode.Conflict);
        }
    }
}
