namespace OsVenvArtifacts.Installer.Activation;

/// <summary>
/// Edits a rootwrap.conf's [DEFAULT] section line by line, keeping every other key and comment: <c>exec_dirs</c> is led
/// by the venv's bin, and <c>filters_path</c> may gain the venv's own filter directory after the packaged ones. The
/// directories of this service's other venvs leave both; everything else stays in order.
/// </summary>
internal static class RootwrapConf
{
    private const string DefaultDirs = "/sbin,/usr/sbin,/bin,/usr/bin,/usr/local/bin,/usr/local/sbin";

    /// <param name="venvFilters">The venv's filter directory to list after the packaged ones, or null to list none of the venv's.</param>
    /// <param name="isOurs">Whether a directory belongs to one of this service's venvs (any tag): such entries are replaced, never kept.</param>
    public static string Edit(string? existing, string service, string venvBin, string? venvFilters, Func<string, bool> isOurs)
    {
        if (existing is null)
        {
            // The header marks it as osva's: nothing packaged was here, so it is never kept as an original and disable removes it.
            existing = $"# Written by osva-install for {service}: its rootwrap configuration (there was none); disable removes it.\n[DEFAULT]\n"
                + $"filters_path=/etc/{service}/rootwrap.d\nexec_dirs={DefaultDirs}\n"
                + "use_syslog=False\nsyslog_log_facility=syslog\nsyslog_log_level=ERROR\n";
        }
        var lines = existing.Split('\n').ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        SetList(lines, "exec_dirs", DefaultDirs, dirs => dirs.Where(d => !isOurs(d)).Prepend(venvBin));
        SetList(lines, "filters_path", $"/etc/{service}/rootwrap.d", dirs =>
        {
            var kept = dirs.Where(d => !isOurs(d));
            return venvFilters is null ? kept : kept.Append(venvFilters);
        });
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>Rewrites a comma-separated key of [DEFAULT]; absent, it is added (from <paramref name="fallback"/>) right under the header.</summary>
    private static void SetList(List<string> lines, string key, string fallback, Func<IEnumerable<string>, IEnumerable<string>> edit)
    {
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
            if (eq < 0 || trimmed[..eq].Trim() != key) continue;
            var dirs = trimmed[(eq + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var edited = string.Join(',', edit(dirs));
            // An unchanged value keeps its line as written (spaces and all), so an edit never touches what it need not.
            if (edited != string.Join(',', dirs)) lines[i] = $"{key}={edited}";
            return;
        }
        var line = $"{key}={string.Join(',', edit(fallback.Split(',')))}";
        if (defaultHeader < 0) lines.InsertRange(0, ["[DEFAULT]", line]);
        else lines.Insert(defaultHeader + 1, line);
    }

    /// <summary>The directories the rootwrap.conf's filters_path names.</summary>
    public static IReadOnlyList<string> FiltersPath(string conf) =>
        conf.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("filters_path", StringComparison.Ordinal) && l.Contains('=', StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .FirstOrDefault() ?? [];
}
