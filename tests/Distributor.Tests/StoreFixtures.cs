using System.Collections.Concurrent;
using Amazon.S3.Model;
using OsVenvArtifacts.TestSupport;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace OsVenvArtifacts.Distributor.Tests;

/// <summary>Marks a test class whose store is the real s3rver, so <see cref="StoreFactAttribute"/> knows to skip it without one.</summary>
public interface IUsesS3;

/// <summary>A store every test gets fresh (its own directory, or its own prefix in the shared bucket), so tests never collide.</summary>
public abstract class PublishStoreFixture : IDisposable
{
    public abstract string Kind { get; }

    /// <summary>A new, empty store location.</summary>
    public abstract string NewLocation();

    /// <summary>The endpoint for S3 stores, null for directories.</summary>
    public virtual string? Endpoint => null;

    /// <summary>Environment for the real binary: credentials for s3rver, never anything secret.</summary>
    public Dictionary<string, string> Environment { get; } = new()
    {
        ["AWS_ACCESS_KEY_ID"] = TestEnvironment.S3AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = TestEnvironment.S3SecretKey,
        ["AWS_EC2_METADATA_DISABLED"] = "true",
    };

    public virtual void Dispose() => GC.SuppressFinalize(this);
}

public sealed class DirectoryStoreFixture : PublishStoreFixture
{
    private readonly TempDirectory _root = new("publish-store");

    public override string Kind => "directory";

    public override string NewLocation() => _root.Combine(Guid.NewGuid().ToString("N")[..12]);

    public override void Dispose()
    {
        _root.Dispose();
        base.Dispose();
    }
}

public sealed class S3StoreFixture : PublishStoreFixture
{
    private readonly string _run = $"osva-publish-tests/{DateTime.UtcNow:yyyyMMddHHmmss}-{Guid.NewGuid().ToString("N")[..8]}";

    public S3StoreFixture()
    {
        // In-process stores read credentials from the standard chain, as the binary does.
        foreach (var (k, v) in Environment) System.Environment.SetEnvironmentVariable(k, v);
    }

    public override string Kind => "s3";

    public override string? Endpoint => TestEnvironment.S3Endpoint;

    public override string NewLocation() => $"s3://{TestEnvironment.S3Bucket}/{_run}/{Guid.NewGuid().ToString("N")[..12]}";

    public override void Dispose()
    {
        if (TestEnvironment.S3Answers()) DeletePrefixAsync(_run + "/").GetAwaiter().GetResult();
        base.Dispose();
    }

    public static async Task DeletePrefixAsync(string prefix)
    {
        using var client = new Artifact.Store.S3Settings(TestEnvironment.S3Endpoint, null, true).CreateClient();
        var keys = new ConcurrentBag<string>();
        string? token = null;
        do
        {
            var page = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = TestEnvironment.S3Bucket, Prefix = prefix, ContinuationToken = token });
            foreach (var o in page.S3Objects ?? []) keys.Add(o.Key);
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (k, ct) => await client.DeleteObjectAsync(TestEnvironment.S3Bucket, k, ct));
    }
}

/// <summary>
/// A fact in a test class body shared by several stores: skipped with the reason when the class uses s3rver and none
/// answers outside CI, never skipped in CI (same rule as <see cref="S3FactAttribute"/>), always run for a directory.
/// </summary>
[XunitTestCaseDiscoverer("OsVenvArtifacts.Distributor.Tests.StoreFactDiscoverer", "OsVenvArtifacts.Distributor.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class StoreFactAttribute : FactAttribute;

public sealed class StoreFactDiscoverer(IMessageSink sink) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var usesS3 = typeof(IUsesS3).IsAssignableFrom(testMethod.TestClass.Class.ToRuntimeType());
        var skip = usesS3 && !TestEnvironment.InCi && !TestEnvironment.S3Answers()
            ? $"no S3 server answers at {TestEnvironment.S3Endpoint}; run ./setup/ensure-env.sh (in CI this test fails instead)"
            : null;
        yield return new StoreTestCase(sink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, skip);
    }
}

public sealed class StoreTestCase : XunitTestCase
{
    private string? _skip;

    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public StoreTestCase() { }

    public StoreTestCase(IMessageSink sink, TestMethodDisplay display, TestMethodDisplayOptions options, ITestMethod method, string? skip)
        : base(sink, display, options, method) => _skip = skip;

    protected override string? GetSkipReason(IAttributeInfo factAttribute) => _skip ?? base.GetSkipReason(factAttribute);

    public override void Serialize(IXunitSerializationInfo data)
    {
        base.Serialize(data);
        data.AddValue("StoreSkip", _skip);
    }

    public override void Deserialize(IXunitSerializationInfo data)
    {
        _skip = data.GetValue<string?>("StoreSkip");
        base.Deserialize(data);
    }
}
