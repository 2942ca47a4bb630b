using System.Text.Json;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Host;
using OsVenvArtifacts.Installer.State;

namespace OsVenvArtifacts.Installer.Activation;

/// <summary>A host file as it was before an activation: its bytes (null when it did not exist), mode and owner.</summary>
internal sealed record JournalFile(string Path, byte[]? Content, int Mode)
{
    public int Uid { get; init; }
    public int Gid { get; init; }
}

/// <summary>
/// <c>/var/lib/osva/&lt;service&gt;.journal</c>: written (fsynced) before an activation changes its first file and
/// removed once the new state is saved. It holds every file the activation may touch as it was, the units that
/// ran, and the state file as it was, so a run killed at any point in between can be undone as a whole.
/// </summary>
internal sealed record ActivationJournal
{
    public required string Service { get; init; }
    public required string Tag { get; init; }
    public DateTimeOffset Started { get; init; }
    public IReadOnlyList<JournalFile> Files { get; set; } = [];
    public IReadOnlyList<string> Running { get; set; } = [];
    /// <summary>The state file's bytes before the activation; null when there was none.</summary>
    public byte[]? StateBefore { get; set; }

    public static string PathFor(InstallerEnvironment env, string service) => Path.Combine(env.StateDirectory, service + ".journal");

    public static JournalFile Take(InstallerEnvironment env, string hostPath)
    {
        var path = env.HostPath(hostPath);
        if (!File.Exists(path)) return new JournalFile(hostPath, null, 0);
        var (uid, gid) = Native.Owner(path);
        return new JournalFile(hostPath, File.ReadAllBytes(path), (int)File.GetUnixFileMode(path)) { Uid = uid, Gid = gid };
    }

    public Task WriteAsync(InstallerEnvironment env, CancellationToken ct) =>
        AtomicFile.WriteAllBytesAsync(PathFor(env, Service), JsonSerializer.SerializeToUtf8Bytes(this, InstallerJsonContext.Default.ActivationJournal), ct);

    public static void Delete(InstallerEnvironment env, string service) => File.Delete(PathFor(env, service));

