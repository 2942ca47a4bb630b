using System.Buffers;
using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;

namespace OsVenvArtifacts.Distributor.Stores;

/// <summary>How large uploads are cut up. Defaults suit artifacts of a few hundred MB.</summary>
internal sealed record UploadSettings(long MultipartThreshold, int PartSize, int Parallelism)
{
    public static UploadSettings Default { get; } = new(64L << 20, 16 << 20, 4);

    /// <summary>OSVA_PUBLISH_MULTIPART_THRESHOLD / _PART_SIZE / _PARALLELISM (bytes, bytes, count) override the defaults.</summary>
    public static UploadSettings FromEnvironment()
    {
        static long? Read(string name) => long.TryParse(Environment.GetEnvironmentVariable(name), out var v) && v > 0 ? v : null;
        var d = Default;
        return new UploadSettings(
            Read("OSVA_PUBLISH_MULTIPART_THRESHOLD") ?? d.MultipartThreshold,
            (int)Math.Clamp(Read("OSVA_PUBLISH_PART_SIZE") ?? d.PartSize, 5L << 20, 512L << 20),
            (int)Math.Clamp(Read("OSVA_PUBLISH_PARALLELISM") ?? d.Parallelism, 1, 32));
    }
}

/// <summary>
/// An S3 bucket+prefix. Uploads carry the content's sha256 as <c>x-amz-meta-sha256</c> (so a rerun can skip them by a
/// head request) and as <c>x-amz-checksum-sha256</c> (checked by servers that support it). aws-chunked encoding is off:
/// s3rver and some older gateways store its framing as object data.
/// </summary>
internal sealed class S3ObjectStore(StoreLocation location, IAmazonS3 client, UploadSettings upload) : IObjectStore
{
    public const string Sha256MetadataKey = "x-amz-meta-sha256";

    private readonly S3StoreReader _reader = new(location, client);
    private readonly bool _https = client.Config.ServiceURL?.StartsWith("https:", StringComparison.OrdinalIgnoreCase) ?? true;
    private volatile bool _conditionalWrites = true;

    public StoreLocation Location => location;

    public string Bucket => location.Bucket;

    public string ObjectKey(string key) => location.Prefix + key;

    public Task<Stream?> OpenReadFromAsync(string key, long offset, CancellationToken ct) => _reader.OpenReadFromAsync(key, offset, ct);

    public async Task<Stream> OpenReadAsync(string key, CancellationToken ct)
    {
        try
        {
            return await _reader.OpenReadAsync(key, ct);
        }
        catch (OsvaException e) when (e.InnerException is HttpRequestException h)
        {
            throw Fail(h, "read", key);
        }
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken ct)
    {
        try
        {
            return await _reader.ExistsAsync(key, ct);
        }
        catch (OsvaException e) when (e.InnerException is HttpRequestException h)
        {
            throw Fail(h, "read", key);
        }
    }

    /// <summary>
    /// StoreErrors only recognises an unreachable endpoint inside an SDK exception; the SDK v4 throws the raw
    /// HttpRequestException, so it is wrapped first to get the "cannot reach the endpoint" message and hint.
    /// </summary>
    private OsvaException Fail(Exception e, string action, string key) =>
        StoreErrors.FromS3(e is HttpRequestException ? new AmazonClientException(e.Message, e) : e, action, Bucket, ObjectKey(key));

