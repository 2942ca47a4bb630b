using System.Text.Json;
using System.Text.Json.Serialization;

namespace OsVenvArtifacts.Artifact;

/// <summary>Source-generated JSON for the contract types, so the NativeAOT installer needs no reflection.</summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    // "platform": null must not pass as a manifest whose Platform is null (found by make fuzz).
    RespectNullableAnnotations = true)]
[JsonSerializable(typeof(Manifest))]
[JsonSerializable(typeof(StoreIndex))]
public sealed partial class ArtifactJsonContext : JsonSerializerContext;

public static class ArtifactJson
{
    public static async Task<Manifest> ReadManifestAsync(Stream stream, string source, CancellationToken ct)
    {
        var manifest = await ReadAsync(stream, ArtifactJsonContext.Default.Manifest, source, ct);
        if (manifest.SchemaVersion > Manifest.CurrentSchemaVersion)
        {
            throw new ArtifactFormatException("OSVA-A011",
                $"{source} has manifest schema {manifest.SchemaVersion}, newer than this tool's {Manifest.CurrentSchemaVersion}",
                "upgrade osva to a version that reads this manifest schema", ExitCode.InvalidInput);
        }
        if (manifest.SchemaVersion < 1)
        {
            throw new ArtifactFormatException("OSVA-A010", $"{source} has manifest schema {manifest.SchemaVersion}, which no osva version writes",
                "re-download it or rebuild the artifact; the file is damaged or not an osva file", ExitCode.InvalidInput);
        }
        if (HasNull(manifest.Packages) || HasNull(manifest.ConsoleScripts) || HasNull(manifest.ManagementScripts) || HasNull(manifest.RuntimePackages) || HasNull(manifest.DistroPackages)
            || HasNull(manifest.BuildPackages) || manifest.Systemd is { } systemd && HasNull(systemd.Units))
        {
            throw NullList(source, nameof(Manifest));
        }
        return manifest;
    }

    public static async Task<StoreIndex> ReadIndexAsync(Stream stream, string source, CancellationToken ct)
    {
        var index = await ReadAsync(stream, ArtifactJsonContext.Default.StoreIndex, source, ct);
        if (HasNull(index.Tags) || index.Tags.Any(t => HasNull(t.Artifacts)) || HasNull(index.History) || HasNull(index.Aliases?.Values))
        {
            throw NullList(source, nameof(StoreIndex));
        }
        return index;
    }

    /// <summary>
    /// A null list, or a null in one, passes the source-generated reader even with RespectNullableAnnotations (it checks
    /// members, not items), and every reader of these types assumes neither (found by make fuzz).
    /// </summary>
    /// <summary>A list JSON left null, or holding a null: what a damaged or hostile file looks like after reading.</summary>
    public static bool HasNull<T>(IEnumerable<T>? items) => items is null || items.Any(i => i is null);

    private static ArtifactFormatException NullList(string source, string type) =>
        new("OSVA-A010", $"{source} is not a valid {type}: a list in it is null or holds null",
            "re-download it or rebuild the artifact; the file is damaged or not an osva file", ExitCode.InvalidInput);

    public static byte[] Serialize(Manifest manifest) =>
        JsonSerializer.SerializeToUtf8Bytes(manifest, ArtifactJsonContext.Default.Manifest);

    public static byte[] Serialize(StoreIndex index) =>
        JsonSerializer.SerializeToUtf8Bytes(index, ArtifactJsonContext.Default.StoreIndex);

    private static async Task<T> ReadAsync<T>(Stream stream, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string source, CancellationToken ct)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync(stream, type, ct)
                ?? throw new JsonException("empty document");
        }
        catch (JsonException e)
        {
            throw new ArtifactFormatException("OSVA-A010", $"{source} is not a valid {typeof(T).Name}: {e.Message}",
                "re-download it or rebuild the artifact; the file is damaged or not an osva file", ExitCode.InvalidInput);
        }
    }
}
