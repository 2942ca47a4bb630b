namespace OsVenvArtifacts.Artifact;

/// <summary>
/// The identity of one artifact (service + tag + platform) and the names of its files,
/// both on disk and in a store (<c>&lt;service&gt;/&lt;tag&gt;/&lt;file&gt;</c>).
/// </summary>
public sealed record ArtifactId
{
    public ArtifactId(string service, string tag, PlatformId platform)
    {
        Service = Names.Service(service);
        Tag = Names.Tag(tag);
        Platform = platform;
    }

    public string Service { get; }
    public string Tag { get; }
    public PlatformId Platform { get; }

    public string BaseName => $"{Service}-{Tag}-{Platform}";
    public string ArchiveFileName => BaseName + ".tar.gz";
    public string ChecksumFileName => ArchiveFileName + ".sha256";
    /// <summary>The image-mode file (docs/artifact-format.md, "The image").</summary>
    public string ImageFileName => BaseName + ".squashfs";
    public string ManifestFileName => BaseName + ".manifest.json";
    public string SignatureFileName => ManifestFileName + ".sig";
    public string SbomFileName => BaseName + ".cdx.json";

    /// <summary>The default venv path on a host: <c>/openstack/venvs/&lt;service&gt;-&lt;tag&gt;</c>.</summary>
    public string DefaultInstallPath => InstallPaths.Default(Service, Tag);

    public string StoreKey(string fileName) => StoreKeys.File(Service, Tag, fileName);

    public override string ToString() => BaseName;
}

public static class InstallPaths
{
    public const string Template = "/openstack/venvs/{service}-{tag}";

    public static string Default(string service, string tag) => Expand(Template, service, tag);

    public static string Expand(string template, string service, string tag) =>
        template.Replace("{service}", service, StringComparison.Ordinal).Replace("{tag}", tag, StringComparison.Ordinal);
}

/// <summary>Keys in a store, relative to its root (bucket prefix or directory).</summary>
public static class StoreKeys
{
    public static string Index(string service) => $"{Names.Service(service)}/index.json";

    /// <summary>The detached signature of <see cref="Index"/>, written on every change to it (docs/security.md).</summary>
    public static string IndexSignature(string service) => Index(service) + ".sig";

    public static string TagPrefix(string service, string tag) => $"{Names.Service(service)}/{Names.Tag(tag)}/";

    public static string File(string service, string tag, string fileName) => TagPrefix(service, tag) + fileName;
}
