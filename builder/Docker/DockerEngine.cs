using System.Net.Sockets;
using Docker.DotNet;
using Docker.DotNet.Models;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Builder.Docker;

/// <summary>
/// The Docker engine as the builder uses it: ping, images, and short-lived containers driven through the
/// archive API. Endpoint from DOCKER_HOST, else the local unix socket.
/// </summary>
internal sealed class DockerEngine : IDisposable
{
    private readonly DockerClient _client;

    private DockerEngine(Uri endpoint)
    {
        Endpoint = endpoint;
        _client = new DockerClientConfiguration(endpoint, defaultTimeout: Timeout.InfiniteTimeSpan).CreateClient();
    }

    public Uri Endpoint { get; }

    public DockerClient Client => _client;

    /// <summary>Names of the containers this process creates start with this (OSVA_BUILD_NAME_PREFIX, default "osva-build-").</summary>
    public static string NamePrefix =>
        Environment.GetEnvironmentVariable("OSVA_BUILD_NAME_PREFIX") is { Length: > 0 } p ? p : "osva-build-";

    /// <summary>Connects and pings, so a stopped engine is one clear error before any work starts.</summary>
    public static async Task<DockerEngine> ConnectAsync(CancellationToken ct)
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } h ? h : "unix:///var/run/docker.sock";
        var engine = new DockerEngine(new Uri(host));
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(15));
            await engine._client.System.PingAsync(timeout.Token);
            return engine;
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            engine.Dispose();
            throw NotReachable(host, e);
        }
    }

    public static BuilderException NotReachable(string host, Exception e) => new("OSVA-B001",
        $"the Docker engine at {host} does not answer ({Innermost(e).Message})",
        "start dockerd (./setup/ensure-env.sh does) or point DOCKER_HOST at a running engine", ExitCode.BuildFailed, e);

    /// <summary>The image's ID, or null when no image has that name.</summary>
    public async Task<string?> TryInspectImageAsync(string name, CancellationToken ct)
    {
        try
        {
            return (await _client.Images.InspectImageAsync(name, ct)).ID;
        }
        catch (DockerImageNotFoundException)
        {
            return null;
        }
    }

    public async Task<string> CreateContainerAsync(CreateContainerParameters parameters, CancellationToken ct) =>
        (await _client.Containers.CreateContainerAsync(parameters, ct)).ID;

    /// <summary>Removes a container even when the caller was cancelled, so nothing is left behind.</summary>
    public async Task RemoveContainerAsync(string id)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await _client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, cts.Token);
        }
        catch (Exception e) when (e is DockerContainerNotFoundException or DockerApiException or HttpRequestException or OperationCanceledException)
        {
            // Best effort: the build's own error is the one worth reporting.
        }
    }

    public Task PutArchiveAsync(string id, string path, Stream tar, CancellationToken ct) =>
        _client.Containers.ExtractArchiveToContainerAsync(id, new ContainerPathStatParameters { Path = path, AllowOverwriteDirWithFile = false }, tar, ct);

    /// <summary>
    /// The engine's tar of <paramref name="path"/>, spooled to a temp file first: Docker.DotNet's chunked
    /// response stream fails with EndOfStreamException when TarReader reads it in entry-sized pieces.
    /// </summary>
    public async Task<Stream> GetArchiveAsync(string id, string path, CancellationToken ct)
    {
        var response = await _client.Containers.GetArchiveFromContainerAsync(id, new GetArchiveFromContainerParameters { Path = path }, statOnly: false, ct);
        var spool = new FileStream(Path.Combine(Path.GetTempPath(), $"osva-build-archive-{Guid.NewGuid():N}.tar"), FileMode.CreateNew,
            FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
        try
        {
            await using (response.Stream) await response.Stream.CopyToAsync(spool, 1 << 16, ct);
            spool.Position = 0;
            return spool;
        }
        catch
        {
            await spool.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the container, waits for its command, and returns its exit code and combined output.</summary>
    public async Task<(long ExitCode, string Log)> RunToCompletionAsync(string id, CancellationToken ct)
    {
        await _client.Containers.StartContainerAsync(id, new ContainerStartParameters(), ct);
        var wait = await _client.Containers.WaitContainerAsync(id, ct);
        using var logs = await _client.Containers.GetContainerLogsAsync(id, tty: false,
            new ContainerLogsParameters { ShowStdout = true, ShowStderr = true }, ct);
        var (stdout, stderr) = await logs.ReadOutputToEndAsync(ct);
        return (wait.StatusCode, stdout + stderr);
    }

    public static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    /// <summary>True for failures that mean the engine went away, as opposed to a failing build step.</summary>
    public static bool IsConnectionFailure(Exception e) => Innermost(e) is SocketException or HttpRequestException or IOException;

    public void Dispose() => _client.Dispose();
}
