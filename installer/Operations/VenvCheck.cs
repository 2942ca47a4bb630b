using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Host;
using OsVenvArtifacts.Installer.Image;
using OsVenvArtifacts.Installer.State;
using OsVenvArtifacts.Installer.Unpack;

namespace OsVenvArtifacts.Installer.Operations;

/// <summary>How an installed venv differs from what was installed: verify prints it, repair mends it.</summary>
internal sealed record VenvDrift(IReadOnlyList<string> Drift, RecordedTree? Recorded)
{
    public bool Clean => Drift.Count == 0;
}

/// <summary>Compares a venv on disk with its recorded entry list: fully for verify and repair, by stat alone for doctor.</summary>
internal static class VenvCheck
{
    /// <summary>Every added, missing and modified entry (content, size, mode, link target), names printed one a line.</summary>
    public static async Task<VenvDrift> CompareAsync(InstallerEnvironment env, StateStore states, string service, InstalledTag installed, CancellationToken ct)
    {
        var venv = env.HostPath(installed.InstallPath);
        if (installed.IsImage) return await CompareImageAsync(env, service, installed, venv, ct);
        if (!Directory.Exists(venv)) return new VenvDrift([$"missing {installed.InstallPath} (the whole venv)"], null);
        var actual = await TreeScanner.ScanAsync(venv, ct);
        var links = actual.Where(e => e.Kind == TreeEntryKind.Symlink).ToDictionary(e => e.Path, e => e.LinkTarget, StringComparer.Ordinal);
        var recorded = await states.LoadTreeAsync(service, installed.Tag, p => links.GetValueOrDefault(p), ct);
        if (recorded is null)
        {
            // No list to diff against (removed by hand): the whole tree's hash still tells clean from drifted.
            return new VenvDrift(TreeScanner.Hash(actual) == installed.TreeHash ? []
                : [$"tree hash differs from {installed.TreeHash}, and {states.TreePath(service, installed.Tag)} that would say where is missing"], null);
        }
        var expected = recorded.Entries.ToDictionary(e => e.Path, StringComparer.Ordinal);
        // Directories the archive created only as parents have no entry of their own.
        var implicitDirs = expected.Keys.SelectMany(Parents).ToHashSet(StringComparer.Ordinal);
        var drift = new List<string>();
        foreach (var entry in actual.OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            if (expected.TryGetValue(entry.Path, out var want))
            {
                if (TreeHash.Line(want) != TreeHash.Line(entry)) drift.Add($"modified {TreeFile.Display(entry.Path)}");
            }
            else if (!(entry.Kind == TreeEntryKind.Directory && implicitDirs.Contains(entry.Path)))
            {
                drift.Add($"added {TreeFile.Display(entry.Path)}" + (entry.Path.Contains('\uFFFD', StringComparison.Ordinal) ? " (name not valid UTF-8)" : ""));
            }
        }
        var seen = actual.Select(e => e.Path).ToHashSet(StringComparer.Ordinal);
        drift.AddRange(expected.Keys.Where(k => !seen.Contains(k)).Order(StringComparer.Ordinal).Select(k => $"missing {TreeFile.Display(k)}"));
        if (drift.Count == 0 && TreeScanner.Hash(actual.Where(e => expected.ContainsKey(e.Path))) != installed.TreeHash)
        {
            drift.Add($"tree hash differs from {installed.TreeHash}");
        }
        return new VenvDrift(drift, recorded);
    }

    /// <summary>An image tag: mounted, and the image file still the bytes installed (read-only, so no entry can drift alone).</summary>
    private static async Task<VenvDrift> CompareImageAsync(InstallerEnvironment env, string service, InstalledTag installed, string venv, CancellationToken ct)
    {
        var drift = new List<string>();
        if (!ImageMount.IsMounted(venv)) drift.Add($"{installed.InstallPath} is not mounted");
        var path = ImageMount.ImagePath(service, installed.Tag);
        var file = env.HostPath(path);
        if (!File.Exists(file)) drift.Add($"missing image {path}");
        else if (await Sha256.OfFileAsync(file, ct) is var sha && sha != installed.ImageSha256) drift.Add($"image {path} has sha256 {sha}, {installed.ImageSha256} was installed");
        return new VenvDrift(drift, null);
    }

    /// <summary>
    /// The recorded entries that are missing or no longer of their kind, size or link target: one stat each, no
    /// hashing, so doctor can afford it for every tag (verify also compares contents and modes).
    /// </summary>
    public static List<string> QuickMismatches(string venv, IEnumerable<TreeEntry> recorded)
    {
        var wrong = new List<string>();
        foreach (var e in recorded)
        {
            FileSystemInfo info = new FileInfo(Path.Join(venv, e.Path));
            if (!info.Exists && info.LinkTarget is null) info = new DirectoryInfo(info.FullName);
            var ok = e.Kind switch
            {
                TreeEntryKind.Symlink => info.LinkTarget == e.LinkTarget,
                TreeEntryKind.Directory => info.LinkTarget is null && info is DirectoryInfo { Exists: true },
                _ => info.LinkTarget is null && info is FileInfo { Exists: true } f && f.Length == e.Size,
            };
            if (!ok) wrong.Add(e.Path);
        }
        return wrong;
    }

    private static IEnumerable<string> Parents(string path)
    {
        for (var i = path.IndexOf('/', StringComparison.Ordinal); i > 0; i = path.IndexOf('/', i + 1)) yield return path[..i];
    }
}
