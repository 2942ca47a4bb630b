using System.Globalization;
using System.Text;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Host;

namespace OsVenvArtifacts.Installer.Image;

/// <summary>
/// Image mode on a host: the tag's squashfs kept read-only in <c>/var/lib/osva/images</c>, mounted read-only at the venv's
/// path, and a systemd mount unit so the mount comes back after a reboot. Everything is under <c>--root</c>; the unit names
/// host paths (without the root), as the host's systemd sees them.
/// </summary>
internal sealed class ImageMount(InstallerEnvironment env)
{
    public const string ImagesDirectory = "/var/lib/osva/images";
    public const string Options = "ro,loop,nodev,nosuid";
    /// <summary>Set to anything non-empty, the probe says mounting is impossible, as in an unprivileged container (for tests).</summary>
    public const string ForceCannotMountVariable = "OSVA_FORCE_CANNOT_MOUNT";

    /// <summary>
    /// The image's path on the host (without the root): a folder per service, as service names and tags both take
    /// '-' (nova's db-1 and nova-db's 1 would share "nova-db-1").
    /// </summary>
    public static string ImagePath(string service, string tag) => $"{ImagesDirectory}/{service}/{tag}.{ImageInfo.Squashfs}";

    /// <summary>The unit name <c>systemd-escape --path --suffix=mount</c> gives for the venv path.</summary>
    public static string UnitName(string path)
    {
        var trimmed = path.Trim('/');
        var s = new StringBuilder();
        for (var i = 0; i < trimmed.Length; i++)
        {
            var c = trimmed[i];
            if (c == '/') s.Append('-');
            else if (char.IsAsciiLetterOrDigit(c) || c is ':' or '_' || (c == '.' && i > 0)) s.Append(c);
            else foreach (var b in Encoding.UTF8.GetBytes(c.ToString())) s.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
        }
        return (s.Length == 0 ? "-" : s.ToString()) + ".mount";
    }

    public static string UnitDirectory => "/etc/systemd/system";

    public string UnitFile(string venvPath) => env.HostPath($"{UnitDirectory}/{UnitName(venvPath)}");

    /// <summary>The link that makes local-fs.target pull the mount in at boot, as <c>systemctl enable</c> would make it.</summary>
    public string WantsLink(string venvPath) => env.HostPath($"{UnitDirectory}/local-fs.target.wants/{UnitName(venvPath)}");

    public static string UnitText(string service, string tag, string venvPath) => $"""
        # Written by osva-install: {service} {tag} as a read-only image (docs/osva-install.md, "Image mode"). Removed by gc and uninstall.
        [Unit]
        Description=osva venv {service} {tag} (read-only image)

        [Mount]
        What={ImagePath(service, tag)}
        Where={venvPath}
        Type={ImageInfo.Squashfs}
        Options={Options}

        [Install]
        WantedBy=local-fs.target

        """;

    /// <summary>Why this host cannot mount images, or null when it can try: no loop devices, or forced for tests.</summary>
    public static string? CannotMountReason()
    {
        if (Environment.GetEnvironmentVariable(ForceCannotMountVariable) is { Length: > 0 }) return $"{ForceCannotMountVariable} is set";
        if (!File.Exists("/dev/loop-control")) return "there is no /dev/loop-control (no loop devices, as in an unprivileged container)";
        return null;
    }

    public static InstallerException Refusal(string service, string tag, string reason) =>
        new("OSVA-I080", $"cannot install {service} {tag} as an image: {reason}",
            $"install the tarball: osva-install install {service} {tag} --format tarball (or --format auto)", ExitCode.HostMismatch);

    /// <summary>Writes the unit (and its wants link) and mounts the image at the venv path; mount's own refusal (EPERM) is OSVA-I080.</summary>
    public async Task MountAsync(string service, string tag, string venvPath, CancellationToken ct)
    {
        var unit = UnitFile(venvPath);
        Directory.CreateDirectory(Path.GetDirectoryName(unit)!);
        await AtomicFile.WriteAllTextAsync(unit, UnitText(service, tag, venvPath), ct);
        var wants = WantsLink(venvPath);
        Directory.CreateDirectory(Path.GetDirectoryName(wants)!);
        if (new FileInfo(wants).LinkTarget is null) File.CreateSymbolicLink(wants, $"../{UnitName(venvPath)}");
        ProcessOutput result;
        if (env.ManagesSystemd)
        {
            await HostProcess.RunAsync(env.Systemctl, ["daemon-reload"], ct);
            result = await HostProcess.RunAsync(env.Systemctl, ["start", UnitName(venvPath)], ct);
        }
        else
        {
            result = await HostProcess.RunAsync("mount", ["-t", ImageInfo.Squashfs, "-o", Options, env.HostPath(ImagePath(service, tag)), env.HostPath(venvPath)], ct);
        }
        if (result.ExitCode != 0) throw Refusal(service, tag, $"mounting it at {venvPath} failed: {result.FirstLine}");
    }

    /// <summary>Unmounts the venv path if mounted, and removes the unit, its link and the image.</summary>
    public async Task RemoveAsync(string service, string tag, string venvPath, CancellationToken ct)
    {
        var dir = env.HostPath(venvPath);
        if (IsMounted(dir))
        {
            var result = env.ManagesSystemd
                ? await HostProcess.RunAsync(env.Systemctl, ["stop", UnitName(venvPath)], ct)
                : await HostProcess.RunAsync("umount", [dir], ct);
            if (result.ExitCode != 0 || IsMounted(dir))
            {
                throw new InstallerException("OSVA-I081", $"cannot unmount {venvPath}: {result.FirstLine}",
                    $"stop what still runs from it (fuser -m {dir}), then run the command again", ExitCode.HostMismatch);
            }
        }
        File.Delete(WantsLink(venvPath));
        File.Delete(UnitFile(venvPath));
        if (env.ManagesSystemd) await HostProcess.RunAsync(env.Systemctl, ["daemon-reload"], ct);
        File.Delete(env.HostPath(ImagePath(service, tag)));
        if (Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
    }

    /// <summary>Whether <paramref name="directory"/> (an on-disk path) is a mount point, from /proc/self/mountinfo.</summary>
    public static bool IsMounted(string directory)
    {
        var full = Path.GetFullPath(directory).TrimEnd('/');
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 4 && Unescape(fields[4]) == full) return true;
        }
        return false;
    }

    /// <summary>mountinfo writes space, tab, newline and backslash as octal escapes (\040).</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal)) return field;
        var s = new StringBuilder();
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length)
            {
                s.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else s.Append(field[i]);
        }
        return s.ToString();
    }
}
