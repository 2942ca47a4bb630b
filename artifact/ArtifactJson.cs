using System.Text.Json;
using System.Text.Json.Serialization;

namespace OsVenvArtifacts.Artifact;

/// <summary>Source-generated JSON for the contract types, so the NativeAOT installer needs no reflection.</summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
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
        return manifest;
    }

    public static Task<StoreIndex> ReadIndexAsync(Stream stream, string source, CancellationToken ct) =>
        ReadAsync(stream, ArtifactJsonContext.Default.StoreIndex, source, ct);

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
