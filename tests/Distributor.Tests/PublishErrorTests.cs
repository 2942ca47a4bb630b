using System.Diagnostics;
using System.Net;
using System.Text;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Distributor.Tests;

/// <summary>
/// What a release engineer sees when the store cannot be used: one line with a code and a hint, no stack trace,
/// no secret, a non-zero exit. The real binary against the real s3rver wherever s3rver can produce the failure.
/// </summary>
public sealed class PublishErrorTests : IDisposable
{
    private const string Secret = "osva-test-secret-that-must-never-be-printed";

    private readonly TempDirectory _work = new("publish-errors");

    private static Dictionary<string, string> Credentials(string key = TestEnvironment.S3AccessKey) => new()
    {
        ["AWS_ACCESS_KEY_ID"] = key,
        ["AWS_SECRET_ACCESS_KEY"] = Secret,
        ["AWS_EC2_METADATA_DISABLED"] = "true",
    };

    private async Task<PublishTestArtifact> ArtifactAsync() => await PublishTestArtifacts.WriteSmallAsync(_work.Combine("out"), "nova", "31.0.0");

    private static string OneLine(ProcessResult result, ExitCode exit, string code)
    {
        Assert.True(result.ExitCode == (int)exit, result.ToString());
        var line = Assert.Single(PublishCli.Lines(result.Stderr));
        Assert.Contains(code, line);
        Assert.Contains("(hint: ", line);
        Assert.DoesNotContain(Secret, result.Stderr + result.Stdout);
        Assert.DoesNotContain("   at ", result.Stderr);
        return line;
    }

    // s3rver checks access key ids (unknown -> InvalidAccessKeyId) but not v4 signatures, so a wrong key id is the wrong credential it can refuse.
    [S3Fact]
    public async Task Wrong_access_key_is_one_line_naming_the_credentials_and_never_the_secret()
    {
        var artifact = await ArtifactAsync();

        var result = await PublishCli.RunAsync(["publish", artifact.Directory, "--store", $"s3://{TestEnvironment.S3Bucket}/errors", "--s3-endpoint", TestEnvironment.S3Endpoint],
            Credentials("OSVA-NO-SUCH-KEY"));

        var line = OneLine(result, ExitCode.StoreError, "OSVA-S011");
        Assert.Contains("InvalidAccessKeyId", line);
        Assert.Contains("AWS_ACCESS_KEY_ID", line);
    }

    [S3Fact]
    public async Task Missing_bucket_is_one_line_naming_the_bucket()
    {
        var artifact = await ArtifactAsync();

        var result = await PublishCli.RunAsync(["publish", artifact.Directory, "--store", "s3://osva-no-such-bucket/x", "--s3-endpoint", TestEnvironment.S3Endpoint],
            Credentials());

        Assert.Contains("osva-no-such-bucket", OneLine(result, ExitCode.StoreError, "OSVA-S010"));
    }

    // As a release engineer's shell with the endpoint exported and no keys: nothing but PATH, HOME and the endpoint.
    [S3Fact]
    public async Task An_endpoint_without_credentials_is_one_line_saying_no_credentials_were_found()
    {
        var artifact = await ArtifactAsync();
        var home = _work.Combine("home");
        Directory.CreateDirectory(home);

        var result = await ProcessRunner.RunAsync("env", ["-i", $"PATH={Environment.GetEnvironmentVariable("PATH")}", $"HOME={home}",
            $"AWS_ENDPOINT_URL={TestEnvironment.S3Endpoint}", "dotnet", PublishCli.Dll, "publish", artifact.Directory, "--store", $"s3://{TestEnvironment.S3Bucket}/no-credentials"],
            timeout: TimeSpan.FromMinutes(3));

        var line = OneLine(result, ExitCode.StoreError, "OSVA-S014");
        Assert.Contains("AWS_ACCESS_KEY_ID", line);
        Assert.DoesNotContain("TornRead", result.Stderr);
    }

    [Fact]
    public async Task Unreachable_endpoint_is_one_line_naming_the_endpoint_option()
    {
        var artifact = await ArtifactAsync();
        var closedPort = PublishStaticHttpServer.FreePort();
        var clock = Stopwatch.StartNew();

        var result = await PublishCli.RunAsync(["publish", artifact.Directory, "--store", "s3://osva-test/x", "--s3-endpoint", $"http://127.0.0.1:{closedPort}"],
            Credentials());

        Assert.Contains("--s3-endpoint", OneLine(result, ExitCode.StoreError, "OSVA-S013"));
        Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), $"took {clock.Elapsed} to give up on a closed port");
    }

    [Fact]
    public async Task Access_denied_names_every_S3_action_publish_needs_mocked_because_s3rver_cannot_deny()
    {
        var artifact = await ArtifactAsync();
        using var denying = new DenyingS3Server();

        var result = await PublishCli.RunAsync(["publish", artifact.Directory, "--store", "s3://osva-test/x", "--s3-endpoint", denying.Url], Credentials());

        var line = OneLine(result, ExitCode.StoreError, "OSVA-S012");
        foreach (var action in new[] { "s3:GetObject", "s3:PutObject", "s3:ListBucket", "arn:aws:s3:::osva-test/*" }) Assert.Contains(action, line);
    }

    [Fact]
    public async Task A_tampered_local_archive_is_refused_before_anything_is_uploaded()
    {
        var artifact = await ArtifactAsync();
        var bytes = await File.ReadAllBytesAsync(artifact.ArchivePath);
        bytes[^9] ^= 0x01;
        await File.WriteAllBytesAsync(artifact.ArchivePath, bytes);
        var store = _work.Combine("store");

        var result = await PublishCli.RunAsync(["publish", artifact.Directory, "--store", store], Credentials());

        var line = OneLine(result, ExitCode.VerificationFailed, "OSVA-P005");
        Assert.Contains(artifact.ArchiveSha256, line);
        Assert.Contains(Sha256.Of(bytes), line);
        Assert.False(Directory.Exists(store) && Directory.EnumerateFiles(store, "*", SearchOption.AllDirectories).Any());
    }

    [Fact]
    public async Task Publishing_to_an_http_mirror_is_refused_as_read_only()
    {
        var artifact = await ArtifactAsync();

        var result = await PublishCli.RunAsync(["publish", artifact.Directory, "--store", "http://127.0.0.1:9/osva"], Credentials());

        OneLine(result, ExitCode.Usage, "OSVA-P050");
    }

    public void Dispose() => _work.Dispose();

    /// <summary>Answers every request as S3 does for a principal without permission: 403 AccessDenied.</summary>
    private sealed class DenyingS3Server : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _loop;

        public DenyingS3Server()
        {
            Url = $"http://127.0.0.1:{PublishStaticHttpServer.FreePort()}";
            _listener.Prefixes.Add(Url + "/");
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext context;
                    try { context = await _listener.GetContextAsync(); }
                    catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
                    using var response = context.Response;
                    response.StatusCode = 403;
                    response.ContentType = "application/xml";
                    if (context.Request.HttpMethod == "HEAD") continue;
                    var body = Encoding.UTF8.GetBytes("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>osva</RequestId></Error>");
                    await response.OutputStream.WriteAsync(body);
                }
            });
        }

        public string Url { get; }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            try { _loop.Wait(TimeSpan.FromSeconds(5)); }
            catch (AggregateException) { }
        }
    }
}
