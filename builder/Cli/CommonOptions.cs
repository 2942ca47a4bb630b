using System.CommandLine;

namespace OsVenvArtifacts.Builder.Cli;

/// <summary>Options several verbs share, as static fields bound explicitly by each command.</summary>
internal static class CommonOptions
{
    public static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "Show container and image build output, and stack traces" };
    public static readonly Option<bool> Json = new("--json") { Description = "Print results as JSON" };
    public static readonly Option<string?> Images = new("--images") { Description = "Folder with one <platform>/Dockerfile per platform (default: images/ above the input, or OSVA_IMAGES)" };
    public static readonly Option<string?> SigningKey = new("--signing-key")
    {
        Description = "PEM private key (ECDSA P-256) to write <manifest>.sig with (default: $OSVA_SIGNING_KEY; unsigned when neither is set)",
    };
    public static readonly Option<string[]> Engine = new("--engine")
    {
        Description = "Docker engine to build on, unix:///path or tcp://host:port (repeatable: services are spread over them; default: DOCKER_HOST, else the local socket)",
    };
    public static readonly Option<string?> S3Endpoint = new("--s3-endpoint") { Description = "S3 endpoint URL (else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL)" };
    public static readonly Option<string?> S3Region = new("--s3-region") { Description = "S3 region (default us-east-1)" };
    public static readonly Option<bool?> S3PathStyle = new("--s3-path-style") { Description = "Path-style S3 addressing (default: on for IP and localhost endpoints)" };

    public const string Program = "osva-build";
}
