using System.Net.Sockets;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Builder.Tests;

/// <summary>
/// A second dockerd on this machine (setup/second-engine.sh: its own socket, data root, exec root and pid file, no bridge,
/// no iptables), started for these tests and stopped after them.
/// </summary>
public sealed class SecondEngineFixture : IAsyncLifetime
{
    private static readonly string Script = Path.Combine(TestEnvironment.RepoRoot, "setup", "second-engine.sh");

    public string Uri { get; private set; } = "";

    public ProcessResult? Start { get; private set; }

    public async Task InitializeAsync()
    {
        if (!TestEnvironment.InCi && !TestEnvironment.DockerAnswers()) return;
        Start = await ProcessRunner.RunAsync(Script, ["start"], timeout: TimeSpan.FromMinutes(2));
        Uri = Start.Stdout.Trim();
    }

    public async Task DisposeAsync()
    {
        if (Start is not null) await ProcessRunner.RunAsync(Script, ["stop"], timeout: TimeSpan.FromMinutes(2));
    }
}

[Collection(RealEngineGroup.Name)]
[Trait("Category", "MultiEngine")]
public sealed class MultiEngineBuildTests(BuildFixture fixture, SecondEngineFixture second) : IClassFixture<SecondEngineFixture>
{
    private const string EngineA = $"unix://{TestEnvironment.DockerSocket}";

    /// <summary>file name → (sha256 size status, engine or null) of each line osva-build printed.</summary>
    private static Dictionary<string, (string Result, string? Engine)> Lines(ProcessResult r) => r.Stdout
        .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' '))
        .ToDictionary(p => Path.GetFileName(p[0]), p => ($"{p[1]} {p[2]} {p[3]}", p.Length > 4 ? p[4] : null));

    private static string ErrorLine(ProcessResult r) =>
        Assert.Single(r.Stderr.Split('\n'), l => l.StartsWith("osva-build: error", StringComparison.Ordinal));

    private async Task<string> FirstBuildImageAsync()
    {
        var first = await fixture.FirstBuildAsync();
        Assert.True(first.ExitCode == 0, first.ToString());
        var manifest = Directory.GetFiles(fixture.FirstOut, "demo-*.manifest.json").Single();
        await using var stream = File.OpenRead(manifest);
        return (await Artifact.ArtifactJson.ReadManifestAsync(stream, manifest, CancellationToken.None)).BuildImage.Id;
    }

    private Task<ProcessResult> OnEngineBAsync(params string[] args) => ProcessRunner.RunAsync("docker", ["-H", second.Uri, .. args]);

    private async Task RemoveFromEngineBAsync(string image)
    {
        Assert.True(second.Start!.ExitCode == 0, second.Start.ToString());
        await OnEngineBAsync("image", "rm", "-f", image);
        Assert.NotEqual(0, (await OnEngineBAsync("image", "inspect", image)).ExitCode);
    }

    [DockerFact]
    public async Task Services_spread_over_two_engines_give_the_bytes_one_engine_gives()
    {
        var image = await FirstBuildImageAsync();
        await RemoveFromEngineBAsync(image);
        var output = Path.Combine(fixture.Root, "two-engines");

        var r = await BuildTool.RunAsync(["build", fixture.Release, "--out", output, "--jobs", "1", "--engine", EngineA, "--engine", second.Uri]);

        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = Lines(r);
        var oneEngine = Lines(await fixture.FirstBuildAsync());
        Assert.Equal(3, lines.Count);
        Assert.Equal(oneEngine.ToDictionary(l => l.Key, l => l.Value.Result), lines.ToDictionary(l => l.Key, l => l.Value.Result));
        Assert.All(lines.Values, l => Assert.EndsWith(" built", l.Result, StringComparison.Ordinal));
        Assert.Equal(new[] { EngineA, second.Uri }.Order(StringComparer.Ordinal), lines.Values.Select(l => l.Engine).Distinct().Order(StringComparer.Ordinal));
        // The second engine got the first engine's image itself (same ID, hence the same build key), not one of its own.
        Assert.Contains("loading image", r.Stderr, StringComparison.Ordinal);
        var loaded = await OnEngineBAsync("image", "inspect", "--format", "{{.Id}}", image);
        Assert.True(loaded.ExitCode == 0 && loaded.Stdout.Trim() == image, loaded.ToString());
    }

    [DockerFact]
    public async Task An_engine_that_stops_answering_mid_build_leaves_its_service_to_the_other()
    {
        await FirstBuildImageAsync();
        Assert.True(second.Start!.ExitCode == 0, second.Start.ToString());
        // Engine B through a proxy the test can cut: to osva-build the engine is gone, and B itself stays up for the other tests.
        await using var proxy = new UnixSocketProxy(Path.Combine(fixture.Root, "engine-b.sock"), second.Uri["unix://".Length..]);
        var proxied = $"unix://{proxy.Path}";
        var output = Path.Combine(fixture.Root, "engine-lost");

        var build = BuildTool.RunAsync(["build", fixture.Release, "--out", output, "--jobs", "1", "--engine", EngineA, "--engine", proxied]);
        var cut = false;
        while (!build.IsCompleted && !cut)
        {
            if ((await OnEngineBAsync("ps", "-q", "--filter", "name=osva-bt-")).Stdout.Trim().Length > 0)
            {
                await proxy.CutAsync();
                cut = true;
            }
            else
            {
                await Task.Delay(250);
            }
        }
        var r = await build;
        var left = (await OnEngineBAsync("ps", "-aq", "--filter", "name=osva-bt-")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (left.Length > 0) await OnEngineBAsync(["rm", "-f", .. left]);

        Assert.True(cut, $"no build ever started on engine B\n{r}");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains($"osva-build: engine {proxied} stopped answering", r.Stderr, StringComparison.Ordinal);
        var lines = Lines(r);
        Assert.Equal(Lines(await fixture.FirstBuildAsync()).ToDictionary(l => l.Key, l => l.Value.Result), lines.ToDictionary(l => l.Key, l => l.Value.Result));
        Assert.All(lines.Values, l => Assert.Equal(EngineA, l.Engine));
    }

    [DockerFact]
    public async Task A_cached_release_builds_nothing_and_moves_no_image()
    {
        var image = await FirstBuildImageAsync();
        await RemoveFromEngineBAsync(image);

        var r = await BuildTool.RunAsync(["build", fixture.Release, "--out", fixture.FirstOut, "--engine", EngineA, "--engine", second.Uri]);

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(3, Lines(r).Count);
        Assert.All(Lines(r).Values, l => Assert.Equal((l.Result[..l.Result.LastIndexOf(' ')] + " cached", null), l));
        Assert.NotEqual(0, (await OnEngineBAsync("image", "inspect", image)).ExitCode);
    }

    [DockerFact]
    public async Task An_engine_that_does_not_answer_is_one_line_naming_it_and_nothing_is_written()
    {
        var dead = $"unix:///tmp/osva-bt-dead-{Guid.NewGuid():N}.sock";
        var output = Path.Combine(fixture.Root, "dead-engine");

        var r = await BuildTool.RunAsync(["build", fixture.Release, "--out", output, "--engine", EngineA, "--engine", dead]);

        Assert.Equal(8, r.ExitCode);
        var line = ErrorLine(r);
        Assert.Contains("OSVA-B101", line, StringComparison.Ordinal);
        Assert.Contains($"the Docker engine {dead} does not answer", line, StringComparison.Ordinal);
        Assert.Contains($"leave out --engine {dead}", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output), r.ToString());
    }

    [DockerFact]
    public async Task An_ssh_engine_is_refused_with_the_forwarded_socket_to_use_instead()
    {
        var r = await BuildTool.RunAsync(["build", fixture.Release, "--out", Path.Combine(fixture.Root, "ssh-engine"), "--engine", "ssh://builder2"]);

        Assert.Equal(2, r.ExitCode);
        var line = ErrorLine(r);
        Assert.Contains("OSVA-B100", line, StringComparison.Ordinal);
        Assert.Contains("ssh -nNT -L /run/osva-engine-builder2.sock:/var/run/docker.sock builder2", line, StringComparison.Ordinal);
        Assert.Contains("--engine unix:///run/osva-engine-builder2.sock", line, StringComparison.Ordinal);
    }

    [DockerFact]
    public async Task Two_uris_of_one_engine_are_refused()
    {
        // /var/run is a link to /run on Debian: another name for the same socket, so the same engine.
        var sameSocket = new FileInfo(TestEnvironment.DockerSocket).Directory!.ResolveLinkTarget(returnFinalTarget: true) is { } run
            ? $"unix://{Path.Combine(run.FullName, "docker.sock")}"
            : EngineA;

        var r = await BuildTool.RunAsync(["build", fixture.Release, "--out", Path.Combine(fixture.Root, "same-engine"), "--engine", EngineA, "--engine", sameSocket]);

        Assert.Equal(2, r.ExitCode);
        var line = ErrorLine(r);
        Assert.Contains("OSVA-B103", line, StringComparison.Ordinal);
        Assert.Contains($"--engine {EngineA} and --engine {sameSocket} reach the same Docker engine", line, StringComparison.Ordinal);
    }
}

