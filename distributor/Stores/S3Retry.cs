using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;

namespace OsVenvArtifacts.Distributor.Stores;

/// <summary>
/// Retries with exponential backoff and jitter around one S3 request, for failures the SDK's own retry gives up on
/// (a connection reset mid-body, a 5xx after its budget). A refused connection is not retried: the server is not there.
/// </summary>
internal static class S3Retry
{
    public const int Attempts = 3;

    /// <summary>How long one small request (index, records, listings, heads) may take before it is retried.</summary>
    public static readonly TimeSpan SmallRequestTimeout = TimeSpan.FromSeconds(20);

    public static async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> operation, CancellationToken ct, TimeSpan? attemptTimeout = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (attemptTimeout is { } t) attemptCts.CancelAfter(t);
            try
            {
                return await operation(attemptCts.Token);
            }
            catch (Exception e) when (attempt < Attempts && !ct.IsCancellationRequested && (IsTransient(e) || e is OperationCanceledException))
            {
                // A request that hangs (a server under load can stall one) is retried like one that failed.
                var delay = TimeSpan.FromMilliseconds((200 << attempt) + Random.Shared.Next(0, 200));
                await Task.Delay(delay, ct);
            }
        }
    }

    public static bool IsTransient(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.TryAgain }) return false;
        }
        if (e is AmazonServiceException { StatusCode: not 0 } service)
        {
            return (int)service.StatusCode >= 500 || service.StatusCode == HttpStatusCode.TooManyRequests;
        }
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is IOException or HttpRequestException) return true;
        }
        return false;
    }
}
