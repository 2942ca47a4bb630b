namespace OsVenvArtifacts.Installer.Activation;

/// <summary>
/// Edits a rootwrap.conf's [DEFAULT] section line by line, keeping every other key and comment: <c>exec_dirs</c> is led
/// by the venv's bin, and <c>filters_path</c> may gain the venv's own filter directory after the packaged ones. The
/// directories of this service's other venvs leave both; everything else stays in order.
/// </summary>
/// <remarks>
/// oslo.rootwrap reads the file with Python's RawConfigParser, so the lines are read the way it reads them (found by
/// fuzzing): universal newlines; a value continues on any later line indented deeper than its key, blank lines inside
/// it included; a section header is any line starting with <c>[</c> and holding a later <c>]</c>; the key ends at the
/// first <c>=</c> or <c>:</c> and is compared lower-cased; whitespace is Python's (which has \x1c-\x1f too).
/// </remarks>
internal static class RootwrapConf
{
    private const string DefaultDirs = "/sbin,/usr/sbin,/bin,/usr/bin,/usr/local/bin,/usr/local/sbin";
    private static readonly char[] Delimiters = ['=', ':'];

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
        var lines = SplitLines(existing);
        SetList(lines, "exec_dirs", DefaultDirs, dirs => dirs.Where(d => !isOurs(d)).Prepend(venvBin));
        SetList(lines, "filters_path", $"/etc/{service}/rootwrap.d", dirs =>
        {
            var kept = dirs.Where(d => !isOurs(d));
            return venvFilters is null ? kept : kept.Append(venvFilters);
        });
        return string.Concat(lines.Select(l => l.Text + (l.Ending.Length == 0 ? "\n" : l.Ending)));
    }

    /// <summary>The directories the rootwrap.conf's filters_path names.</summary>
    public static IReadOnlyList<string> FiltersPath(string conf) => Find(SplitLines(conf), "filters_path").Option?.Entries ?? [];

    /// <summary>Rewrites a comma-separated key of [DEFAULT]; absent, it is added (from <paramref name="fallback"/>) to the section.</summary>
    private static void SetList(List<Line> lines, string key, string fallback, Func<IEnumerable<string>, IEnumerable<string>> edit)
    {
        var (option, defaultHeader) = Find(lines, key);
        if (option is null)
        {
            // Above the section's first key or the next header, indented as that line: no line after it can become a
            // continuation of the added value (a line Python reports and reads past would keep the value open).
            var at = defaultHeader < 0 ? 0 : defaultHeader + 1;
            while (at < lines.Count && !IsKeyOrHeader(lines[at].Text)) at++;
            var indent = at < lines.Count ? lines[at].Text[..Indent(lines[at].Text)] : "";
            var added = new Line($"{indent}{key}={string.Join(',', edit(fallback.Split(',')))}", "\n");
            lines.InsertRange(at, defaultHeader < 0 ? [new Line("[DEFAULT]", "\n"), added] : [added]);
            return;
        }
        var edited = string.Join(',', edit(option.Entries));
        // An unchanged value keeps its lines as written (spaces and all), so an edit never touches what it need not.
        if (edited == string.Join(',', option.Entries)) return;
        var keyLine = lines[option.Line].Text;
        var prefix = keyLine[..Indent(keyLine)];
        // An entry that spanned lines keeps its line breaks, written as continuation lines one deeper than the key.
        var written = edited.Split('\n').Select((segment, i) => new Line(
            i == 0 ? $"{prefix}{key}={segment}" : segment.Length == 0 ? "" : $"{prefix} {segment}", "\n")).ToList();
        foreach (var continuation in option.ValueLines.OrderDescending()) lines.RemoveAt(continuation);
        lines.RemoveAt(option.Line);
        lines.InsertRange(option.Line, written);
    }

    private sealed record Line(string Text, string Ending);

    /// <summary>One key's value: its key line, the lines that continue it (blank ones inside it too) and its comma-separated entries.</summary>
    private sealed class Option(int line, string firstValue)
    {
        private readonly List<string> _segments = [firstValue];
        private readonly List<int> _pendingBlanks = [];

        public int Line { get; } = line;
        public List<int> ValueLines { get; } = [];

        public IReadOnlyList<string> Entries =>
            string.Join('\n', _segments).Split(',').Select(PyStrip).Where(e => e.Length > 0).ToList();

        // A blank line belongs to the value only when a continuation follows it (Python strips the trailing ones).
        public void Blank(int index) => _pendingBlanks.Add(index);

        public void Continue(int index, string value)
        {
            foreach (var blank in _pendingBlanks)
            {
                ValueLines.Add(blank);
                _segments.Add("");
            }
            _pendingBlanks.Clear();
            ValueLines.Add(index);
            _segments.Add(value);
        }
    }

    /// <summary>The first <paramref name="key"/> of [DEFAULT] and the first [DEFAULT] header's line, read as RawConfigParser reads them.</summary>
    private static (Option? Option, int DefaultHeader) Find(List<Line> lines, string key)
    {
        string? section = null;
        Option? current = null;
        Option? found = null;
        var indentLevel = 0;
        var defaultHeader = -1;
        for (var i = 0; i < lines.Count; i++)
        {
            var text = lines[i].Text;
            var value = PyStrip(text);
            if (value.StartsWith('#') || value.StartsWith(';')) continue;
            if (value.Length == 0)
            {
                current?.Blank(i);
                continue;
            }
            var indent = Indent(text);
            if (section is not null && current is not null && indent > indentLevel)
            {
                current.Continue(i, value);
                continue;
            }
            indentLevel = indent;
            if (IsHeader(value))
            {
                section = value[1..value.LastIndexOf(']')];
                current = null;
                if (section == "DEFAULT" && defaultHeader < 0) defaultHeader = i;
                continue;
            }
            // Before any section Python refuses the file; a line with no '=' or ':' it reports and reads on past.
            var delimiter = value.IndexOfAny(Delimiters);
            if (section is null || delimiter < 0) continue;
            var name = PyRstrip(value[..delimiter]);
            var option = new Option(i, PyStrip(value[(delimiter + 1)..]));
            current = name.Length == 0 ? null : option;
            if (section == "DEFAULT" && found is null && NameIs(name, key)) found = option;
        }
        return (found, defaultHeader);
    }

    /// <summary>Splits at \n, \r\n and \r as Python's universal newlines do, keeping each line's ending.</summary>
    private static List<Line> SplitLines(string text)
    {
        var lines = new List<Line>();
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] is not ('\n' or '\r')) continue;
            var end = text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n' ? i + 2 : i + 1;
            lines.Add(new Line(text[start..i], text[i..end]));
            start = end;
            i = end - 1;
        }
        if (start < text.Length) lines.Add(new Line(text[start..], ""));
        return lines;
    }

    private static bool IsKeyOrHeader(string text)
    {
        var value = PyStrip(text);
        return value.Length > 0 && value[0] is not ('#' or ';') && (IsHeader(value) || value.IndexOfAny(Delimiters) >= 0);
    }

    private static bool IsHeader(string value) => value[0] == '[' && value.LastIndexOf(']') > 1;

    /// <summary>Python's str.isspace: .NET's whitespace plus the separators \x1c-\x1f.</summary>
    private static bool IsPySpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';

    private static int Indent(string text)
    {
        var i = 0;
        while (i < text.Length && IsPySpace(text[i])) i++;
        return i;
    }

    private static string PyStrip(string text) => PyRstrip(text[Indent(text)..]);

    private static string PyRstrip(string text)
    {
        var end = text.Length;
        while (end > 0 && IsPySpace(text[end - 1])) end--;
        return text[..end];
    }

    /// <summary>Python's lower() of <paramref name="name"/> equals the ASCII <paramref name="key"/> (only the Kelvin sign lowers to ASCII from outside it).</summary>
    private static bool NameIs(string name, string key) =>
        name.Length == key.Length && name.Zip(key).All(p => (p.First == '\u212A' ? 'k' : p.First < 128 ? char.ToLowerInvariant(p.First) : p.First) == p.Second);
}
