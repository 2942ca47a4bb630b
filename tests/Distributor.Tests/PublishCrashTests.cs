using System.Diagnostics;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Distributor.Tests;

/// <summary>
/// The store dies in the middle of a large upload: readers must not see the tag, and publishing again must finish it.
/// Uses a private s3rver (same pinned binary, its own port and data directory) so killing it disturbs no other test.
/// </summary>
public sealed class PublishCrashTests : IDisposable
{
    private readonly TempDirectory _work = new("publish-crash");
    private readonly int _port = PublishStaticHttpServer.FreePort();
    private Process? _server;

    private string Endpoint => $"http://127.0.0.1:{_port}";

    private static readonly Dictionary<string, string> Env = new()
    {
        ["AWS_ACCESS_KEY_ID"] = TestEnvironment.S3AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = TestEnvironment.S3SecretKey,
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        // Many small parts, two at a time, so the upload is surely in flight when the server dies.
        ["OSVA_PUBLISH_MULTIPART_THRESHOLD"] = $"{8 << 20}",
        ["OSVA_PUBLISH_PART_SIZE"] = $"{5 << 20}",
        ["OSVA_PUBLISH_PARALLELISM"] = "2",
    };

    private async Task StartServerAsync()
    {
        var binary = Path.Combine(TestEnvironment.RepoRoot, "setup", "node_modules", ".bin", "s3rver");
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--address", "127.0.0.1", "--port", $"{_port}", "--directory", _work.Combine("s3rver"), "--silent", "--configure-bucket", "osva-crash" })
        {
            info.ArgumentList.Add(a);
        }
        Directory.CreateDirectory(_work.Combine("s3rver"));
        _server = Process.Start(info)!;
        _server.OutputDataReceived += (_, _) => { };
        _server.ErrorDataReceived += (_, _) => { };
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();
        // Node starts slowly on a loaded 2-core machine (10 s was once too short under `make faults`).
        for (var i = 0; i < 600 && !Answers() && !_server.HasExited; i++) await Task.Delay(100);
        Assert.True(Answers(), $"private s3rver did not start on {Endpoint}" + (_server.HasExited ? $" (it exited with {_server.ExitCode})" : ""));
    }

