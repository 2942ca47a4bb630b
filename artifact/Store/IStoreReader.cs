using System.Net;
using System.Net.Http.Headers;
using Amazon.S3;
using Amazon.S3.Model;

namespace OsVenvArtifacts.Artifact.Store;

/// <summary>Reads keys from a store. The installer uses only this; the distributor adds writing on top.</summary>
public interface IStoreReader : IDisposable
{
    StoreLocation Location { get; }

    /// <summary>Opens a key for streaming; throws <see cref="StoreNotFoundException"/> when it is absent.</summary>
    Task<Stream> OpenReadAsync(string key, CancellationToken ct);

    /// <summary>
    /// Opens a key from byte <paramref name="offset"/> on, to continue a broken transfer: a ranged read where the
    /// store has one, else the whole object read past the prefix. Null when the store holds a different object
    /// than the one the caller has a prefix of (the range is not satisfiable there): start over from 0.
    /// </summary>
    Task<Stream?> OpenReadFromAsync(string key, long offset, CancellationToken ct);

    Task<bool> ExistsAsync(string key, CancellationToken ct);
}

public static class StoreReaders
{
    public static IStoreReader Open(StoreLocation location, S3Settings s3, HttpClient? http = null) => location.Kind switch
    {
        StoreKind.Directory => new DirectoryStoreReader(location),
        StoreKind.S3 => new S3StoreReader(location, s3.CreateClient()),
        _ => new HttpStoreReader(location, http ?? new HttpClient()),
    };

    /// <summary>No ranged read: reads past the first <paramref name="offset"/> bytes; the caller already has them.</summary>
    internal static async Task<Stream> SkipAsync(Stream stream, long offset, CancellationToken ct)
    {
        var skip = new byte[1 << 16];
        for (var left = offset; left > 0;)
        {
            var n = await stream.ReadAsync(skip.AsMemory(0, (int)Math.Min(skip.Length, left)), ct);
            if (n == 0) break;
            left -= n;
        }
        return stream;
    }

    public static async Task<StoreIndex?> ReadIndexAsync(this IStoreReader store, string service, CancellationToken ct)
    {
        var key = StoreKeys.Index(service);
        try
        {
            await using var stream = await store.OpenReadAsync(key, ct);
            return await ArtifactJson.ReadIndexAsync(stream, $"{store.Location}/{key}", ct);
        }
        catch (StoreNotFoundException)
        {
            return null;
        }
    }
}

public sealed class DirectoryStoreReader(StoreLocation location) : IStoreReader
{
    public StoreLocation Location => location;

    public string PathOf(string key) => Path.Combine(location.Root, key);

