using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OsVenvArtifacts.TestSupport;

/// <summary>How <see cref="InstallRangeHttpServer"/> answers a GET with a <c>Range</c> header.</summary>
public enum InstallRangeMode
{
    /// <summary>206 with the bytes asked for, as nginx serves static files.</summary>
    Honour,
    /// <summary>200 with the whole file, as a server without range support (python3 -m http.server).</summary>
    Ignore,
    /// <summary>416 Range Not Satisfiable, as for a file that shrank since the partial download.</summary>
    Refuse,
    /// <summary>206 but from byte 0, a range other than the one asked for.</summary>
    Misplace,
}

/// <summary>One request the server saw.</summary>
public sealed record InstallHttpRequest(string Method, string Path, string? Range);

/// <summary>
/// Serves a directory on loopback over HTTP/1.1, one request per connection, with byte ranges answered as
/// <see cref="InstallRangeMode"/> says. It can cut the connection after some bytes of a file's body (the headers
/// promise the whole length, so the client sees a transfer that broke), and it records every request it saw.
/// </summary>
public sealed class InstallRangeHttpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _root;
    private readonly InstallRangeMode _mode;
    private readonly Task _loop;
    private readonly ConcurrentQueue<InstallHttpRequest> _requests = new();
    private int _cutsLeft;
    private bool _stall;
    private readonly CancellationTokenSource _stopping = new();

    public InstallRangeHttpServer(string root, InstallRangeMode mode = InstallRangeMode.Honour)
    {
        _root = Path.GetFullPath(root);
        _mode = mode;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _loop = Task.Run(AcceptAsync);
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}/";

    public IReadOnlyList<InstallHttpRequest> Requests => [.. _requests];

    /// <summary>Body bytes sent before a cut connection closes.</summary>
    public long CutAfter { get; private set; }

    /// <summary>Path suffix of the files whose transfers are cut.</summary>
    public string CutSuffix { get; private set; } = ".tar.gz";

    /// <summary>Cuts the next <paramref name="times"/> GETs of files ending in <paramref name="suffix"/> after <paramref name="bytes"/> body bytes.</summary>
    public void CutTransfers(long bytes, int times = 1, string suffix = ".tar.gz")
    {
        CutAfter = bytes;
        CutSuffix = suffix;
        _stall = false;
        Volatile.Write(ref _cutsLeft, times);
    }

    /// <summary>Like <see cref="CutTransfers"/>, but the connection then stays open and sends nothing more (a stalled transfer).</summary>
    public void StallTransfers(long bytes, int times = 1, string suffix = ".tar.gz")
    {
        CutTransfers(bytes, times, suffix);
        _stall = true;
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            var (method, path, headers) = await ReadRequestAsync(stream);
            headers.TryGetValue("range", out var range);
            _requests.Enqueue(new InstallHttpRequest(method, path, range));
            await RespondAsync(stream, method, path, range);
            client.Client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // The client went away; nothing to answer.
        }
    }

    private static async Task<(string Method, string Path, Dictionary<string, string> Headers)> ReadRequestAsync(NetworkStream stream)
    {
        // Byte by byte up to the blank line: a GET has no body, and nothing past the headers may be consumed.
        var text = new StringBuilder();
        var one = new byte[1];
        while (!text.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one) == 0) throw new IOException("connection closed before the request ended");
            text.Append((char)one[0]);
        }
        var lines = text.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var first = lines[0].Split(' ');
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim(), StringComparer.Ordinal);
        return (first[0], Uri.UnescapeDataString(first[1].Split('?')[0]), headers);
    }

    private async Task RespondAsync(NetworkStream stream, string method, string path, string? range)
    {
        var relative = path.TrimStart('/');
        var file = Path.GetFullPath(Path.Combine(_root, relative));
        if (method is not ("GET" or "HEAD") || !file.StartsWith(_root + "/", StringComparison.Ordinal)
            || relative.Split('/').Any(p => p.StartsWith('.')) || !File.Exists(file))
        {
            await WriteHeadAsync(stream, "404 Not Found", 0);
            return;
        }
        var length = new FileInfo(file).Length;
        var (from, to) = (0L, length - 1);
        var status = "200 OK";
        string? contentRange = null;
        if (range is not null && _mode != InstallRangeMode.Ignore)
        {
            var asked = ParseRange(range, length);
            if (_mode == InstallRangeMode.Refuse || asked is null || asked.Value.From >= length)
            {
                await WriteHeadAsync(stream, "416 Range Not Satisfiable", 0, $"bytes */{length}");
                return;
            }
            (from, to) = _mode == InstallRangeMode.Misplace ? (0L, length - 1) : asked.Value;
            status = "206 Partial Content";
            contentRange = $"bytes {from}-{to}/{length}";
        }
        var count = to - from + 1;
        await WriteHeadAsync(stream, status, count, contentRange);
        if (method == "HEAD") return;
        if (path.EndsWith(CutSuffix, StringComparison.Ordinal) && Interlocked.Decrement(ref _cutsLeft) >= 0)
        {
            count = Math.Min(count, CutAfter);
        }
        await using var content = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        content.Seek(from, SeekOrigin.Begin);
        var buffer = new byte[1 << 16];
        var cut = count < to - from + 1;
        for (var left = count; left > 0;)
        {
            var n = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)));
            if (n == 0) break;
            await stream.WriteAsync(buffer.AsMemory(0, n));
            left -= n;
        }
        await stream.FlushAsync();
        if (cut && _stall)
        {
            try { await Task.Delay(Timeout.Infinite, _stopping.Token); }
            catch (OperationCanceledException) { }
        }
    }

    /// <summary><c>bytes=N-</c> or <c>bytes=N-M</c>; null for anything else (multiple ranges, suffix ranges).</summary>
    private static (long From, long To)? ParseRange(string range, long length)
    {
        if (!range.StartsWith("bytes=", StringComparison.Ordinal)) return null;
        var parts = range["bytes=".Length..].Split('-');
        if (parts.Length != 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var from)) return null;
        if (parts[1].Length == 0) return (from, length - 1);
        return long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var to) && to >= from ? (from, Math.Min(to, length - 1)) : null;
    }

    private static async Task WriteHeadAsync(NetworkStream stream, string status, long contentLength, string? contentRange = null)
    {
        var head = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status}\r\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Length: {contentLength}\r\n")
            .Append("Connection: close\r\n");
        if (contentRange is not null) head.Append(CultureInfo.InvariantCulture, $"Content-Range: {contentRange}\r\n");
        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _listener.Stop();
        _listener.Dispose();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); }
        catch (AggregateException) { }
    }
}
