using System.Text.Json.Serialization;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Distributor;

/// <summary>An alias record in the store (<c>.osva/aliases/&lt;alias&gt;.json</c>).</summary>
internal sealed record AliasRecord(string Alias, string Tag);

/// <summary>What <c>publish --json</c> prints, one object per artifact.</summary>
internal sealed record PublishReport(string Service, string Tag, string Platform, string Status, string ArchiveSha256,
    long ArchiveSize, long BytesUploaded, int FilesSkipped, string? Alias);

internal sealed record VerifyReport(string Service, string Tag, string Platform, string ArchiveSha256, long ArchiveSize, string Signature)
{
    public IndexReport? Index { get; init; }
}

/// <summary>The index as verify found it: its version, its expiry and its signature's state.</summary>
internal sealed record IndexReport(long Version, string Expires, string Signature);

internal sealed record YankReport(string Service, string Tag, IReadOnlyList<string> Platforms, IReadOnlyList<string> Aliases, IReadOnlyList<string> DeletedKeys, bool DryRun);

internal sealed record MirrorReport(IReadOnlyList<string> Services, int FilesCopied, int FilesUnchanged, long BytesCopied, int FilesRemoved);

internal sealed record SignIndexReport(string Service, long Version, DateTimeOffset? Expires, string KeyId, int ManifestsSigned);

internal sealed record KeygenReport(string PrivateKey, string PublicKey, string KeyId);

internal sealed record ServiceSummary(string Service, int Tags, IReadOnlyDictionary<string, string> Aliases);

[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AliasRecord))]
[JsonSerializable(typeof(PublishReport))]
[JsonSerializable(typeof(List<PublishReport>))]
[JsonSerializable(typeof(VerifyReport))]
[JsonSerializable(typeof(YankReport))]
[JsonSerializable(typeof(MirrorReport))]
[JsonSerializable(typeof(SignIndexReport))]
[JsonSerializable(typeof(KeygenReport))]
[JsonSerializable(typeof(List<ServiceSummary>))]
[JsonSerializable(typeof(IndexTag))]
[JsonSerializable(typeof(StoreIndex))]
internal sealed partial class PublishJsonContext : JsonSerializerContext;
