using System.CommandLine;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Distributor.Stores;

namespace OsVenvArtifacts.Distributor.Commands;

/// <summary>Where the store is and how to reach it, as every verb takes it.</summary>
internal sealed record StoreOptions(string Store, string? Endpoint, string? Region, bool PathStyle)
{
    public StoreLocation Location => StoreLocation.Parse(Store);

    public S3Settings S3 => S3Settings.FromEnvironment(Endpoint, Region, PathStyle ? true : null);

    /// <summary>A directory or S3 store that can be written; an HTTP mirror is refused.</summary>
    public IObjectStore OpenWritable()
    {
        var location = Location;
        return location.Kind switch
        {
            StoreKind.Directory => new DirectoryObjectStore(location),
            StoreKind.S3 => new S3ObjectStore(location, S3.CreateClient(), UploadSettings.FromEnvironment()),
            _ => throw new PublishException("OSVA-P050", $"{location} is an HTTP mirror, which is read-only",
                "use the directory or s3:// store it mirrors", ExitCode.Usage),
        };
    }

    /// <summary>Any store, including an HTTP mirror, for the verbs that only read an index and files.</summary>
    public IStoreReader OpenReader() => Location.Kind == StoreKind.Http ? StoreReaders.Open(Location, S3) : OpenWritable();
}

/// <summary>Options every verb shares, bound by hand.</summary>
internal static class CommonOptions
{
    public const string Program = "osva-publish";

    public static readonly Option<string> Store = new("--store")
    {
        Description = "Store location: a directory, s3://BUCKET[/PREFIX], or (read-only verbs) an http(s):// mirror",
        Required = true,
    };

    public static readonly Option<string?> S3Endpoint = new("--s3-endpoint")
    {
        Description = "S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS)",
    };

    public static readonly Option<string?> S3Region = new("--s3-region") { Description = "S3 region (default: AWS_REGION or us-east-1)" };

    public static readonly Option<bool> S3PathStyle = new("--s3-path-style")
    {
        Description = "Path-style addressing (automatic for IP and localhost endpoints)",
    };

    public static readonly Option<bool> Json = new("--json") { Description = "Print machine-readable JSON on stdout" };

    public static readonly Option<bool> Verbose = new("--verbose") { Description = "Print stack traces with errors" };

    public static void AddTo(Command command, bool json = true)
    {
        command.Options.Add(Store);
        command.Options.Add(S3Endpoint);
        command.Options.Add(S3Region);
        command.Options.Add(S3PathStyle);
        if (json) command.Options.Add(Json);
        command.Options.Add(Verbose);
    }

    public static StoreOptions BindStore(ParseResult r) =>
        new(r.GetValue(Store)!, r.GetValue(S3Endpoint), r.GetValue(S3Region), r.GetValue(S3PathStyle));

    /// <summary>The S3 permissions each verb needs, named in the hint when the server says access denied.</summary>
    private static readonly Dictionary<string, string> NeededActions = new(StringComparer.Ordinal)
    {
        ["publish"] = "s3:GetObject, s3:PutObject, s3:ListBucket and s3:AbortMultipartUpload",
        ["promote"] = "s3:GetObject, s3:PutObject and s3:ListBucket",
        ["yank"] = "s3:GetObject, s3:PutObject, s3:ListBucket and s3:DeleteObject",
        ["list"] = "s3:GetObject and s3:ListBucket",
        ["mirror"] = "s3:GetObject and s3:ListBucket",
        ["show"] = "s3:GetObject",
        ["verify"] = "s3:GetObject",
    };

    /// <summary>
    /// Runs a verb's action inside the one top-level error handler. An access-denied error gets a hint naming every
    /// permission the verb needs, not just the one that failed, so a policy is fixed in one go.
    /// </summary>
    public static void SetGuardedAction(Command command, Func<ParseResult, CancellationToken, Task<int>> action) =>
        command.SetAction((r, ct) => CommandGuard.RunAsync(Program, r.GetValue(Verbose), async c =>
        {
            try
            {
                return await action(r, c);
            }
            catch (OsvaException e) when (e.Code == "OSVA-S012" && NeededActions.TryGetValue(command.Name, out var needs))
            {
                var bucket = StoreLocation.Parse(r.GetValue(Store)!).Bucket;
                throw new OsvaException(e.Code, e.Message,
                    $"osva-publish {command.Name} needs {needs}; grant them on arn:aws:s3:::{bucket} and arn:aws:s3:::{bucket}/*", e.ExitCode, e);
            }
        }, ct));
}
