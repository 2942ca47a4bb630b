using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;

namespace OsVenvArtifacts.Artifact.Store;

/// <summary>
/// How to reach an S3-compatible server. Credentials always come from the standard AWS chain
/// (environment, profile, instance role); the endpoint from <c>--s3-endpoint</c>, <c>AWS_ENDPOINT_URL_S3</c>
/// or <c>AWS_ENDPOINT_URL</c>; addressing is path-style for an IP or localhost endpoint unless told otherwise.
/// </summary>
public sealed record S3Settings(string? Endpoint, string? Region, bool? PathStyle)
{
    public static S3Settings FromEnvironment(string? endpoint = null, string? region = null, bool? pathStyle = null) => new(
        endpoint ?? Env("AWS_ENDPOINT_URL_S3") ?? Env("AWS_ENDPOINT_URL"),
        region ?? Env("AWS_REGION") ?? Env("AWS_DEFAULT_REGION"),
        pathStyle ?? ParseBool(Env("OSVA_S3_PATH_STYLE")));

    public AmazonS3Client CreateClient()
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = PathStyle ?? IsLocalEndpoint(Endpoint),
            // A checksum on every request where the server supports it; s3rver and older RGW ignore the header.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = 4,
            Timeout = TimeSpan.FromMinutes(5),
        };
        if (Endpoint is not null)
        {
            config.ServiceURL = Endpoint;
            config.AuthenticationRegion = Region ?? "us-east-1";
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(Region ?? "us-east-1");
        }
        return new AmazonS3Client(config);
    }

    private static bool IsLocalEndpoint(string? endpoint) =>
        endpoint is not null && Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
        && (uri.IsLoopback || IPAddress.TryParse(uri.Host, out _) || uri.Host == "localhost");

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    private static bool? ParseBool(string? value) => value is null ? null : value is "1" or "true" or "yes";
}
