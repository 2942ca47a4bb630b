namespace OsVenvArtifacts.Builder.Build;

/// <summary>
/// Progress on stderr: on a terminal one status line rewritten in place; otherwise (CI, pipes) plain
/// timestamped lines. Results go to stdout separately, so scripts can parse them.
/// </summary>
internal sealed class BuildLog(bool verbose)
{
    private readonly Lock _lock = new();
    private readonly bool _tty = !Console.IsErrorRedirected;
    private readonly Dictionary<string, string> _active = new(StringComparer.Ordinal);
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    public bool Verbose => verbose;

    /// <summary>A step of one job (<paramref name="job"/> is service/platform).</summary>
    public void Step(string job, string message)
    {
        lock (_lock)
        {
            if (_tty)
            {
                _active[job] = message;
                var line = string.Join(" | ", _active.Select(a => $"{a.Key}: {a.Value}"));
                if (line.Length > 160) line = line[..157] + "...";
                Console.Error.Write($"\r\u001b[2K[{_clock.Elapsed:mm\\:ss}] {line}");
            }
            else
            {
                Console.Error.WriteLine($"[{_clock.Elapsed:mm\\:ss}] {job}: {message}");
            }
        }
    }

    public void Done(string job)
    {
        lock (_lock)
        {
            _active.Remove(job);
            if (_tty) Console.Error.Write("\r\u001b[2K");
        }
    }

    /// <summary>Detail only shown with --verbose (container output, image build lines).</summary>
    public void Detail(string job, string message)
    {
        if (!verbose) return;
        lock (_lock)
        {
            if (_tty) Console.Error.Write("\r\u001b[2K");
            Console.Error.WriteLine($"{job}: {message}");
        }
    }
}
