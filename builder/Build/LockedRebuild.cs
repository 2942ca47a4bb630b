using System.Text;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Builder.Docker;
using OsVenvArtifacts.Builder.Release;

namespace OsVenvArtifacts.Builder.Build;

internal sealed record RebuildOptions(string Manifest, string Wheelhouse, string OutDirectory, string? ImagesDirectory, string? SigningKey, bool Json, bool Verbose);

/// <summary>
/// Rebuilds exactly the set a manifest recorded: every package with a wheel hash becomes
/// <c>name==version --hash=sha256:...</c> and pip installs them with <c>--require-hashes --no-deps</c>,
/// so a moved dependency cannot drift in. On the same image the result is byte-identical to the original.
/// </summary>
internal static class LockedRebuild
{
    public static async Task<int> RunAsync(RebuildOptions options, CancellationToken ct)
    {
        Manifest manifest;
        await using (var stream = OpenManifest(options.Manifest))
        {
            manifest = await ArtifactJson.ReadManifestAsync(stream, options.Manifest, ct);
        }
        if (!Directory.Exists(options.Wheelhouse))
        {
            throw new BuilderException("OSVA-B060", $"wheelhouse {options.Wheelhouse} does not exist", "give the folder holding the wheels the manifest lists", ExitCode.InvalidInput);
        }
        var locked = new StringBuilder();
        foreach (var p in manifest.Packages.Where(p => p.WheelSha256 is not null))
        {
            locked.Append(p.Name).Append("==").Append(p.Version).Append(" --hash=sha256:").Append(p.WheelSha256).Append('\n');
        }
        if (locked.Length == 0)
        {
            throw new BuilderException("OSVA-B061", $"{options.Manifest} records no wheel hashes", "only manifests of wheelhouse builds can be rebuilt locked", ExitCode.InvalidInput);
        }
        using var signer = ManifestSigner.Open(options.SigningKey);
        var platform = PlatformFolder(manifest);
        var spec = new ServiceSpec
        {
            Name = manifest.Service,
            Tag = manifest.Tag,
            Platforms = [platform],
            InstallPath = manifest.InstallPath,
            Wheelhouse = Path.GetFullPath(options.Wheelhouse),
            SourceDateEpoch = manifest.SourceDateEpoch,
            Requirements = [.. manifest.Packages.Where(p => p.WheelSha256 is not null).Select(p => $"{p.Name}=={p.Version}")],
            ConsoleScripts = manifest.ConsoleScripts,
            ManagementScripts = manifest.ManagementScripts,
            RuntimePackages = manifest.RuntimePackages,
            DistroPackages = manifest.DistroPackages,
            BuildPackages = manifest.BuildPackages,
            Systemd = manifest.Systemd,
            Rootwrap = manifest.Rootwrap,
            Origin = options.Manifest,
        };
        var log = new BuildLog(options.Verbose);
        Directory.CreateDirectory(options.OutDirectory);
        using var engine = await DockerEngine.ConnectAsync(ct);
        var image = await ImageAsync(engine, manifest, platform, options, log, ct);
        var inputs = new BuildInputs();
        var wheels = await inputs.WheelsAsync(spec.Wheelhouse, ct);
        var key = await BuildInputs.KeyAsync(spec, platform, image.Id, wheels, locked.ToString(), ct);
        var buildOptions = new BuildOptions(options.Manifest, options.OutDirectory, 1, [], null, S3Settings.FromEnvironment(), options.ImagesDirectory,
            options.SigningKey, options.Json, options.Verbose);
        var outcome = (await ReleaseBuilder.RunJobsAsync([new BuildJob(spec, image, wheels, key, locked.ToString())], engine, log,
            Path.GetFullPath(options.OutDirectory), buildOptions, signer, ct)).Single();
        var same = outcome.Sha256 == manifest.Archive.Sha256 ? "identical to the manifest" : $"differs from the manifest's {manifest.Archive.Sha256}";
        await Console.Out.WriteLineAsync($"{outcome.Path} {outcome.Sha256} {outcome.Size} {outcome.Status} ({same})");
        return 0;
    }

    private static FileStream OpenManifest(string path)
    {
        try
        {
            return File.OpenRead(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BuilderException("OSVA-B060", $"manifest {path} does not exist", "give the .manifest.json of the artifact to rebuild", ExitCode.InvalidInput);
        }
    }

    /// <summary>The images folder the original build used, from its image name <c>osva/&lt;folder&gt;[-build]:&lt;hash&gt;</c>.</summary>
    private static string PlatformFolder(Manifest manifest)
    {
        var name = manifest.BuildImage.Name;
        var repo = name.StartsWith("osva/", StringComparison.Ordinal) ? name["osva/".Length..].Split(':')[0] : $"{manifest.Platform.Distro}-{manifest.Platform.DistroVersion}";
        return repo.EndsWith("-build", StringComparison.Ordinal) ? repo[..^"-build".Length] : repo;
    }

    /// <summary>
    /// The exact image of the original build when the engine still has it, else the platform folder's current image,
    /// with the manifest's buildPackages installed on top as the original build did.
    /// </summary>
    private static async Task<PlatformImage> ImageAsync(DockerEngine engine, Manifest manifest, string platform, RebuildOptions options, BuildLog log, CancellationToken ct)
    {
        if (await engine.TryInspectImageAsync(manifest.BuildImage.Id, ct) is { } id)
        {
            return new PlatformImage(platform, manifest.BuildImage.Name, id, Reused: true);
        }
        var images = new PlatformImages(engine, PlatformImages.Locate(options.ImagesDirectory, Path.GetDirectoryName(Path.GetFullPath(options.Manifest))));
        var image = await images.EnsureAsync(platform, line => log.Detail(platform, line), ct);
        if (manifest.BuildPackages.Count > 0) image = await images.EnsureDerivedAsync(image, manifest.BuildPackages, log, ct);
        await Console.Error.WriteLineAsync($"osva-build: note: image {manifest.BuildImage.Id} is gone; rebuilding on {image.Name} ({image.Id}), bytes may differ");
        return image;
    }
}
