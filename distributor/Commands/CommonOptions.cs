using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Distributor.Publishing;
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

/// <summary>How a verb that changes index.json signs it and how long the new index stays valid.</summary>
internal sealed record IndexOptions(string? SigningKey, TimeSpan Expiry)
{
    /// <summary>The policy with the key loaded (the caller disposes it): a wrong key fails before the store changes.</summary>
    public IndexPolicy Open() => new(IndexSigner.Open(SigningKey), Expiry);
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

    public static readonly Option<string?> SigningKey = new("--signing-key")
    {
        Description = $"PEM private key (ECDSA P-256) to sign index.json with (default: ${IndexSigner.EnvironmentVariable}); required once the index is signed",
    };

    public static readonly Option<TimeSpan> IndexExpires = new("--index-expires")
    {
        Description = "How long the new index stays valid before hosts refuse it: a number and s, m, h or d (default: 90d)",
        DefaultValueFactory = _ => IndexPolicy.DefaultExpiry,
        CustomParser = ParseDuration,
    };

    /// <summary>The options of every verb that writes index.json.</summary>
    public static void AddIndexOptions(Command command)
    {
        command.Options.Add(SigningKey);
        command.Options.Add(IndexExpires);
    }

    public static IndexOptions BindIndex(ParseResult r) => new(r.GetValue(SigningKey), r.GetValue(IndexExpires));

    /// <summary>Ten years at most: an index that never expires would let a frozen mirror serve it forever.</summary>
    private const long MaxExpirySeconds = 3650L * 86400;

    private static TimeSpan ParseDuration(ArgumentResult result)
    {
        var text = result.Tokens.Single().Value;
        long? unit = text.Length >= 2 ? text[^1] switch { 's' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400, _ => null } : null;
        if (unit is { } u && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            && n > 0 && n <= MaxExpirySeconds / u)
        {
            return TimeSpan.FromSeconds(n * u);
        }
        result.AddError($"--index-expires '{text}' is not a duration of at most 3650d such as 90d, 12h, 30m or 45s");
        return default;
    }

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
        ["sign-index"] = "s3:GetObject, s3:PutObject and s3:ListBucket",
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
        command.SetAction((r, ct) => CommandGuard.RunAsync(Program, r.GetValue(Verbose), command.Options.Contains(Json) && r.GetValue(Json), async c =>
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
