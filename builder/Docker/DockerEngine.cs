using System.Net.Sockets;
using Docker.DotNet;
using Docker.DotNet.Models;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Builder.Docker;

/// <summary>
/// The Docker engine as the builder uses it: ping, images, and short-lived containers driven through the
/// archive API. One per engine: DOCKER_HOST, else the local unix socket, or each <c>--engine</c> of a build.
/// </summary>
internal sealed class DockerEngine : IDisposable
{
    private readonly DockerClient _client;

    private DockerEngine(string name)
    {
        Name = name;
        _client = new DockerClientConfiguration(new Uri(name), defaultTimeout: Timeout.InfiniteTimeSpan).CreateClient();
    }

    /// <summary>The engine's URI as the user gave it (or DOCKER_HOST, or the local socket): what messages name.</summary>
    public string Name { get; }

    public DockerClient Client => _client;

    /// <summary>Names of the containers this process creates start with this (OSVA_BUILD_NAME_PREFIX, default "osva-build-").</summary>
    public static string NamePrefix =>
        Environment.GetEnvironmentVariable("OSVA_BUILD_NAME_PREFIX") is { Length: > 0 } p ? p : "osva-build-";

    /// <summary>The engine of DOCKER_HOST, else the local unix socket.</summary>
    public static string DefaultName =>
        Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } h ? h : "unix:///var/run/docker.sock";

    /// <summary>Connects and pings, so a stopped engine is one clear error before any work starts.</summary>
    public static Task<DockerEngine> ConnectAsync(CancellationToken ct)
    {
        var name = DefaultName;
        CheckUri(name, Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } ? "DOCKER_HOST=" : "--engine ");
        return PingAsync(new DockerEngine(name), e => NotReachable(name, e), ct);
    }

    /// <summary>Connects to an engine named with <c>--engine</c> (unix:// or tcp://) and pings it.</summary>
    public static Task<DockerEngine> ConnectAsync(string uri, CancellationToken ct)
    {
        CheckUri(uri, "--engine ");
        return PingAsync(new DockerEngine(uri), e => new BuilderException("OSVA-B101",
            $"the Docker engine {uri} does not answer ({Innermost(e).Message})",
            $"start that engine, or leave out --engine {uri}", ExitCode.BuildFailed, e), ct);
    }

    private static async Task<DockerEngine> PingAsync(DockerEngine engine, Func<Exception, BuilderException> notReachable, CancellationToken ct)
    {
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
            throw notReachable(e);
        }
    }

    /// <summary>
    /// Docker.DotNet speaks to unix sockets and plain TCP only; ssh:// (what the docker CLI accepts) is refused with the
    /// way round it: a local socket forwarded to the remote one.
    /// </summary>
    private static void CheckUri(string uri, string given)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("unix" or "tcp" or "ssh"))
        {
            throw new BuilderException("OSVA-B100", $"{given}{uri}: not an engine URI",
                "use unix:///path/to/docker.sock or tcp://host:port", ExitCode.Usage);
        }
        if (parsed.Scheme == "ssh")
        {
            var socket = $"/run/osva-engine-{parsed.Host}.sock";
            throw new BuilderException("OSVA-B100", $"{given}{uri}: ssh:// engines are not supported (Docker.DotNet has no SSH transport)",
                $"forward the remote socket and pass it: ssh -nNT -L {socket}:/var/run/docker.sock {(parsed.Port > 0 ? $"-p {parsed.Port} " : "")}"
                + $"{(parsed.UserInfo.Length > 0 ? parsed.UserInfo + "@" : "")}{parsed.Host} & then --engine unix://{socket}",
                ExitCode.Usage);
        }
        if (parsed.Scheme == "unix" ? parsed.Host.Length > 0 || parsed.AbsolutePath.Length < 2 : parsed.Port <= 0)
        {
            throw new BuilderException("OSVA-B100", $"{given}{uri}: not an engine URI",
                "use unix:///path/to/docker.sock or tcp://host:port", ExitCode.Usage);
        }
    }

    /// <summary>True when the engine still answers a ping within 5 s: tells a failed build from an engine that went away.</summary>
    public async Task<bool> AnswersAsync(CancellationToken ct)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await _client.System.PingAsync(timeout.Token);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// What tells two engines apart: host name, data root and ID together. The ID alone does not (dockerd 20.10 derives it
    /// from /etc/docker/key.json, which every daemon on a host shares).
    /// </summary>
    public async Task<string> IdentityAsync(CancellationToken ct)
    {
        var info = await _client.System.GetSystemInfoAsync(ct);
        return $"{info.Name}:{info.DockerRootDir} ({info.ID})";
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

    /// <summary>The image as <c>docker save</c> writes it (layers, config and tag), streamed from the engine.</summary>
    public Task<Stream> SaveImageAsync(string name, CancellationToken ct) => _client.Images.SaveImageAsync(name, ct);

    /// <summary>Loads a <c>docker save</c> tar; throws with the engine's own message when it refuses it.</summary>
    public async Task LoadImageAsync(Stream tar, CancellationToken ct)
    {
        var errors = new List<string>();
        var progress = new SyncProgress<JSONMessage>(m =>
        {
            if ((m.Error?.Message ?? m.ErrorMessage) is { Length: > 0 } error) errors.Add(error.Trim());
        });
        await _client.Images.LoadImageAsync(new ImageLoadParameters { Quiet = true }, tar, progress, ct);
        if (errors.Count > 0) throw new IOException(errors[^1]);
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