    private bool Answers()
    {
        try
        {
            using var client = new System.Net.Sockets.TcpClient();
            client.Connect("127.0.0.1", _port);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private void KillServer()
    {
        _server?.Kill(entireProcessTree: true);
        _server?.WaitForExit();
        _server?.Dispose();
        _server = null;
    }

    private long StoredBytes() =>
        Directory.EnumerateFiles(_work.Combine("s3rver"), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    private Task<ProcessResult> RunAsync(params string[] args) =>
        PublishCli.RunAsync([.. args, "--store", "s3://osva-crash/releases", "--s3-endpoint", Endpoint], Env);

    [S3Fact]
    public async Task Server_killed_mid_publish_leaves_the_tag_unlisted_and_a_rerun_completes_it()
    {
        var artifact = await PublishTestArtifacts.WriteLargeAsync(_work.Combine("out"), "nova", "31.0.0", 160L << 20);
        await StartServerAsync();

        var publish = RunAsync("publish", artifact.Directory);
        while (StoredBytes() < 30L << 20 && !publish.IsCompleted) await Task.Delay(20);
        Assert.False(publish.IsCompleted, $"publish finished before the server could be killed: {(publish.IsCompleted ? publish.Result : null)}");
        KillServer();
        var interrupted = await publish;

        Assert.NotEqual(0, interrupted.ExitCode);
        Assert.Contains("OSVA-S", Assert.Single(PublishCli.Lines(interrupted.Stderr)));

        await StartServerAsync();
        var listed = await RunAsync("list", "nova");
        Assert.Equal((int)ExitCode.StoreError, listed.ExitCode);
        Assert.Contains("OSVA-P052", listed.Stderr);

        var rerun = await RunAsync("publish", artifact.Directory);
        Assert.True(rerun.ExitCode == 0, rerun.ToString());
        Assert.StartsWith("published", rerun.Stdout);
        var after = await RunAsync("list", "nova");
        Assert.Contains($"31.0.0\t{PublishTestArtifacts.DefaultPlatform}\t{artifact.ArchiveSha256}", after.Stdout);
        var verify = await RunAsync("verify", "nova", "31.0.0");
        Assert.True(verify.ExitCode == 0, verify.ToString());
    }

    private static int Kills => int.TryParse(Environment.GetEnvironmentVariable("OSVA_FAULT_KILLS"), out var n) ? n : 1;

    [S3Fact]
    public async Task The_publisher_killed_at_any_point_of_an_upload_to_s3_never_lists_a_tag_whose_files_are_missing()
    {
        await StartServerAsync();
        await KillRunsAsync("publish-s3", ["--store", "s3://osva-crash/releases", "--s3-endpoint", Endpoint], store: null);
    }

    [Fact]
    public async Task The_publisher_killed_at_any_point_of_a_copy_to_a_directory_never_lists_a_tag_whose_files_are_missing()
    {
        var store = _work.Combine("store");
        Directory.CreateDirectory(store);
        await KillRunsAsync("publish-dir", ["--store", store], store);
    }

    [Fact]
    public async Task Publishing_again_removes_the_temp_file_a_killed_publisher_left_in_a_directory_store()
    {
        var store = _work.Combine("store");
        var artifact = await PublishTestArtifacts.WriteLargeAsync(_work.Combine("out"), "nova", "1.0.0", 1L << 20);
        var gone = Process.Start("true")!;
        await gone.WaitForExitAsync();
        var folder = Path.Combine(store, "nova", "1.0.0");
        Directory.CreateDirectory(folder);
        var killed = Path.Combine(folder, $".{artifact.Id.ArchiveFileName}.{gone.Id}.{Guid.NewGuid():N}.tmp");
        await File.WriteAllBytesAsync(killed, new byte[4096]);

        var publish = await PublishCli.RunAsync(["publish", artifact.Directory, "--store", store], Env);

        Assert.True(publish.ExitCode == 0, publish.ToString());
        Assert.False(File.Exists(killed), "the dead publisher's temp file is left");
        Assert.Empty(Directory.EnumerateFiles(store, ".*.tmp", SearchOption.AllDirectories));
    }

    /// <summary>
    /// Publishes one tag unkilled to time it, then <see cref="Kills"/> new tags, each killed after a random share of that
    /// time: every tag the store then lists must verify, and publishing the same tag again must complete it and verify,
    /// leaving no temp file in a directory store.
    /// </summary>
    private async Task KillRunsAsync(string stage, string[] storeArgs, string? store)
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var first = await PublishTestArtifacts.WriteLargeAsync(_work.Combine("out", "0"), "nova", "1.0.0", 12L << 20);
        var timer = Stopwatch.StartNew();
        var full = await PublishCli.RunAsync(["publish", first.Directory, .. storeArgs], Env);
        var duration = timer.Elapsed;
        Assert.True(full.ExitCode == 0, full.ToString());

        var (midTransaction, broken, leftovers) = (0, 0, 0);
        var failures = new List<string>();
        for (var run = 1; run <= Kills; run++)
        {
            var tag = $"1.0.{run}";
            var artifact = await PublishTestArtifacts.WriteLargeAsync(_work.Combine("out", $"{run}"), "nova", tag, 12L << 20);
            var delay = TimeSpan.FromMilliseconds(random.NextDouble() * duration.TotalMilliseconds);
            var finished = await RunAndKillAsync(["publish", artifact.Directory, .. storeArgs], delay);
            var context = $"seed {seed}, run {run}, publish {tag} killed after {delay.TotalMilliseconds:0} ms (finished: {finished})";

            var listed = await PublishCli.RunAsync(["list", "nova", .. storeArgs], Env);
            var problems = listed.ExitCode == 0 ? [] : new List<string> { $"list: {listed}" };
            var tags = PublishCli.Lines(listed.Stdout).Select(l => l.Split('\t')[0]).ToList();
            if (!finished && !tags.Contains(tag) && HasBytesOf(store, tag)) midTransaction++;
            // Only the killed tag can be incomplete; 1.0.0 stands for the tags published before it.
            foreach (var shown in tags.Intersect([tag, "1.0.0"]))
            {
                var verify = await PublishCli.RunAsync(["verify", "nova", shown, .. storeArgs], Env);
                if (verify.ExitCode != 0) problems.Add($"{shown} is listed but does not verify: {verify}");
            }
            if (problems.Count > 0)
            {
                broken++;
                failures.Add($"{context}: {string.Join("; ", problems)}");
            }

            var rerun = await PublishCli.RunAsync(["publish", artifact.Directory, .. storeArgs], Env);
            var left = rerun.ExitCode == 0 ? [] : new List<string> { $"rerun: {rerun}" };
            var after = await PublishCli.RunAsync(["verify", "nova", tag, .. storeArgs], Env);
            if (after.ExitCode != 0) left.Add($"not complete after the rerun: {after}");
            if (store is not null) left.AddRange(Directory.EnumerateFiles(Path.Combine(store, "nova"), ".*.tmp", SearchOption.AllDirectories));
            if (left.Count > 0)
            {
                leftovers++;
                failures.Add($"{context}: after the rerun: {string.Join("; ", left)}");
            }
            Directory.Delete(artifact.Directory, recursive: true);
        }
        TrustLog.Append(new { kind = "kill", stage, runs = Kills, midTransaction, broken, leftovers, seed });
        Console.WriteLine($"{stage} kills: {Kills} over {duration.TotalMilliseconds:0} ms runs, interrupted mid-upload: {midTransaction}, broken: {broken}, leftovers: {leftovers} (seed {seed})");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    /// <summary>Whether any object (or temp file) of <paramref name="tag"/> reached the store: the directory store, or the private s3rver's data.</summary>
    private bool HasBytesOf(string? store, string tag) =>
        Directory.EnumerateFiles(store ?? _work.Combine("s3rver"), "*", SearchOption.AllDirectories).Any(f => f.Contains($"/{tag}/", StringComparison.Ordinal));

    /// <summary>Starts the real osva-publish and sends SIGKILL after <paramref name="delay"/>; true when it finished first.</summary>
    private static async Task<bool> RunAndKillAsync(string[] args, TimeSpan delay)
    {
        var start = new ProcessStartInfo("dotnet", [PublishCli.Dll, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (k, v) in Env) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var exited = process.WaitForExitAsync();
        if (await Task.WhenAny(exited, Task.Delay(delay)) == exited) return true;
        process.Kill(entireProcessTree: true);
        await exited;
        return false;
    }

    public void Dispose()
    {
        KillServer();
        _work.Dispose();
    }
}
