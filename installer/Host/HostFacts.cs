using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Installer.Host;

/// <summary>
/// What the host is: distro and version (<c>/etc/os-release</c>), machine, python, glibc and installed packages.
/// Read under the root when the root is a whole system (it has /etc/os-release), else from this machine.
/// </summary>
internal sealed partial record HostFacts(string Distro, string DistroVersion, string Arch, string? PythonVersion, string Glibc, string FactsRoot)
{
    [GeneratedRegex(@"^python(?<v>3\.[0-9]+)$")]
    private static partial Regex PythonName();

    public string? PlatformId => PythonVersion is null ? null : $"{Distro}-{DistroVersion}-{Arch}-py{PythonVersion}";

    public string PathOf(string absolute) => FactsRoot == "/" ? absolute : Path.Join(FactsRoot, absolute.TrimStart('/'));

    public static HostFacts Detect(InstallerEnvironment env)
    {
        var factsRoot = File.Exists(env.HostPath("/etc/os-release")) ? env.Root : "/";
        string Under(string p) => factsRoot == "/" ? p : Path.Join(factsRoot, p.TrimStart('/'));
        var release = ReadOsRelease(Under("/etc/os-release"));
        var arch = RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => "x86_64",
            Architecture.Arm64 => "aarch64",
            Architecture.Ppc64le => "ppc64le",
            Architecture.S390x => "s390x",
            var other => other.ToString().ToLowerInvariant(),
        };
        return new HostFacts(release.GetValueOrDefault("ID", "unknown"), release.GetValueOrDefault("VERSION_ID", "unknown"),
            arch, DetectPython(Under("/usr/bin")), Native.GlibcVersion(), factsRoot);
    }

    /// <summary>The python3 the distro points <c>/usr/bin/python3</c> at, else the newest python3.X present.</summary>
    private static string? DetectPython(string bin)
    {
        var link = new FileInfo(Path.Combine(bin, "python3")).LinkTarget;
        if (link is not null && PythonName().Match(Path.GetFileName(link)) is { Success: true } m) return m.Groups["v"].Value;
        if (!Directory.Exists(bin)) return null;
        return Directory.EnumerateFiles(bin, "python3.*")
            .Select(f => PythonName().Match(Path.GetFileName(f)))
            .Where(x => x.Success)
            .Select(x => x.Groups["v"].Value)
            .OrderByDescending(v => Version.Parse(v))
            .FirstOrDefault();
    }

    private static Dictionary<string, string> ReadOsRelease(string path)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(path)) return values;
        foreach (var line in File.ReadLines(path))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || line.StartsWith('#')) continue;
            values[line[..eq].Trim()] = line[(eq + 1)..].Trim().Trim('"', '\'');
        }
        return values;
    }

    /// <summary>Packages dpkg lists as installed; empty when the host has no dpkg.</summary>
    public IReadOnlySet<string> InstalledPackages()
    {
        var status = PathOf("/var/lib/dpkg/status");
        var installed = new HashSet<string>(StringComparer.Ordinal);
        if (!File.Exists(status)) return installed;
        string? package = null;
        foreach (var line in File.ReadLines(status))
        {
            if (line.StartsWith("Package: ", StringComparison.Ordinal)) package = line[9..].Trim();
            else if (line.StartsWith("Status: ", StringComparison.Ordinal) && line.EndsWith(" installed", StringComparison.Ordinal) && package is not null)
            {
                installed.Add(package);
            }
            else if (line.Length == 0) package = null;
        }
        return installed;
    }

    /// <summary>Every way the host differs from what the artifact was built for; empty when it fits.</summary>
    public IReadOnlyList<string> Differences(Manifest manifest)
    {
        var p = manifest.Platform;
        var diffs = new List<string>();
        if (p.Distro != Distro || p.DistroVersion != DistroVersion) diffs.Add($"distro {p.Distro} {p.DistroVersion} expected, host is {Distro} {DistroVersion}");
        if (p.Arch != Arch) diffs.Add($"arch {p.Arch} expected, host is {Arch}");
        if (p.PythonVersion != PythonVersion) diffs.Add($"python {p.PythonVersion} expected, host has {PythonVersion ?? "none"}");
        if (!File.Exists(PathOf(p.PythonPath))) diffs.Add($"interpreter {p.PythonPath} is missing");
        if (Version.TryParse(p.Glibc, out var need) && Version.TryParse(Glibc, out var have) && have < need)
        {
            diffs.Add($"glibc {p.Glibc} or newer expected, host has {Glibc}");
        }
        if (manifest.RuntimePackages.Count > 0)
        {
            var installed = InstalledPackages();
            var missing = manifest.RuntimePackages.Where(r => !installed.Contains(r)).ToList();
            if (missing.Count > 0) diffs.Add($"runtime packages missing: {string.Join(' ', missing)}");
        }
        return diffs;
    }

    public void EnsureFits(Manifest manifest)
    {
        var diffs = Differences(manifest);
        if (diffs.Count == 0) return;
        var hint = diffs.Any(d => d.StartsWith("runtime packages", StringComparison.Ordinal)) && diffs.Count == 1
            ? $"apt-get install {string.Join(' ', manifest.RuntimePackages.Where(r => !InstalledPackages().Contains(r)))}"
            : $"install the artifact built for this host's platform ({PlatformId ?? "no python3 found"}), or run on a {manifest.Platform.Id} host";
        throw new InstallerException("OSVA-I020", $"host does not fit {manifest.Id}: {string.Join("; ", diffs)}", hint, ExitCode.HostMismatch);
    }
}
