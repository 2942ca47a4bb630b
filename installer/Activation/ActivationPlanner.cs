using System.Text;
using System.Text.RegularExpressions;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Host;
using OsVenvArtifacts.Installer.State;

namespace OsVenvArtifacts.Installer.Activation;

/// <summary>
/// Works out the host files that point a service at one venv: systemd drop-ins for the units the host has, sudoers
/// for every rootwrap entry point the venv has, rootwrap.conf (edited, not replaced), wrappers in /usr/local/bin for
/// the declared management scripts, and the packaged files it takes over (kept under originals/ first).
/// </summary>
internal static partial class ActivationPlanner
{
    public const string Marker = "osva-install";
    private const string SystemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private static readonly string[] UnitDirectories = ["/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"];
    private static readonly string[] SystemBins = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._+@-]*\z")]
    private static partial Regex PlainName();

    [GeneratedRegex(@"^[a-z_][a-z0-9_-]*\z")]
    private static partial Regex UserName();

    [GeneratedRegex(@"^# Written by osva-install for (?<service>\S+) ")]
    private static partial Regex Header();

    /// <summary>Where the packaged file at <paramref name="hostPath"/> is kept while osva has it edited or removed.</summary>
    public static string OriginalPath(string service, string hostPath) => $"/var/lib/osva/{service}/originals{hostPath}";

    public static async Task<ActivationPlan> PlanAsync(InstallerEnvironment env, Manifest manifest, InstalledTag installed,
        ActivationSettings settings, ServiceState state, CancellationToken ct)
    {
        var service = manifest.Service;
        var venv = installed.InstallPath;
        var header = $"# Written by {Marker} for {service} {manifest.Tag} ({venv}); replaced on every switch, do not edit.\n";
        var files = new List<PlannedFile>();
        var units = Units(manifest, settings);
        var (present, skipped) = (units.Where(u => u.Named || UnitExists(env, u.Unit)).ToList(), units.Where(u => !u.Named && !UnitExists(env, u.Unit)).ToList());
        foreach (var (unit, exec, _) in present)
        {
            files.Add(new PlannedFile($"/etc/systemd/system/{unit}.service.d/osva-venv.conf",
                header + "[Service]\nExecStart=\n" + $"ExecStart={ExecPath(exec, venv, manifest.InstallPath)}\n"
                + $"Environment=PATH={venv}/bin:{SystemPath}\n", (UnixFileMode)0x1A4, PlannedFileKind.DropIn));
        }

        // Before the venv exists (a dry run of an install) its console scripts, as the manifest lists them, stand in for bin/.
        var bin = VenvBin(env, venv) ?? manifest.ConsoleScripts.ToHashSet(StringComparer.Ordinal);
        var rootwrap = manifest.Rootwrap;
        var user = settings.ServiceUser ?? service;
        if (!UserName().IsMatch(user)) throw new InstallerException("OSVA-I004", $"service user '{user}' is not a plain user name", "pass --service-user NAME");
        var entryPoints = RootwrapEntryPoints(service, rootwrap, bin, venv);
        var removed = new List<string>();
        var notes = new List<string>();
        if (entryPoints.Count > 0)
        {
            var config = rootwrap?.ConfigPath ?? $"/etc/{service}/rootwrap.conf";
            files.Add(new PlannedFile($"/etc/sudoers.d/{service}_osva", Sudoers(header, user, venv, config, entryPoints), (UnixFileMode)0x120, PlannedFileKind.Sudoers));
            var (taken, left) = PackagedSudoers(env, service, user, bin);
            foreach (var packaged in taken)
            {
                removed.Add(packaged);
                files.AddRange(KeepOriginal(env, service, packaged, state));
            }
            notes.AddRange(left.Select(path => $"keep {path}: it has rules for other users too, so its rule letting {user} run a packaged copy of a venv program stays (remove that rule by hand)"));
        }
        if (rootwrap?.ConfigPath is { } configPath)
        {
            InstallerEnvironment.CheckInstallPath(configPath);
            // The manifest is the build's word: it may edit the service's own rootwrap.conf, never another host file.
            if (!configPath.StartsWith($"/etc/{service}/", StringComparison.Ordinal) || !configPath.EndsWith(".conf", StringComparison.Ordinal))
            {
                throw new InstallerException("OSVA-I076", $"the manifest's rootwrap config {configPath} is not a .conf file under /etc/{service}/",
                    "rebuild the artifact with rootwrap.configPath such as /etc/" + service + "/rootwrap.conf");
            }
            if (rootwrap.FiltersDir is { } filtersDir && filtersDir.Trim('/').Split('/').Any(part => !PlainName().IsMatch(part)))
            {
                throw new InstallerException("OSVA-I076", $"the manifest's rootwrap filters directory '{filtersDir}' is not a plain path inside the venv",
                    "rebuild the artifact with rootwrap.filtersDir such as etc/" + service + "/rootwrap.d");
            }
            var existing = File.Exists(env.HostPath(configPath)) ? await File.ReadAllTextAsync(env.HostPath(configPath), ct) : null;
            var ours = state.Installed.Select(t => t.InstallPath + "/").Append(manifest.InstallPath + "/").Append(venv + "/").ToList();
            var siblings = Path.GetDirectoryName(venv) + "/" + service + "-";
            var filters = settings.InstallRootwrapFilters && rootwrap.FiltersDir is { } dir ? $"{venv}/{dir.Trim('/')}" : null;
            var conf = RootwrapConf.Edit(existing, service, venv + "/bin", filters,
                d => ours.Any(o => (d + "/").StartsWith(o, StringComparison.Ordinal)) || d.StartsWith(siblings, StringComparison.Ordinal));
            files.Add(new PlannedFile(configPath, conf, (UnixFileMode)0x1A4, PlannedFileKind.RootwrapConf));
            if (existing is not null) files.AddRange(KeepOriginal(env, service, configPath, state));
        }

        var notWrapped = entryPoints.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var script in manifest.ManagementScripts.Order(StringComparer.Ordinal))
        {
            CheckName(script, "management script");
            // Privileged helpers are run through sudo by their full path; on the PATH they would only be run by mistake.
            if (notWrapped.Contains(script) || script == "privsep-helper" || script.StartsWith("oslo-rootwrap", StringComparison.Ordinal)) continue;
            if (!bin.Contains(script))
            {
                throw new InstallerException("OSVA-I074", $"management script {script} of {service} {manifest.Tag} is not in {venv}/bin",
                    "rebuild the artifact with managementScripts naming only scripts the venv has", ExitCode.ActivationFailed);
            }
            files.Add(new PlannedFile($"/usr/local/bin/{script}",
                $"#!/bin/sh\n{header}exec {venv}/bin/{script} \"$@\"\n", (UnixFileMode)0x1ED, PlannedFileKind.Wrapper));
        }

        var planned = files.Select(f => f.HostPath).Concat(removed).ToHashSet(StringComparer.Ordinal);
        // A packaged file this tag no longer edits or takes over goes back as it was (rootwrap.conf, when the new tag
        // has no rootwrap): removing it would leave the service without its packaged configuration. Packaged sudoers
        // stay taken over while the service has sudoers of its own.
        var stillTaken = (string path) => planned.Contains(path) || (entryPoints.Count > 0 && path.StartsWith("/etc/sudoers.d/", StringComparison.Ordinal));
        foreach (var restore in KeptOriginals(env, service).Where(f => !stillTaken(f.HostPath)))
        {
            files.Add(restore);
            removed.Add(OriginalPath(service, restore.HostPath));
        }
        var written = files.Select(f => f.HostPath).ToHashSet(StringComparer.Ordinal);
        removed.AddRange((state.Activation?.Files ?? []).Where(f => !written.Contains(f) && !removed.Contains(f)));
        return new ActivationPlan(service, manifest.Tag, venv, present.Select(u => u.Unit).ToList(), files, removed)
        {
            Skipped = skipped.Select(u => u.Unit).ToList(),
            Notes = notes,
        };
    }

    /// <summary>
    /// disable: every packaged original goes back where it was (bytes, mode, owner) and leaves originals/; every file
    /// the activation wrote that had no original is removed. The units are those the activation pointed at the venv.
    /// </summary>
    public static ActivationPlan PlanDisable(InstallerEnvironment env, ServiceState state)
    {
        var restored = KeptOriginals(env, state.Service);
        var removed = restored.Select(f => OriginalPath(state.Service, f.HostPath)).ToList();
        var back = restored.Select(f => f.HostPath).ToHashSet(StringComparer.Ordinal);
        removed.AddRange((state.Activation?.Files ?? []).Where(f => !back.Contains(f)));
        return new ActivationPlan(state.Service, state.Active ?? "-", null, state.Activation?.Units ?? [], restored, removed);
    }

    /// <summary>Every packaged file kept under originals/, planned to go back where it was with its bytes, mode and owner.</summary>
    private static List<PlannedFile> KeptOriginals(InstallerEnvironment env, string service)
    {
        var originals = env.HostPath(OriginalPath(service, ""));
        if (!Directory.Exists(originals)) return [];
        return Directory.EnumerateFiles(originals, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(kept =>
        {
            var bytes = File.ReadAllBytes(kept);
            return new PlannedFile("/" + Path.GetRelativePath(originals, kept), Encoding.UTF8.GetString(bytes), File.GetUnixFileMode(kept), PlannedFileKind.Restore)
            {
                Bytes = bytes, Owner = Native.Owner(kept),
            };
        }).ToList();
    }

    /// <summary>
    /// The packaged file's exact bytes, mode and owner, to keep under originals/ unless a copy is already kept (the
    /// first edit's wins) or the file is osva's own (its header, or written by the activation in place).
    /// </summary>
    private static IEnumerable<PlannedFile> KeepOriginal(InstallerEnvironment env, string service, string hostPath, ServiceState state)
    {
        var keep = OriginalPath(service, hostPath);
        var path = env.HostPath(hostPath);
        if (File.Exists(env.HostPath(keep)) || !File.Exists(path) || IsOurs(path) || (state.Activation?.Files.Contains(hostPath) ?? false)) yield break;
        var bytes = File.ReadAllBytes(path);
        yield return new PlannedFile(keep, Encoding.UTF8.GetString(bytes), File.GetUnixFileMode(path), PlannedFileKind.Original)
        {
            Bytes = bytes, Owner = Native.Owner(path),
        };
    }

    /// <summary>The names in the venv's bin, or null before the venv exists.</summary>
    private static HashSet<string>? VenvBin(InstallerEnvironment env, string venv)
    {
        var dir = env.HostPath(venv + "/bin");
        return Directory.Exists(env.HostPath(venv))
            ? Directory.Exists(dir) ? Directory.EnumerateFileSystemEntries(dir).Select(p => Path.GetFileName(p)!).ToHashSet(StringComparer.Ordinal) : []
            : null;
    }

    private sealed record EntryPoint(string Name, bool Daemon, bool Privsep);

    /// <summary>
    /// As OSA's sudoers templates: the service's rootwrap, every rootwrap daemon and privsep-helper the venv has. A
    /// rootwrap program the manifest names but the venv lacks would be a sudo rule for whatever later appears at that
    /// path, so it is refused.
    /// </summary>
    private static List<EntryPoint> RootwrapEntryPoints(string service, RootwrapHints? rootwrap, HashSet<string> bin, string venv)
    {
        foreach (var named in new[] { rootwrap?.Command, rootwrap?.DaemonCommand })
        {
            if (named is null) continue;
            CheckName(named, "rootwrap command");
            if (!bin.Contains(named))
            {
                throw new InstallerException("OSVA-I074", $"the manifest names rootwrap program {named}, but {venv}/bin has none",
                    "rebuild the artifact with a rootwrap command the venv provides, or without one; no sudoers rule is written for a missing program", ExitCode.ActivationFailed);
            }
        }
        return bin.Where(n => n == $"{service}-rootwrap" || n == rootwrap?.Command || n == rootwrap?.DaemonCommand
                || n.EndsWith("-rootwrap-daemon", StringComparison.Ordinal) || n == "privsep-helper")
            .Where(n => !n.StartsWith("oslo-", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            // A name from the venv goes into sudoers text: one with a newline or a comma would be a rule of its own.
            .Select(n => { CheckName(n, "rootwrap entry point in the venv's bin"); return n; })
            .Select(n => new EntryPoint(n, n == rootwrap?.DaemonCommand || n.EndsWith("-rootwrap-daemon", StringComparison.Ordinal), n == "privsep-helper"))
            .ToList();
    }

    private static string Sudoers(string header, string user, string venv, string config, List<EntryPoint> entryPoints)
    {
        var text = new StringBuilder(header);
        text.Append($"Defaults:{user} secure_path=\"{venv}/bin:{SystemPath}\"\n");
        foreach (var e in entryPoints)
        {
            var args = e.Privsep ? "*" : e.Daemon ? config : $"{config} *";
            text.Append($"{user} ALL = (root) NOPASSWD: {venv}/bin/{e.Name} {args}\n");
        }
        return text.ToString();
    }

    /// <summary>
    /// Files in /etc/sudoers.d (sudo reads those without '.' or a trailing '~') with a rule for the service user naming
    /// a system-wide copy of a program the venv has (for nova, Debian's nova-common: /usr/bin/nova-rootwrap): left in
    /// place, sudo would still let the service run the packaged program, so they are taken over whole (Taken). A file
    /// that also holds anything but the service user's rules and Defaults is left alone (Left): taking it over would
    /// take other users' sudo rights with it.
    /// </summary>
    private static (List<string> Taken, List<string> Left) PackagedSudoers(InstallerEnvironment env, string service, string user, HashSet<string> bin)
    {
        var dir = env.HostPath("/etc/sudoers.d");
        if (!Directory.Exists(dir)) return ([], []);
        var replaced = SystemBins.SelectMany(b => bin.Select(p => $"{b}/{p}")).ToHashSet(StringComparer.Ordinal);
        var (taken, left) = (new List<string>(), new List<string>());
        foreach (var path in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(path);
            if (name.Contains('.', StringComparison.Ordinal) || name.EndsWith('~') || name == $"{service}_osva" || IsOurs(path)) continue;
            var entries = SudoersEntries(path);
            var grants = entries.Select(l => l.Split([' ', '\t', ',', ':', '='], StringSplitOptions.RemoveEmptyEntries))
                .Where(words => words.Length > 0 && words[0] == user)
                .Any(words => words.Any(w => replaced.Contains(w)));
            if (!grants) continue;
            var usersOnly = entries.All(l => l.Split([' ', '\t'], 2)[0] is var first && (first == user || first == $"Defaults:{user}"));
            (usersOnly ? taken : left).Add("/etc/sudoers.d/" + name);
        }
        return (taken, left);
    }

    /// <summary>A sudoers file's entries: comments and blank lines dropped, lines ending in a backslash joined to the next.</summary>
    private static List<string> SudoersEntries(string path)
    {
        var entries = new List<string>();
        var pending = "";
        foreach (var line in File.ReadLines(path))
        {
            var joined = pending + line;
            if (joined.EndsWith('\\'))
            {
                pending = joined[..^1] + " ";
                continue;
            }
            pending = "";
            var trimmed = joined.Trim();
            // "#include" and "#includedir" are directives and "#1000 ALL = ..." a rule for uid 1000, not comments.
            if (trimmed.Length == 0 || (trimmed.StartsWith('#') && !trimmed.StartsWith("#include", StringComparison.Ordinal)
                && !(trimmed.Length > 1 && char.IsAsciiDigit(trimmed[1])))) continue;
            entries.Add(trimmed);
        }
        if (pending.Trim().Length > 0) entries.Add(pending.Trim());
        return entries;
    }

    private static bool UnitExists(InstallerEnvironment env, string unit) =>
        UnitDirectories.Any(d => File.Exists(env.HostPath($"{d}/{unit}.service")) || new FileInfo(env.HostPath($"{d}/{unit}.service")).LinkTarget is not null);

    /// <summary>Whether osva-install wrote the file (its header in the first lines).</summary>
    public static bool IsOurs(string path) => File.ReadLines(path).Take(3).Any(l => l.Contains("Written by " + Marker, StringComparison.Ordinal));

    /// <summary>The service whose activation wrote the file, from its header; null when osva did not write it.</summary>
    public static string? Owner(string path) =>
        File.ReadLines(path).Take(3).Select(l => Header().Match(l)).FirstOrDefault(m => m.Success)?.Groups["service"].Value;

    private static List<(string Unit, string Exec, bool Named)> Units(Manifest manifest, ActivationSettings settings)
    {
        var units = new List<(string, string, bool)>();
        foreach (var unit in manifest.Systemd?.Units ?? []) units.Add((unit.Name, unit.ExecStart, false));
        foreach (var spec in settings.Units)
        {
            var eq = spec.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? spec : spec[..eq];
            var exec = eq < 0 ? units.FirstOrDefault(u => u.Item1 == name).Item2 ?? manifest.ConsoleScripts.FirstOrDefault(s => s == name)
                ?? throw new InstallerException("OSVA-I003", $"unit {name} has no program: it is not in the manifest and no console script has its name",
                    $"name the console script: --unit {name}=SCRIPT") : spec[(eq + 1)..];
            units.RemoveAll(u => u.Item1 == name);
            units.Add((name, exec, true));
        }
        foreach (var (name, _, named) in units)
        {
            CheckName(name, "unit name");
            // The build may point only the service's own units at its venv; any other unit takes the deployer's --unit.
            if (!named && name != manifest.Service && !name.StartsWith(manifest.Service + "-", StringComparison.Ordinal))
            {
                throw new InstallerException("OSVA-I076", $"the manifest names unit {name}, which is not {manifest.Service}'s (its units are {manifest.Service} or {manifest.Service}-*)",
                    $"if {name} should run from this venv, name it yourself: --unit {name}=SCRIPT");
            }
        }
        return units;
    }

    /// <summary>The drop-in's ExecStart: a console script name becomes the venv's bin path; a path into the built venv is moved with it.</summary>
    private static string ExecPath(string exec, string venv, string builtFor)
    {
        // systemd ends a line at \r and \0 as well as \n: any control character could start a directive of its own.
        if (exec.Any(char.IsControl)) throw new InstallerException("OSVA-I003", "a unit's ExecStart holds a control character", "give one command line");
        var program = exec.Split(' ', 2)[0];
        var rest = exec[program.Length..];
        if (program.StartsWith(builtFor + "/", StringComparison.Ordinal)) return venv + program[builtFor.Length..] + rest;
        if (program.StartsWith('/')) return exec;
        CheckName(program, "ExecStart program");
        return $"{venv}/bin/{program}{rest}";
    }

    private static void CheckName(string value, string what)
    {
        if (!PlainName().IsMatch(value))
        {
            throw new InstallerException("OSVA-I003", $"{what} '{value}' is not a plain name",
                "names in manifests and --unit may use letters, digits, '.', '_', '+', '@' and '-'; rebuild the artifact or fix the option");
        }
    }
}
