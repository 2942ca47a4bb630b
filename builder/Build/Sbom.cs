using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Builder.Build;

/// <summary>
/// A CycloneDX 1.5 JSON SBOM of one artifact: the venv as the application, each installed distribution as a
/// library with its purl and wheel sha256. Deterministic: the serial number derives from the archive's tar
/// hash and the timestamp is SOURCE_DATE_EPOCH.
/// </summary>
internal static class Sbom
{
    public static byte[] Write(Manifest m)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            var root = $"{m.Service}@{m.Tag}";
            w.WriteStartObject();
            w.WriteString("bomFormat", "CycloneDX");
            w.WriteString("specVersion", "1.5");
            w.WriteString("serialNumber", "urn:uuid:" + UuidFrom(m.Archive.TarSha256));
            w.WriteNumber("version", 1);
            w.WriteStartObject("metadata");
            w.WriteString("timestamp", DateTimeOffset.FromUnixTimeSeconds(m.SourceDateEpoch).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteStartObject("tools");
            w.WriteStartArray("components");
            w.WriteStartObject();
            w.WriteString("type", "application");
            w.WriteString("name", m.Tool.Name);
            w.WriteString("version", m.Tool.Version);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartObject("component");
            w.WriteString("type", "application");
            w.WriteString("bom-ref", root);
            w.WriteString("name", m.Service);
            w.WriteString("version", m.Tag);
            Hashes(w, m.Archive.Sha256);
            w.WriteStartArray("properties");
            Property(w, "osva:platform", m.Platform.Id);
            Property(w, "osva:installPath", m.InstallPath);
            Property(w, "osva:buildImage", m.BuildImage.Id);
            Property(w, "osva:treeHash", m.TreeHash);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartArray("components");
            foreach (var p in m.Packages)
            {
                w.WriteStartObject();
                w.WriteString("type", "library");
                w.WriteString("bom-ref", Purl(p));
                w.WriteString("name", p.Name);
                w.WriteString("version", p.Version);
                w.WriteString("purl", Purl(p));
                if (p.WheelSha256 is { } sha) Hashes(w, sha);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("dependencies");
            w.WriteStartObject();
            w.WriteString("ref", root);
            w.WriteStartArray("dependsOn");
            foreach (var p in m.Packages) w.WriteStringValue(Purl(p));
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>purl for PyPI: the normalized name (lower case, runs of '-', '_', '.' as '-').</summary>
    public static string Purl(PackageEntry p) =>
        $"pkg:pypi/{System.Text.RegularExpressions.Regex.Replace(p.Name.ToLowerInvariant(), "[-_.]+", "-")}@{Uri.EscapeDataString(p.Version)}";

    private static void Hashes(Utf8JsonWriter w, string sha256)
    {
        w.WriteStartArray("hashes");
        w.WriteStartObject();
        w.WriteString("alg", "SHA-256");
        w.WriteString("content", sha256);
        w.WriteEndObject();
        w.WriteEndArray();
    }

    private static void Property(Utf8JsonWriter w, string name, string value)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("value", value);
        w.WriteEndObject();
    }

    /// <summary>A name-based UUID (version 5 layout, SHA-256 instead of SHA-1) from a hash, so the same artifact always gets the same serial number.</summary>
    private static string UuidFrom(string hex)
    {
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes("osva:" + hex))[..16];
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x50);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        var h = Convert.ToHexStringLower(bytes);
        return $"{h[..8]}-{h[8..12]}-{h[12..16]}-{h[16..20]}-{h[20..]}";
    }
}
