using System.Net;
using System.Net.Sockets;

namespace OsVenvArtifacts.TestSupport;

/// <summary>
/// Serves a directory read-only over HTTP on loopback, as nginx serves an osva mirror; enough for GET and HEAD.
/// Paths that leave the directory or name hidden files answer 404.
/// </summary>
public sealed class PublishStaticHttpServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly string _root;
    private readonly Task _loop;

    public PublishStaticHttpServer(string root)
    {
        _root = Path.GetFullPath(root);
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}/";

    public static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }
            using var response = context.Response;
            var relative = Uri.UnescapeDataString(context.Request.Url!.AbsolutePath).TrimStart('/');
            var path = Path.GetFullPath(Path.Combine(_root, relative));
            if (!path.StartsWith(_root + "/", StringComparison.Ordinal) || relative.Split('/').Any(p => p.StartsWith('.')) || !File.Exists(path))
            {
                response.StatusCode = 404;
                continue;
            }
            response.ContentLength64 = new FileInfo(path).Length;
            if (context.Request.HttpMethod == "GET")
            {
                await using var file = File.OpenRead(path);
                await file.CopyToAsync(response.OutputStream);
            }
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); }
        catch (AggregateException) { }
    }
}
