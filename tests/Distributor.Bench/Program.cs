using System.Diagnostics;
using System.Globalization;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Distributor.Bench;

/// <summary>
/// Publishes one large artifact to s3rver with osva-publish and copies the same archive with Debian's
/// <c>aws s3 cp</c> to the same server, in one run, and prints both throughputs and their ratio.
/// Usage: osva-publish-bench [SIZE_MB] (default 500). Endpoint from OSVA_S3_PORT like the tests.
/// </summary>
internal static class Program
{
    private const string Aws = "/usr/bin/aws";

    public static async Task<int> Main(string[] args)
    {
        var megabytes = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 500;
        if (!File.Exists(Aws))
        {
            await Console.Error.WriteLineAsync($"bench: {Aws} is missing; run tests/Distributor.Bench/run.sh (it installs Debian's awscli)");
            return 2;
        }
        if (!TestEnvironment.S3Answers())
        {
            await Console.Error.WriteLineAsync($"bench: no S3 server at {TestEnvironment.S3Endpoint}; run ./setup/ensure-env.sh");
            return 2;
        }

        using var work = new TempDirectory("publish-bench");
        var run = $"bench/{DateTime.UtcNow:yyyyMMddHHmmss}-{Guid.NewGuid().ToString("N")[..6]}";
        var env = new Dictionary<string, string>
        {
            ["AWS_ACCESS_KEY_ID"] = TestEnvironment.S3AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = TestEnvironment.S3SecretKey,
            ["AWS_DEFAULT_REGION"] = "us-east-1",
            ["AWS_EC2_METADATA_DISABLED"] = "true",
            ["AWS_PAGER"] = "",
        };

        Console.WriteLine($"bench: generating a {megabytes} MB artifact (streamed, incompressible)");
        var artifact = await PublishTestArtifacts.WriteLargeAsync(work.Combine("out"), "bench", "1.0.0", megabytes << 20);
        var size = artifact.ArchiveSize;

        var publishDll = Path.Combine(AppContext.BaseDirectory, "osva-publish.dll");
        var publish = await TimeAsync("dotnet", [publishDll, "publish", artifact.Directory, "--store", $"s3://{TestEnvironment.S3Bucket}/{run}/osva",
            "--s3-endpoint", TestEnvironment.S3Endpoint], env);
        var aws = await TimeAsync(Aws, ["s3", "cp", "--only-show-errors", "--endpoint-url", TestEnvironment.S3Endpoint, artifact.ArchivePath,
            $"s3://{TestEnvironment.S3Bucket}/{run}/aws/{Path.GetFileName(artifact.ArchivePath)}"], env);

        var osvaRate = size / publish.TotalSeconds / (1 << 20);
        var awsRate = size / aws.TotalSeconds / (1 << 20);
        Console.WriteLine($"bench: archive {size / (double)(1 << 20):0.0} MiB to {TestEnvironment.S3Endpoint}");
        Console.WriteLine($"bench: osva-publish publish  {publish.TotalSeconds,7:0.00} s  {osvaRate,7:0.0} MiB/s  (includes the local sha256 check and index update)");
        Console.WriteLine($"bench: aws s3 cp             {aws.TotalSeconds,7:0.00} s  {awsRate,7:0.0} MiB/s");
        Console.WriteLine($"bench: ratio osva-publish / aws s3 cp = {osvaRate / awsRate:0.00}");

        await ProcessRunner.RunAsync(Aws, ["s3", "rm", "--recursive", "--only-show-errors", "--endpoint-url", TestEnvironment.S3Endpoint,
            $"s3://{TestEnvironment.S3Bucket}/{run}/"], env);
        return 0;
    }

    private static async Task<TimeSpan> TimeAsync(string file, string[] args, Dictionary<string, string> env)
    {
        var clock = Stopwatch.StartNew();
        var result = await ProcessRunner.RunAsync(file, args, env, timeout: TimeSpan.FromMinutes(20));
        clock.Stop();
        if (result.ExitCode != 0) throw new InvalidOperationException($"{file} failed: {result}");
        return clock.Elapsed;
    }
}
