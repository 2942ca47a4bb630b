using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;

namespace OsVenvArtifacts.Artifact.Store;

/// <summary>A key that is not in the store.</summary>
public sealed class StoreNotFoundException(string location, string key)
    : OsvaException("OSVA-S404", $"{key} is not in store {location}",
        "check the service, tag and platform (osva-publish list) and the store location", ExitCode.StoreError)
{
    public string Key { get; } = key;
}

/// <summary>Turns S3 and network failures into one-line errors that say what to fix, never a stack trace or a secret.</summary>
public static class StoreErrors
{
    /// <summary>A directory store that is not there: read from, it would look like a store with nothing in it.</summary>
    public static OsvaException MissingDirectory(string root) =>
        new("OSVA-S022", $"store directory {root} does not exist",
            "check --store (or the store in /etc/osva/osva.conf); osva-publish publish creates a new directory store", ExitCode.StoreError);

    public static OsvaException FromS3(Exception e, string action, string bucket, string key) => e switch
    {
        AmazonS3Exception { ErrorCode: "NoSuchBucket" } => new OsvaException("OSVA-S010",
            $"bucket '{bucket}' does not exist", "create it, or fix the s3:// location and endpoint", ExitCode.StoreError, e),
        AmazonS3Exception { ErrorCode: "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "InvalidToken" or "ExpiredToken" } s =>
            new OsvaException("OSVA-S011", $"the S3 server refused the credentials ({s.ErrorCode}) while trying to {action} s3://{bucket}/{key}",
                "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, and that they belong to this endpoint", ExitCode.StoreError, e),
        AmazonS3Exception { StatusCode: HttpStatusCode.Forbidden } => new OsvaException("OSVA-S012",
            $"access denied: cannot {action} s3://{bucket}/{key}",
            $"grant the credentials {NeededActions(action)} on arn:aws:s3:::{bucket} and arn:aws:s3:::{bucket}/*", ExitCode.StoreError, e),
        // SDK v4 throws HttpRequestException itself when the endpoint cannot be reached; older versions wrap it.
        HttpRequestException or AmazonClientException { InnerException: HttpRequestException or SocketException } =>
            new OsvaException("OSVA-S013", $"cannot reach the S3 endpoint to {action} s3://{bucket}/{key}: {Innermost(e).Message}",
                "check --s3-endpoint / AWS_ENDPOINT_URL and that the server is running", ExitCode.StoreError, e),
        _ when IsMissingCredentials(e) =>
            new OsvaException("OSVA-S014", "no AWS credentials found", "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE", ExitCode.StoreError, e),
        AmazonS3Exception s => new OsvaException("OSVA-S019", $"S3 error {s.ErrorCode} ({(int)s.StatusCode}) while trying to {action} s3://{bucket}/{key}: {s.Message}",
            "see the server's log; rerun with --verbose for details", ExitCode.StoreError, e),
        _ => new OsvaException("OSVA-S019", $"S3 failure while trying to {action} s3://{bucket}/{key}: {Innermost(e).Message}",
            "rerun with --verbose for details", ExitCode.StoreError, e),
    };

    /// <summary>
    /// The SDK found no credentials anywhere in its chain. It says so before sending anything, as an
    /// <see cref="AmazonClientException"/> with no inner exception, which is also how it reports a torn body: callers
    /// that retry torn reads must ask this first.
    /// </summary>
    public static bool IsMissingCredentials(Exception e) =>
        e is AmazonClientException or AmazonServiceException
        && (e.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("Unable to get IAM", StringComparison.Ordinal));

    /// <summary>The IAM actions an operation needs, for the access-denied hint.</summary>
    public static string NeededActions(string action) => action switch
    {
        "read" => "s3:GetObject",
        "list" => "s3:ListBucket",
        "write" => "s3:PutObject and s3:GetObject",
        "delete" => "s3:DeleteObject",
        _ => "s3:GetObject, s3:PutObject, s3:ListBucket and s3:DeleteObject",
    };

    public static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