    /// <summary>
    /// Puts every journalled file back and restarts what ran before; never cancelled, because a half-restored host
    /// is worse. A file that cannot be written is reported and the rest still restored; the first failure is rethrown
    /// at the end so the journal stays for the next run.
    /// </summary>
    public async Task RestoreFilesAsync(InstallerEnvironment env, IReadOnlyList<string> units)
    {
        InstallerException? failed = null;
        foreach (var file in Files)
        {
            var path = env.HostPath(file.Path);
            try
            {
                // Only what changed: a write needs free space, and on a full disk the untouched files must not fail the restore.
                if (IsAsJournalled(file, path)) continue;
                if (file.Content is null) File.Delete(path);
                else
                {
                    await AtomicFile.WriteAllBytesAsync(path, file.Content, CancellationToken.None, (UnixFileMode)file.Mode);
                    if (Native.Owner(path) != (file.Uid, file.Gid)) Native.SetOwner(path, file.Uid, file.Gid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"osva-install: warning: cannot restore {file.Path}: {e.Message}");
                failed ??= new InstallerException("OSVA-I057", $"{file.Path} cannot be restored: {e.Message}",
                    $"fix the cause (an immutable file, a directory in its place, a full disk), then run any osva-install command for {Service}: it finishes the restore",
                    ExitCode.ActivationFailed, e);
            }
        }
        if (env.ManagesSystemd)
        {
            var systemd = new Systemd(env);
            try
            {
                await systemd.RunAsync(CancellationToken.None, ["stop", .. units.Select(u => u + ".service")]);
                await systemd.RunAsync(CancellationToken.None, "daemon-reload");
                if (Running.Count > 0) await systemd.RunAsync(CancellationToken.None, ["start", .. Running.Select(u => u + ".service")]);
            }
            catch (InstallerException e)
            {
                await Console.Error.WriteLineAsync($"osva-install: warning: while restoring: {e.Message}");
            }
        }
        if (failed is not null) throw failed;
    }

    private static bool IsAsJournalled(JournalFile file, string path) =>
        file.Content is null ? !File.Exists(path) && new FileInfo(path).LinkTarget is null
            : File.Exists(path) && (int)File.GetUnixFileMode(path) == file.Mode && Native.Owner(path) == (file.Uid, file.Gid)
                && File.ReadAllBytes(path).AsSpan().SequenceEqual(file.Content);

    /// <summary>
    /// Run under the service lock before anything else: an activation that was killed is undone (files, units and
    /// state as they were before it), with a warning saying so; then installs and removals a kill cut short are
    /// settled (<see cref="InterruptedWork"/>). Returns whether there was an activation to undo.
    /// </summary>
    public static async Task<bool> RecoverAsync(InstallerEnvironment env, string service, CancellationToken ct)
    {
        var undone = await UndoActivationAsync(env, service, ct);
        await InterruptedWork.RecoverAsync(env, service, ct);
        return undone;
    }

    private static async Task<bool> UndoActivationAsync(InstallerEnvironment env, string service, CancellationToken ct)
    {
        var path = PathFor(env, service);
        if (!File.Exists(path))
        {
            SweepTemporaryFiles([env.StateFile(service), path]);
            return false;
        }
        ActivationJournal? journal;
        try
        {
            journal = JsonSerializer.Deserialize(await File.ReadAllBytesAsync(path, ct), InstallerJsonContext.Default.ActivationJournal);
        }
        catch (JsonException e)
        {
            throw new InstallerException("OSVA-I063", $"the activation journal {path} is damaged: {e.Message}",
                $"check the files osva-install writes for {service} (osva-install status {service}), then remove the journal", ExitCode.InvalidInput, e);
        }
        if (journal is null) return false;
        // Recovery writes and deletes the files a journal names: one naming a path that could leave --root, or null
        // entries, is damaged, never obeyed (found by make fuzz).
        if (journal.Files is null || journal.Running is null || journal.Files.Any(f => f is null || !IsPlainHostPath(f.Path) || f.Mode is < 0 or > 0xFFF)
            || journal.Running.Any(u => u is null))
        {
            throw new InstallerException("OSVA-I063", $"the activation journal {path} is damaged: it names a file that is not a plain absolute path, or null entries",
                $"check the files osva-install writes for {service} (osva-install status {service}), then remove the journal", ExitCode.InvalidInput);
        }
        await Console.Error.WriteLineAsync($"osva-install: recovering an activation of {service} {journal.Tag} interrupted at {journal.Started:u}: restoring the files and state from before it");
        await journal.RestoreFilesAsync(env, journal.Running);
        if (journal.StateBefore is null) File.Delete(env.StateFile(service));
        else await AtomicFile.WriteAllBytesAsync(env.StateFile(service), journal.StateBefore, CancellationToken.None);
        SweepTemporaryFiles(journal.Files.Select(f => env.HostPath(f.Path)).Append(env.StateFile(service)).Append(path));
        Delete(env, service);
        return true;
    }

    private static bool IsPlainHostPath(string? path) =>
        path is not null && path.StartsWith('/') && !path.Contains('\0', StringComparison.Ordinal) && !path.Split('/').Any(p => p is "." or "..");

    /// <summary>
    /// Temp files a killed write left beside <paramref name="paths"/>: <c>.NAME.PID.GUID.tmp</c> (AtomicFile) and
    /// <c>.NAME.osva-new</c> (a sudoers file being checked). Only this service's files are named, under its lock.
    /// </summary>
    private static void SweepTemporaryFiles(IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            var directory = Path.GetDirectoryName(path)!;
            if (!Directory.Exists(directory)) continue;
            var name = Path.GetFileName(path);
            foreach (var pattern in new[] { $".{name}.*.tmp", $"..{name}.osva-new.*.tmp" })
            {
                foreach (var temp in Directory.EnumerateFiles(directory, pattern)) File.Delete(temp);
            }
            File.Delete(Path.Combine(directory, $".{name}.osva-new"));
        }
    }
}
