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
        for (var i = 0; i < 100 && !Answers(); i++) await Task.Delay(100);
        Assert.True(Answers(), $"private s3rver did not start on {Endpoint}");
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

    public void Dispose()
    {
        KillServer();
        _work.Dispose();
    }
}
