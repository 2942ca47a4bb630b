namespace OsVenvArtifacts.Installer.Activation;

/// <summary>
/// Edits <c>exec_dirs</c> in the [DEFAULT] section of a rootwrap.conf line by line, keeping every other key and
/// comment: the venv's bin leads, the bins of this service's other venvs go, the rest stays in order.
/// </summary>
internal static class RootwrapConf
{
    private const string DefaultDirs = "/sbin,/usr/sbin,/bin,/usr/bin,/usr/local/bin,/usr/local/sbin";

    public static string WithExecDirs(string? existing, string service, string venvBin, IEnumerable<string> oldVenvBins, string siblingPrefix)
    {
        if (existing is null)
        {
            return $"# rootwrap configuration for {service}, created by osva-install.\n[DEFAULT]\n"
                + $"filters_path=/etc/{service}/rootwrap.d\nexec_dirs={venvBin},{DefaultDirs}\n"
                + "use_syslog=False\nsyslog_log_facility=syslog\nsyslog_log_level=ERROR\n";
        }
        var old = oldVenvBins.ToHashSet(StringComparer.Ordinal);
        bool Keep(string dir) => dir != venvBin && !old.Contains(dir)
            && !(dir.StartsWith(siblingPrefix, StringComparison.Ordinal) && dir.EndsWith("/bin", StringComparison.Ordinal));

        var lines = existing.Split('\n').ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        var section = "";
        var defaultHeader = -1;
        for (var i = 0; i < lines.Count; i++)
        {
            var trimmed = lines[i].Trim();
            if (trimmed.StartsWith('[') && trimmed.EndsWith(']'))
            {
                section = trimmed[1..^1].Trim();
                if (section == "DEFAULT") defaultHeader = i;
                continue;
            }
            if (section != "DEFAULT" || trimmed.StartsWith('#') || trimmed.StartsWith(';')) continue;
            var eq = trimmed.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0 || trimmed[..eq].Trim() != "exec_dirs") continue;
            var dirs = trimmed[(eq + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(Keep);
            lines[i] = "exec_dirs=" + string.Join(',', dirs.Prepend(venvBin));
            return string.Join('\n', lines) + "\n";
        }
        var line = $"exec_dirs={venvBin},{DefaultDirs}";
        if (defaultHeader < 0) lines.InsertRange(0, ["[DEFAULT]", line]);
        else lines.Insert(defaultHeader + 1, line);
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>The filters_path the rootwrap.conf names (its first directory), or null.</summary>
    public static string? FiltersPath(string conf) =>
        conf.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("filters_path", StringComparison.Ordinal) && l.Contains('=', StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..].Split(',')[0].Trim()).FirstOrDefault();
}