    public async Task<bool> HasContentAsync(string key, long size, string sha256, CancellationToken ct)
    {
        try
        {
            var head = await S3Retry.RunAsync(c => client.GetObjectMetadataAsync(Bucket, ObjectKey(key), c), ct, S3Retry.SmallRequestTimeout);
            // Size as well as the hash: s3rver rewrites objects in place, so a PUT cut off halfway leaves the old metadata on short data.
            return head.ContentLength == size && head.Metadata[Sha256MetadataKey] == sha256;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
        {
            return false;
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException)
        {
            throw Fail(e, "read", key);
        }
    }

    public async Task PutFileAsync(string key, string path, string sha256, IProgress<long>? progress, CancellationToken ct)
    {
        var size = new FileInfo(path).Length;
        try
        {
            if (size < upload.MultipartThreshold) await PutSingleAsync(key, path, sha256, progress, ct);
            else await PutMultipartAsync(key, path, sha256, size, progress, ct);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException)
        {
            throw Fail(e, "write", key);
        }
    }

    private async Task PutSingleAsync(string key, string path, string sha256, IProgress<long>? progress, CancellationToken ct)
    {
        await S3Retry.RunAsync(async c =>
        {
            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
            var request = NewPut(key, file, sha256);
            request.ChecksumSHA256 = Convert.ToBase64String(Convert.FromHexString(sha256));
            long last = 0;
            if (progress is not null)
            {
                request.StreamTransferProgress += (_, e) =>
                {
                    progress.Report(e.TransferredBytes - last);
                    last = e.TransferredBytes;
                };
            }
            return await client.PutObjectAsync(request, c);
        }, ct);
    }

    private async Task PutMultipartAsync(string key, string path, string sha256, long size, IProgress<long>? progress, CancellationToken ct)
    {
        var create = new InitiateMultipartUploadRequest
        {
            BucketName = Bucket,
            Key = ObjectKey(key),
            ContentType = ContentTypes.Of(key),
            ChecksumAlgorithm = ChecksumAlgorithm.SHA256,
        };
        create.Metadata[Sha256MetadataKey] = sha256;
        var started = await S3Retry.RunAsync(c => client.InitiateMultipartUploadAsync(create, c), ct);
        var partCount = (int)((size + upload.PartSize - 1) / upload.PartSize);
        var etags = new PartETag[partCount];
        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
            await Parallel.ForEachAsync(Enumerable.Range(1, partCount),
                new ParallelOptions { MaxDegreeOfParallelism = upload.Parallelism, CancellationToken = ct },
                async (number, c) => etags[number - 1] = await UploadPartAsync(file, key, started.UploadId, number, size, progress, c));
            var complete = new CompleteMultipartUploadRequest
            {
                BucketName = Bucket,
                Key = ObjectKey(key),
                UploadId = started.UploadId,
                PartETags = [.. etags],
            };
            await S3Retry.RunAsync(c => client.CompleteMultipartUploadAsync(complete, c), ct);
        }
        catch
        {
            await AbortQuietlyAsync(key, started.UploadId);
            throw;
        }
    }

