using System.Text;
using System.Text.RegularExpressions;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Host;
using OsVenvArtifacts.Installer.State;

namespace OsVenvArtifacts.Installer.Activation;

/// <summary>
/// Works out the host files that point a service at one venv: systemd drop-ins, sudoers, rootwrap.conf
/// (edited, not replaced), rootwrap filters on request, and wrappers in /usr/local/bin.
/// </summary>
internal static partial class ActivationPlanner
{
    public const string Marker = "osva-install";
    private const string SystemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._+@-]*$")]
    private static partial Regex PlainName();

    [GeneratedRegex(@"^[a-z_][a-z0-9_-]*$")]
    private static partial Regex UserName();

    public static async Task<ActivationPlan> PlanAsync(InstallerEnvironment env, Manifest manifest, InstalledTag installed,
        ActivationSettings settings, ServiceState state, CancellationToken ct)
    {
        var service = manifest.Service;
        var venv = installed.InstallPath;
        var header = $"# Written by {Marker} for {service} {manifest.Tag} ({venv}); replaced on every switch, do not edit.\n";
        var files = new List<PlannedFile>();
        var units = Units(manifest, settings);
        foreach (var (unit, exec) in units)
        {
            files.Add(new PlannedFile($"/etc/systemd/system/{unit}.service.d/osva-venv.conf",
                header + "[Service]\nExecStart=\n" + $"ExecStart={ExecPath(exec, venv, manifest.InstallPath)}\n"
                + $"Environment=PATH={venv}/bin:{SystemPath}\n", (UnixFileMode)0x1A4, PlannedFileKind.DropIn));
        }

        var rootwrap = manifest.Rootwrap;
        var privsep = File.Exists(env.HostPath($"{venv}/bin/privsep-helper"));
        if (rootwrap?.Command is not null || rootwrap?.DaemonCommand is not null || privsep)
        {
            files.Add(new PlannedFile($"/etc/sudoers.d/{service}_osva", Sudoers(header, service, venv, rootwrap, privsep, settings.ServiceUser),
                (UnixFileMode)0x120, PlannedFileKind.Sudoers));
        }
        if (rootwrap?.ConfigPath is { } configPath)
        {
            InstallerEnvironment.CheckInstallPath(configPath);
            var existing = File.Exists(env.HostPath(configPath)) ? await File.ReadAllTextAsync(env.HostPath(configPath), ct) : null;
            var oldVenvs = state.Installed.Select(t => t.InstallPath + "/bin").Append(manifest.InstallPath + "/bin");
            var conf = RootwrapConf.WithExecDirs(existing, service, venv + "/bin", oldVenvs, Path.GetDirectoryName(venv) + "/" + service + "-");
            files.Add(new PlannedFile(configPath, conf, (UnixFileMode)0x1A4, PlannedFileKind.RootwrapConf));
            if (settings.InstallRootwrapFilters && rootwrap.FiltersDir is { } filtersDir)
            {
                var source = env.HostPath($"{venv}/{filtersDir.Trim('/')}");
                var destination = RootwrapConf.FiltersPath(conf) ?? $"/etc/{service}/rootwrap.d";
                if (Directory.Exists(source))
                {
                    foreach (var filter in Directory.EnumerateFiles(source).Order(StringComparer.Ordinal))
                    {
                        files.Add(new PlannedFile($"{destination.TrimEnd('/')}/{Path.GetFileName(filter)}",
                            await File.ReadAllTextAsync(filter, ct), (UnixFileMode)0x1A4, PlannedFileKind.RootwrapFilter));
                    }
                }
            }
        }

        var skip = new HashSet<string?>([rootwrap?.Command, rootwrap?.DaemonCommand], StringComparer.Ordinal);
        foreach (var script in manifest.ConsoleScripts.Where(s => !skip.Contains(s)).Order(StringComparer.Ordinal))
        {
            CheckName(script, "console script");
            // Before the venv exists (a dry run) every console script is assumed present.
            if (Directory.Exists(env.HostPath(venv)) && !File.Exists(env.HostPath($"{venv}/bin/{script}"))) continue;
            files.Add(new PlannedFile($"/usr/local/bin/{script}",
                $"#!/bin/sh\n{header}exec {venv}/bin/{script} \"$@\"\n", (UnixFileMode)0x1ED, PlannedFileKind.Wrapper));
        }

        var planned = files.Select(f => f.HostPath).ToHashSet(StringComparer.Ordinal);
        var removed = (state.Activation?.Files ?? []).Where(f => !planned.Contains(f)).ToList();
        return new ActivationPlan(service, manifest.Tag, venv, units.Select(u => u.Unit).ToList(), files, removed);
    }

    private static List<(string Unit, string Exec)> Units(Manifest manifest, ActivationSettings settings)
    {
        var units = new List<(string, string)>();
        foreach (var unit in manifest.Systemd?.Units ?? []) units.Add((unit.Name, unit.ExecStart));
        foreach (var spec in settings.Units)
        {
            var eq = spec.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? spec : spec[..eq];
            var exec = eq < 0 ? units.FirstOrDefault(u => u.Item1 == name).Item2 ?? manifest.ConsoleScripts.FirstOrDefault(s => s == name)
                ?? throw new InstallerException("OSVA-I003", $"unit {name} has no program: it is not in the manifest and no console script has its name",
                    $"name the console script: --unit {name}=SCRIPT") : spec[(eq + 1)..];
            units.RemoveAll(u => u.Item1 == name);
            units.Add((name, exec));
        }
        foreach (var (name, _) in units) CheckName(name, "unit name");
        return units;
    }

    /// <summary>The drop-in's ExecStart: a console script name becomes the venv's bin path; a path into the built venv is moved with it.</summary>
    private static string ExecPath(string exec, string venv, string builtFor)
    {
        if (exec.Contains('\n', StringComparison.Ordinal)) throw new InstallerException("OSVA-I003", "a unit's ExecStart spans lines", "give one command line");
        var program = exec.Split(' ', 2)[0];
        var rest = exec[program.Length..];
        if (program.StartsWith(builtFor + "/", StringComparison.Ordinal)) return venv + program[builtFor.Length..] + rest;
        if (program.StartsWith('/')) return exec;
        CheckName(program, "ExecStart program");
        return $"{venv}/bin/{program}{rest}";
    }

    private static string Sudoers(string header, string service, string venv, RootwrapHints? rootwrap, bool privsep, string? user)
    {
        user ??= service;
        if (!UserName().IsMatch(user)) throw new InstallerException("OSVA-I004", $"service user '{user}' is not a plain user name", "pass --service-user NAME");
        var config = rootwrap?.ConfigPath ?? $"/etc/{service}/rootwrap.conf";
        var text = new StringBuilder(header);
        text.Append($"Defaults:{user} secure_path=\"{venv}/bin:{SystemPath}\"\n");
        if (rootwrap?.Command is { } command)
        {
            CheckName(command, "rootwrap command");
            text.Append($"{user} ALL = (root) NOPASSWD: {venv}/bin/{command} {config} *\n");
        }
        if (rootwrap?.DaemonCommand is { } daemon)
        {
            CheckName(daemon, "rootwrap daemon command");
            text.Append($"{user} ALL = (root) NOPASSWD: {venv}/bin/{daemon} {config}\n");
        }
        if (privsep) text.Append($"{user} ALL = (root) NOPASSWD: {venv}/bin/privsep-helper *\n");
        return text.ToString();
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