/// <summary>Forwards a unix socket to another until cut, when every connection through it and the socket itself go.</summary>
internal sealed class UnixSocketProxy : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly CancellationTokenSource _cut = new();
    private readonly List<Socket> _open = [];
    private readonly Task _accepting;

    public UnixSocketProxy(string path, string target)
    {
        Path = path;
        File.Delete(path);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen();
        _accepting = AcceptAsync(target);
    }

    public string Path { get; }

    private async Task AcceptAsync(string target)
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptAsync(_cut.Token);
                var upstream = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                lock (_open)
                {
                    _open.Add(client);
                    _open.Add(upstream);
                }
                await upstream.ConnectAsync(new UnixDomainSocketEndPoint(target), _cut.Token);
                _ = PipeAsync(client, upstream);
                _ = PipeAsync(upstream, client);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Cut.
        }
    }

    private async Task PipeAsync(Socket from, Socket to)
    {
        var buffer = new byte[1 << 16];
        try
        {
            int n;
            while ((n = await from.ReceiveAsync(buffer, SocketFlags.None, _cut.Token)) > 0)
            {
                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _cut.Token);
            }
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Cut, or the other side closed.
        }
    }

    public async Task CutAsync()
    {
        if (_cut.IsCancellationRequested) return;
        await _cut.CancelAsync();
        _listener.Dispose();
        lock (_open)
        {
            foreach (var socket in _open) socket.Dispose();
        }
        File.Delete(Path);
        await _accepting;
    }

    public async ValueTask DisposeAsync()
    {
        await CutAsync();
        _cut.Dispose();
    }
}
