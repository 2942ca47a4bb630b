using System.Text.RegularExpressions;

namespace OsVenvArtifacts.Artifact.Store;

public enum StoreKind { Directory, S3, Http }

/// <summary>
/// Where artifacts live: a directory (<c>/srv/osva</c> or <c>file:///srv/osva</c>), an S3 bucket and prefix
/// (<c>s3://bucket/prefix</c>), or an HTTP(S) mirror (<c>https://repo.example/osva</c>, read-only).
/// </summary>
public sealed partial record StoreLocation(StoreKind Kind, string Root, string Bucket, string Prefix)
{
    [GeneratedRegex(@"^(?i:s3|https?|file)(:(?!//)|//)")]
    private static partial Regex MistypedUrl();

    public static StoreLocation Parse(string value)
    {
        if (value.StartsWith("s3://", StringComparison.Ordinal))
        {
            var rest = value["s3://".Length..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            var bucket = slash < 0 ? rest : rest[..slash];
            var prefix = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
            if (bucket.Length < 3)
            {
                throw new OsvaException("OSVA-S001", $"store '{value}' names no bucket", "write it as s3://BUCKET[/PREFIX]");
            }
            return new StoreLocation(StoreKind.S3, value, bucket, prefix.Length == 0 ? "" : prefix + "/");
        }
        if (value.StartsWith("http://", StringComparison.Ordinal) || value.StartsWith("https://", StringComparison.Ordinal))
        {
            return new StoreLocation(StoreKind.Http, value.TrimEnd('/') + "/", "", "");
        }
        // "s3:/bucket" or "s3//bucket" would otherwise be a directory of that name under the working directory.
        if (MistypedUrl().IsMatch(value))
        {
            throw new OsvaException("OSVA-S002", $"store '{value}' looks like a mistyped URL",
                "write s3://BUCKET[/PREFIX] or http(s)://HOST/PATH with '://'; for a directory of that name write ./" + value);
        }
        var path = value.StartsWith("file://", StringComparison.Ordinal) ? new Uri(value).LocalPath : value;
        if (path.Length == 0 || path.Contains("://", StringComparison.Ordinal))
        {
            throw new OsvaException("OSVA-S002", $"store '{value}' is not a directory, s3:// or http(s):// location",
                "give a directory path, s3://BUCKET[/PREFIX] or an http(s):// mirror URL");
        }
        return new StoreLocation(StoreKind.Directory, Path.GetFullPath(path), "", "");
    }

    /// <summary>One spelling per store (an S3 prefix with or without its trailing slash is the same store).</summary>
    public string Identity => Kind == StoreKind.S3 ? $"s3://{Bucket}/{Prefix}" : Root;

    public override string ToString() => Root;
}