    private async Task<PartETag> UploadPartAsync(Microsoft.Win32.SafeHandles.SafeFileHandle file, string key, string uploadId,
        int number, long size, IProgress<long>? progress, CancellationToken ct)
    {
        var offset = (long)(number - 1) * upload.PartSize;
        var length = (int)Math.Min(upload.PartSize, size - offset);
        // A bounded buffer per part in flight (parallelism x part size): the part is hashed once and can be resent on retry.
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var read = 0;
            while (read < length) read += await RandomAccess.ReadAsync(file, buffer.AsMemory(read, length - read), offset + read, ct);
            var partSha = Convert.ToBase64String(SHA256.HashData(buffer.AsSpan(0, length)));
            var response = await S3Retry.RunAsync(async c =>
            {
                using var body = new MemoryStream(buffer, 0, length, writable: false);
                return await client.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = Bucket,
                    Key = ObjectKey(key),
                    UploadId = uploadId,
                    PartNumber = number,
                    InputStream = body,
                    PartSize = length,
                    ChecksumSHA256 = partSha,
                    UseChunkEncoding = false,
                    DisablePayloadSigning = _https,
                }, c);
            }, ct);
            progress?.Report(length);
            return new PartETag { PartNumber = number, ETag = response.ETag, ChecksumSHA256 = partSha };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task AbortQuietlyAsync(string key, string uploadId)
    {
        // Best effort, and short: the server may be the thing that failed. A bucket lifecycle rule cleans up the rest.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await client.AbortMultipartUploadAsync(Bucket, ObjectKey(key), uploadId, timeout.Token);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or OperationCanceledException)
        {
            // Nothing more to do; the upload id is abandoned and invisible to readers.
        }
    }

    public async Task<bool> PutSmallAsync(string key, byte[] data, string? ifMatch, CancellationToken ct)
    {
        try
        {
            return await S3Retry.RunAsync(async c =>
            {
                using var body = new MemoryStream(data, writable: false);
                var request = NewPut(key, body, OsVenvArtifacts.Artifact.Sha256.Of(data));
                if (ifMatch is not null && _conditionalWrites)
                {
                    if (ifMatch == "*") request.IfNoneMatch = "*";
                    else request.IfMatch = ifMatch;
                }
                try
                {
                    await client.PutObjectAsync(request, c);
                    return true;
                }
                catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict)
                {
                    return false;
                }
                catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotImplemented && ifMatch is not null)
                {
                    // An older server that rejects conditional PUT: fall back to the listing protocol alone (docs/osva-publish.md).
                    _conditionalWrites = false;
                    body.Position = 0;
                    request.IfMatch = null;
                    request.IfNoneMatch = null;
                    await client.PutObjectAsync(request, c);
                    return true;
                }
            }, ct, S3Retry.SmallRequestTimeout);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException)
        {
            throw Fail(e, "write", key);
        }
    }

    public async Task<(byte[] Data, string? ETag)?> GetSmallAsync(string key, CancellationToken ct)
    {
        try
        {
            return await S3Retry.RunAsync<(byte[], string?)?>(async c =>
            {
                try
                {
                    using var response = await client.GetObjectAsync(Bucket, ObjectKey(key), c);
                    using var buffer = new MemoryStream();
                    await response.ResponseStream.CopyToAsync(buffer, c);
                    return (buffer.ToArray(), response.ETag);
                }
                catch (Exception e) when ((e is AmazonClientException { InnerException: null } or ArgumentException or (IOException and not TornReadException))
                    && !StoreErrors.IsMissingCredentials(e))
                {
                    // The SDK checks the body against the ETag, and the length against Content-Length: s3rver serves a torn object
                    // while another writer rewrites it in place.
                    throw new TornReadException(key, e);
                }
            }, ct, S3Retry.SmallRequestTimeout);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
        {
            return null;
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException)
        {
            throw Fail(e, "read", key);
        }
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct)
    {
        string? token = null;
        do
        {
            var page = await ListPageAsync(new ListObjectsV2Request { BucketName = Bucket, Prefix = ObjectKey(prefix), ContinuationToken = token }, ct);
            foreach (var o in page.S3Objects ?? [])
            {
                yield return new StoredObject(o.Key[location.Prefix.Length..], o.Size ?? 0, o.ETag);
            }
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);
    }

    public async IAsyncEnumerable<string> ListFoldersAsync(string prefix, [EnumeratorCancellation] CancellationToken ct)
    {
        string? token = null;
        var full = ObjectKey(prefix);
        do
        {
            var page = await ListPageAsync(new ListObjectsV2Request { BucketName = Bucket, Prefix = full, Delimiter = "/", ContinuationToken = token }, ct);
            foreach (var p in page.CommonPrefixes ?? [])
            {
                yield return p[full.Length..].TrimEnd('/');
            }
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);
    }

    private async Task<ListObjectsV2Response> ListPageAsync(ListObjectsV2Request request, CancellationToken ct)
    {
        try
        {
            return await S3Retry.RunAsync(c => client.ListObjectsV2Async(request, c), ct, S3Retry.SmallRequestTimeout);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException)
        {
            throw StoreErrors.FromS3(e is HttpRequestException ? new AmazonClientException(e.Message, e) : e, "list", Bucket, request.Prefix);
        }
    }

    public async Task DeleteAsync(string key, CancellationToken ct)
    {
        try
        {
            await S3Retry.RunAsync(c => client.DeleteObjectAsync(Bucket, ObjectKey(key), c), ct, S3Retry.SmallRequestTimeout);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
        {
            // Already gone: deleting is idempotent.
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException)
        {
            throw Fail(e, "delete", key);
        }
    }

    public Task<IAsyncDisposable> LockServiceAsync(string service, CancellationToken ct) => Task.FromResult<IAsyncDisposable>(NoLock.Instance);

    private PutObjectRequest NewPut(string key, Stream body, string sha256)
    {
        var request = new PutObjectRequest
        {
            BucketName = Bucket,
            Key = ObjectKey(key),
            InputStream = body,
            AutoCloseStream = false,
            ContentType = ContentTypes.Of(key),
            UseChunkEncoding = false,
            DisablePayloadSigning = _https,
        };
        request.Metadata[Sha256MetadataKey] = sha256;
        return request;
    }

    public void Dispose() => _reader.Dispose();

    private sealed class NoLock : IAsyncDisposable
    {
        public static readonly NoLock Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>An object read while another writer was replacing it (s3rver rewrites in place); reading again later succeeds.</summary>
internal sealed class TornReadException(string key, Exception inner) : IOException($"torn read of {key}", inner);

internal static class ContentTypes
{
    public static string Of(string key) => key switch
    {
        _ when key.EndsWith(".json", StringComparison.Ordinal) => "application/json",
        _ when key.EndsWith(".tar.gz", StringComparison.Ordinal) => "application/gzip",
        _ when key.EndsWith(".sha256", StringComparison.Ordinal) => "text/plain",
        _ => "application/octet-stream",
    };
}