    public Task<Stream> OpenReadAsync(string key, CancellationToken ct)
    {
        try
        {
            return Task.FromResult<Stream>(new FileStream(PathOf(key), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            if (!Directory.Exists(location.Root)) throw StoreErrors.MissingDirectory(location.Root);
            throw new StoreNotFoundException(location.Root, key);
        }
    }

    public async Task<Stream?> OpenReadFromAsync(string key, long offset, CancellationToken ct)
    {
        var stream = await OpenReadAsync(key, ct);
        if (offset > stream.Length)
        {
            await stream.DisposeAsync();
            return null;
        }
        stream.Seek(offset, SeekOrigin.Begin);
        return stream;
    }

    public Task<bool> ExistsAsync(string key, CancellationToken ct) => Task.FromResult(File.Exists(PathOf(key)));

    public void Dispose() { }
}

public sealed class S3StoreReader(StoreLocation location, IAmazonS3 client) : IStoreReader
{
    public StoreLocation Location => location;

    public IAmazonS3 Client => client;

    public string ObjectKey(string key) => location.Prefix + key;

    public async Task<Stream> OpenReadAsync(string key, CancellationToken ct)
    {
        try
        {
            var response = await client.GetObjectAsync(location.Bucket, ObjectKey(key), ct);
            return response.ResponseStream;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
        {
            throw new StoreNotFoundException(location.Root, key);
        }
        catch (Exception e) when (e is not OperationCanceledException and not OsvaException)
        {
            throw StoreErrors.FromS3(e, "read", location.Bucket, ObjectKey(key));
        }
    }

    public async Task<Stream?> OpenReadFromAsync(string key, long offset, CancellationToken ct)
    {
        if (offset == 0) return await OpenReadAsync(key, ct);
        try
        {
            var response = await client.GetObjectAsync(new GetObjectRequest
            {
                BucketName = location.Bucket,
                Key = ObjectKey(key),
                ByteRange = new ByteRange($"bytes={offset}-"),
            }, ct);
            return response.ResponseStream;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            return null;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
        {
            throw new StoreNotFoundException(location.Root, key);
        }
        catch (Exception e) when (e is not OperationCanceledException and not OsvaException)
        {
            throw StoreErrors.FromS3(e, "read", location.Bucket, ObjectKey(key));
        }
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken ct)
    {
        try
        {
            await client.GetObjectMetadataAsync(location.Bucket, ObjectKey(key), ct);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
        {
            return false;
        }
        catch (Exception e) when (e is not OperationCanceledException and not OsvaException)
        {
            throw StoreErrors.FromS3(e, "read", location.Bucket, ObjectKey(key));
        }
    }

    public void Dispose() => client.Dispose();
}

/// <summary>A mirror served over HTTP(S), as <c>osva-publish mirror</c> writes it.</summary>
public sealed class HttpStoreReader(StoreLocation location, HttpClient http) : IStoreReader
{
    public StoreLocation Location => location;

    public async Task<Stream> OpenReadAsync(string key, CancellationToken ct)
    {
        var response = await SendAsync(HttpMethod.Get, key, ct);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            response.Dispose();
            throw new StoreNotFoundException(location.Root, key);
        }
        EnsureOk(response, key);
        return await response.Content.ReadAsStreamAsync(ct);
    }

    /// <summary>
    /// 206 from <paramref name="offset"/> continues; 200 means the server ignores ranges and sends the whole file,
    /// whose prefix is read past; 416, or a range starting elsewhere, means the mirror's file is not the one the
    /// caller has a prefix of (null: start over).
    /// </summary>
    public async Task<Stream?> OpenReadFromAsync(string key, long offset, CancellationToken ct)
    {
        if (offset == 0) return await OpenReadAsync(key, ct);
        var response = await SendAsync(HttpMethod.Get, key, ct, new RangeHeaderValue(offset, null));
        switch (response.StatusCode)
        {
            case HttpStatusCode.PartialContent when response.Content.Headers.ContentRange is { HasRange: true } range && range.From == offset:
                return await response.Content.ReadAsStreamAsync(ct);
            case HttpStatusCode.PartialContent or HttpStatusCode.RequestedRangeNotSatisfiable:
                response.Dispose();
                return null;
            case HttpStatusCode.NotFound:
                response.Dispose();
                throw new StoreNotFoundException(location.Root, key);
            default:
                EnsureOk(response, key);
                return await StoreReaders.SkipAsync(await response.Content.ReadAsStreamAsync(ct), offset, ct);
        }
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Head, key, ct);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound) return false;
        EnsureOk(response, key);
        return true;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string key, CancellationToken ct, RangeHeaderValue? range = null)
    {
        try
        {
            using var request = new HttpRequestMessage(method, new Uri(location.Root + key));
            request.Headers.Range = range;
            return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (HttpRequestException e)
        {
            throw new OsvaException("OSVA-S020", $"cannot reach mirror {location.Root}: {e.Message}",
                "check the URL and that the HTTP server is running", ExitCode.StoreError, e);
        }
    }

    private void EnsureOk(HttpResponseMessage response, string key)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new OsvaException("OSVA-S021", $"mirror {location.Root} answered {(int)response.StatusCode} {response.ReasonPhrase} for {key}",
                "check the mirror's access rules and that it is fully synced (osva-publish mirror)", ExitCode.StoreError);
        }
    }

    public void Dispose() => http.Dispose();
}
