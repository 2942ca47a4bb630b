using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Docker.DotNet.Models;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Builder.Build;
using OsVenvArtifacts.Builder.Packing;

namespace OsVenvArtifacts.Builder.Docker;

/// <summary>A platform image as built: its tag (<c>osva/&lt;platform&gt;:&lt;folder hash&gt;</c>) and ID.</summary>
internal sealed record PlatformImage(string Platform, string Name, string Id, bool Reused);

/// <summary>
/// Builds or reuses <c>images/&lt;platform&gt;/Dockerfile</c>. The tag carries a hash of the whole folder,
/// so an edited Dockerfile gets a new image and an unchanged one is reused without asking the engine to build.
/// </summary>
internal sealed partial class PlatformImages(DockerEngine engine, string imagesDirectory)
{
    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*$")]
    private static partial Regex PlatformPattern();

    public string ImagesDirectory => imagesDirectory;

    public DockerEngine Engine => engine;

    /// <summary>The images folder: --images, else OSVA_IMAGES, else the first <c>images/</c> above the start directories.</summary>
    public static string Locate(string? explicitDirectory, params string?[] startDirectories)
    {
        if ((explicitDirectory ?? Environment.GetEnvironmentVariable("OSVA_IMAGES")) is { Length: > 0 } given)
        {
            return Directory.Exists(given) ? Path.GetFullPath(given)
                : throw new BuilderException("OSVA-B002", $"images folder {given} does not exist",
                    "pass --images DIR (a folder with one <platform>/Dockerfile per platform)", ExitCode.InvalidInput);
        }
        foreach (var start in startDirectories.Append(Environment.CurrentDirectory).Append(AppContext.BaseDirectory))
        {
            for (var dir = start is null ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "images");
                if (Directory.Exists(candidate) && Directory.EnumerateFiles(candidate, "Dockerfile", SearchOption.AllDirectories).Any())
                {
                    return candidate;
                }
            }
        }
        throw new BuilderException("OSVA-B002", "no images folder found above the release file or the current directory",
            "pass --images DIR (a folder with one <platform>/Dockerfile per platform)", ExitCode.InvalidInput);
    }

    public string FolderOf(string platform)
    {
        if (!PlatformPattern().IsMatch(platform))
        {
            throw new BuilderException("OSVA-B003", $"platform '{platform}' is not a valid folder name",
                "use lower-case letters, digits, '.', '_' and '-' (for example debian-12)", ExitCode.InvalidInput);
        }
        var folder = Path.Combine(imagesDirectory, platform);
        return File.Exists(Path.Combine(folder, "Dockerfile")) ? folder
            : throw new BuilderException("OSVA-B003", $"platform '{platform}' has no {Path.Combine(folder, "Dockerfile")}",
                $"use one of: {string.Join(", ", Known())}, or add images/{platform}/Dockerfile", ExitCode.InvalidInput);
    }

    private IEnumerable<string> Known() => Directory.EnumerateDirectories(imagesDirectory)
        .Where(d => File.Exists(Path.Combine(d, "Dockerfile"))).Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    /// <summary>sha256 over every file of the folder (relative path, executable bit, content), in ordinal order.</summary>
    public static string FolderHash(string folder)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(folder, file).Replace('\\', '/');
            var executable = (File.GetUnixFileMode(file) & UnixFileMode.UserExecute) != 0 ? "x" : "-";
            using var content = File.OpenRead(file);
            hash.AppendData(Encoding.UTF8.GetBytes($"{relative}\0{executable}\0{Sha256.Hex(SHA256.HashData(content))}\n"));
        }
        return Sha256.Hex(hash.GetHashAndReset());
    }

    public static string TagFor(string platform, string folderHash) => $"osva/{platform}:{folderHash[..16]}";

    /// <summary>Returns the image for a platform, building it (network host, for the distro's registry) when absent.</summary>
    public async Task<PlatformImage> EnsureAsync(string platform, Action<string>? log, CancellationToken ct)
    {
        var folder = FolderOf(platform);
        var name = TagFor(platform, FolderHash(folder));
        if (await engine.TryInspectImageAsync(name, ct) is { } existing)
        {
            return new PlatformImage(platform, name, existing, Reused: true);
        }
        log?.Invoke($"{platform}: building image {name}");
        var id = await BuildAsync(platform, name, folder, dockerfile: null, log, ct);
        return new PlatformImage(platform, name, id, Reused: false);
    }

    /// <summary>
    /// The image with extra distro packages (a service's buildPackages) installed on top of <paramref name="image"/>:
    /// <c>osva/&lt;platform&gt;-build:&lt;hash of base image ID and sorted packages&gt;</c>, built (network host) only when absent,
    /// so a build and a later <c>rebuild</c> of its manifest derive the same image.
    /// </summary>
    public async Task<PlatformImage> EnsureDerivedAsync(PlatformImage image, IReadOnlyList<string> buildPackages, BuildLog log, CancellationToken ct)
    {
        var platform = image.Platform;
        var packages = string.Join(' ', buildPackages.Order(StringComparer.Ordinal));
        var name = $"osva/{platform}-build:{Sha256.Of(Encoding.UTF8.GetBytes(image.Id + " " + packages))[..16]}";
        if (await engine.TryInspectImageAsync(name, ct) is { } existing)
        {
            return new PlatformImage(platform, name, existing, Reused: true);
        }
        log.Step(platform, $"building image with {packages}");
        var dockerfile = $"""
            FROM {image.Id}
            RUN if command -v apt-get >/dev/null; then apt-get -o Acquire::Check-Valid-Until=false update \
                 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {packages} \
                 && rm -rf /var/lib/apt/lists/*; else dnf install -y {packages} && dnf clean all; fi
            """;
        using var empty = new TempFolder();
        var id = await BuildAsync(platform, name, empty.Path, dockerfile, line => log.Detail(platform, line), ct);
        log.Done(platform);
        return new PlatformImage(platform, name, id, Reused: false);
    }

    /// <summary>Builds a context folder into <paramref name="name"/>; throws naming the failing step when it does not build.</summary>
    public async Task<string> BuildAsync(string platform, string name, string folder, string? dockerfile, Action<string>? log, CancellationToken ct)
    {
        await using var context = new InputArchive();
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            await context.AddFileAsync(Path.GetRelativePath(folder, file).Replace('\\', '/'), file, ct);
        }
        if (dockerfile is not null) await context.AddTextAsync("Dockerfile", dockerfile, ct);
        var tar = await context.CompleteAsync();
        var errors = new List<string>();
        var lastLines = new Queue<string>();
        var progress = new SyncProgress<JSONMessage>(m =>
        {
            if (m.Error?.Message is { Length: > 0 } error) errors.Add(error.Trim());
            else if (m.ErrorMessage is { Length: > 0 } errorMessage) errors.Add(errorMessage.Trim());
            if (m.Stream?.Trim() is { Length: > 0 } line)
            {
                lastLines.Enqueue(line);
                if (lastLines.Count > 5) lastLines.Dequeue();
                log?.Invoke($"{platform}: {line}");
            }
        });
        try
        {
            await engine.Client.Images.BuildImageFromDockerfileAsync(new ImageBuildParameters
            {
                Tags = [name],
                NetworkMode = "host",
                Remove = true,
                ForceRemove = true,
                Labels = new Dictionary<string, string> { ["org.openstack.osva.platform-folder"] = platform },
            }, tar, authConfigs: null, headers: null, progress, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException && !DockerEngine.IsConnectionFailure(e))
        {
            errors.Add(DockerEngine.Innermost(e).Message.Trim());
        }
        if (await engine.TryInspectImageAsync(name, ct) is { } id && errors.Count == 0) return id;
        var cause = errors.LastOrDefault() ?? lastLines.LastOrDefault() ?? "no output";
        throw new BuilderException("OSVA-B004", $"image for platform {platform} does not build: {cause}",
            $"fix {Path.Combine(folder, "Dockerfile")} (try: docker build --network host {folder})");
    }
}

/// <summary>Reports on the caller's thread, in order (Progress&lt;T&gt; posts to the thread pool and may reorder).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    private readonly Lock _lock = new();

    public void Report(T value)
    {
        lock (_lock) report(value);
    }
}

/// <summary>An empty scratch folder, used as the build context of derived images.</summary>
internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("osva-build-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
