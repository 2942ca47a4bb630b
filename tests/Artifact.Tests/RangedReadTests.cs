using Amazon.S3;
using Amazon.S3.Model;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Artifact.Tests;

/// <summary>Continuing a broken transfer: every store reader opens a key from an offset, or says to start over.</summary>
public sealed class RangedReadTests
{
    private static readonly byte[] Content = [.. Enumerable.Range(0, 200_000).Select(i => (byte)(i * 7))];

    [Fact]
    public async Task Directory_reader_continues_from_an_offset_and_refuses_one_past_the_end()
    {
        using var dir = new TempDirectory("ranged");
        Directory.CreateDirectory(dir.Combine("nova"));
        await File.WriteAllBytesAsync(dir.Combine("nova", "a.bin"), Content);
        using var reader = new DirectoryStoreReader(StoreLocation.Parse(dir.Path));

        await AssertContinuesAsync(reader, "nova/a.bin");
    }

    [S3Fact]
    public async Task S3_reader_continues_with_a_ranged_get_against_a_real_server()
    {
        var prefix = $"ranged-{Guid.NewGuid():N}";
        var location = StoreLocation.Parse($"s3://{TestEnvironment.S3Bucket}/{prefix}");
        using var client = new AmazonS3Client(TestEnvironment.S3AccessKey, TestEnvironment.S3SecretKey,
            new AmazonS3Config { ServiceURL = TestEnvironment.S3Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });
        await client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = location.Bucket, Key = location.Prefix + "nova/a.bin", InputStream = new MemoryStream(Content), UseChunkEncoding = false,
        });
        using var reader = new S3StoreReader(location, client);

        try
        {
            await AssertContinuesAsync(reader, "nova/a.bin");
        }
        finally
        {
            await client.DeleteObjectAsync(location.Bucket, location.Prefix + "nova/a.bin");
        }
    }

    private static async Task AssertContinuesAsync(IStoreReader reader, string key)
    {
        await using (var rest = await reader.OpenReadFromAsync(key, 123_457, CancellationToken.None))
        {
            Assert.NotNull(rest);
            var copy = new MemoryStream();
            await rest.CopyToAsync(copy);
            Assert.Equal(Content.AsSpan(123_457).ToArray(), copy.ToArray());
        }
        Assert.Null(await reader.OpenReadFromAsync(key, Content.Length + 10, CancellationToken.None));
    }
}
