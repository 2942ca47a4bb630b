using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Integration.Tests;

/// <summary>
/// The Update Framework's threats against a real S3 store (s3rver), with the real programs: osva-publish signs the
/// index on every change, and a host whose /etc/osva/osva.conf names the store and trusts the key refuses an unsigned
/// index, a swapped archive, an old index served after a newer one (rollback) and an expired one (freeze), each time
/// with 1.0.0 still active and its sudoers file untouched.
/// </summary>
[Collection(SharedDemoRelease.Name)]
public sealed class SignedIndexOnS3Tests(DemoReleaseFixture release)
{
    [DockerAndS3Fact]
    public async Task Unsigned_index_swapped_artifact_rollback_and_freeze_are_refused_and_the_previous_tag_stays_active()
    {
        release.EnsureBuilt();
        var prefix = $"trust-{Guid.NewGuid():N}";
        var store = $"s3://{TestEnvironment.S3Bucket}/{prefix}";
        var env = OsvaPrograms.S3Environment();
        using var root = new TempDirectory("root");
        Directory.CreateDirectory(root.Combine("etc", "osva"));
        await File.WriteAllTextAsync(root.Combine("etc", "osva", "osva.conf"),
            $"store = {store}\ns3-endpoint = {TestEnvironment.S3Endpoint}\ns3-path-style = true\ntrusted-key = {release.PublicKey}\n");
        using var s3 = new AmazonS3Client(TestEnvironment.S3AccessKey, TestEnvironment.S3SecretKey,
            new AmazonS3Config { ServiceURL = TestEnvironment.S3Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });

        await RunAsync(OsvaPrograms.PublishAsync(["publish", release.OutDir, "--store", store, "--signing-key", release.SigningKey], env));
        // No --store: the host's configuration names it and the key it trusts.
        await RunAsync(OsvaPrograms.InstallAsync(["install", "demo", "1.0.0", "--root", root.Path], env));
        var sudoers = await File.ReadAllTextAsync(root.Combine("etc", "sudoers.d", "demo_osva"));

        async Task RefusedAsync(string code, string reason)
        {
            var result = await OsvaPrograms.InstallAsync(["install", "demo", "2.0.0", "--root", root.Path], env);
            Assert.True(result.ExitCode == 4, result.ToString());
            Assert.Contains(code, result.Stderr, StringComparison.Ordinal);
            Assert.True(result.Stderr.Contains(reason, StringComparison.Ordinal), result.ToString());
            Assert.False(Directory.Exists(root.Combine("openstack", "venvs", "demo-2.0.0")), "nothing of 2.0.0 is unpacked");
            Assert.Equal("1.0.0", await ActiveTagAsync(root));
            Assert.Equal(sudoers, await File.ReadAllTextAsync(root.Combine("etc", "sudoers.d", "demo_osva")));
        }

        var indexKey = $"{prefix}/demo/index.json";
        var signedIndex = await GetAsync(s3, indexKey);
        var signature = await GetAsync(s3, indexKey + ".sig");

        // An index that is not signed by the trusted key.
        await PutAsync(s3, indexKey + ".sig", "bm90IGEgc2lnbmF0dXJl\n"u8.ToArray());
        await RefusedAsync("OSVA-I018", "index.json.sig");
        await PutAsync(s3, indexKey + ".sig", signature);

        // 1.0.0's validly signed archive swapped in under 2.0.0's name.
        var archive = Path.GetFileName(release.ArtifactFile("2.0.0", ".tar.gz"));
        var original = await GetAsync(s3, $"{prefix}/demo/2.0.0/{archive}");
        var swapped = await File.ReadAllBytesAsync(release.ArtifactFile("1.0.0", ".tar.gz"));
        await PutAsync(s3, $"{prefix}/demo/2.0.0/{archive}", swapped);
        // Longer than 2.0.0's manifest states: cut at that size; else it fails its hash.
        await RefusedAsync(swapped.Length > original.Length ? "OSVA-I014" : "OSVA-I010", archive);
        await PutAsync(s3, $"{prefix}/demo/2.0.0/{archive}", original);

        // Rollback: 2.0.0 is yanked (a newer index the host reads), then the old index that still lists it is served again.
        await RunAsync(OsvaPrograms.PublishAsync(["yank", "--store", store, "demo", "2.0.0", "--yes", "--signing-key", release.SigningKey], env));
        await RunAsync(OsvaPrograms.InstallAsync(["install", "demo", "1.0.0", "--root", root.Path], env));
        await PutAsync(s3, indexKey, signedIndex);
        await PutAsync(s3, indexKey + ".sig", signature);
        await RefusedAsync("OSVA-I019", "older than version");

        // Freeze: a correctly signed index whose expiry has passed.
        await RunAsync(OsvaPrograms.PublishAsync(["sign-index", "--store", store, "demo", "--signing-key", release.SigningKey, "--index-expires", "1s"], env));
        await Task.Delay(TimeSpan.FromSeconds(2));
        await RefusedAsync("OSVA-I019", "expired at");
    }

    private static async Task RunAsync(Task<ProcessResult> run)
    {
        var result = await run;
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    private static async Task<byte[]> GetAsync(AmazonS3Client s3, string key)
    {
        using var response = await s3.GetObjectAsync(TestEnvironment.S3Bucket, key);
        using var buffer = new MemoryStream();
        await response.ResponseStream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    private static Task<PutObjectResponse> PutAsync(AmazonS3Client s3, string key, byte[] data) =>
        s3.PutObjectAsync(new PutObjectRequest { BucketName = TestEnvironment.S3Bucket, Key = key, InputStream = new MemoryStream(data), UseChunkEncoding = false });

    private static async Task<string?> ActiveTagAsync(TempDirectory root)
    {
        await using var state = File.OpenRead(root.Combine("var", "lib", "osva", "demo.json"));
        using var json = await JsonDocument.ParseAsync(state);
        return json.RootElement.GetProperty("active").GetString();
    }
}
