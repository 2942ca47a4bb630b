using System.Net;
using System.Net.Sockets;
using Amazon.S3.Model;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>The same store read from real s3rver and from a plain HTTP mirror (python3 -m http.server) through the CLI.</summary>
public sealed class StoreSourceTests
{
    [S3Fact]
    public async Task Install_from_s3_with_credentials_from_the_environment()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        var prefix = $"osva-it-installer/{Guid.NewGuid():N}";
        using (var s3 = S3Settings.FromEnvironment(TestEnvironment.S3Endpoint).CreateClient())
        {
            Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", TestEnvironment.S3AccessKey);
            Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", TestEnvironment.S3SecretKey);
            foreach (var file in Directory.EnumerateFiles(host.Store, "*", SearchOption.AllDirectories))
            {
                await s3.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = TestEnvironment.S3Bucket,
                    Key = $"{prefix}/{Path.GetRelativePath(host.Store, file)}",
                    FilePath = file,
                    UseChunkEncoding = false,
                });
            }
        }

        var run = await Cli.RunWithEnvAsync(new Dictionary<string, string> { ["AWS_ACCESS_KEY_ID"] = TestEnvironment.S3AccessKey, ["AWS_SECRET_ACCESS_KEY"] = TestEnvironment.S3SecretKey },
            "install", "demo", "1.0.0", "--store", $"s3://{TestEnvironment.S3Bucket}/{prefix}", "--s3-endpoint", TestEnvironment.S3Endpoint, "--root", host.Root);

        using (var s3 = S3Settings.FromEnvironment(TestEnvironment.S3Endpoint).CreateClient())
        {
            foreach (var file in Directory.EnumerateFiles(host.Store, "*", SearchOption.AllDirectories))
            {
                await s3.DeleteObjectAsync(TestEnvironment.S3Bucket, $"{prefix}/{Path.GetRelativePath(host.Store, file)}");
            }
        }
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(File.Exists(host.OnDisk("/openstack/venvs/demo-1.0.0/bin/osva-hello")));
    }

    [Fact]
    public async Task Install_from_an_http_mirror()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        var port = FreePort();
        using var server = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("python3", ["-m", "http.server", "--bind", "127.0.0.1", port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            WorkingDirectory = host.Store, RedirectStandardError = true, RedirectStandardOutput = true,
        })!;
        try
        {
            await WaitForPortAsync(port);
            var run = await Cli.RunAsync("install", "demo", "1.0.0", "--store", $"http://127.0.0.1:{port}/", "--root", host.Root, "--json");

            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Contains("\"changed\": true", run.Stdout, StringComparison.Ordinal);
            Assert.True(File.Exists(host.OnDisk("/openstack/venvs/demo-1.0.0/bin/osva-hello")));
        }
        finally
        {
            server.Kill();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForPortAsync(int port)
    {
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        throw new TimeoutException($"http.server did not listen on {port}");
    }
}
