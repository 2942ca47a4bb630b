using System.Diagnostics;
using System.Formats.Tar;
using System.Text.Json;
using Docker.DotNet.Models;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Builder.Docker;
using OsVenvArtifacts.Builder.Packing;
using ServiceSpec = OsVenvArtifacts.Builder.Release.ServiceSpec;

namespace OsVenvArtifacts.Builder.Build;

/// <summary>One artifact as the command reports it.</summary>
internal sealed record BuildOutcome(string Service, string Tag, string Platform, string Path, string Sha256, long Size, string Status,
    TimeSpan Elapsed, BuildTimes? Times, string? Engine = null);

/// <summary>Where the time of one build went.</summary>
internal sealed record BuildTimes(TimeSpan Pip, TimeSpan Pack);

/// <summary>One job: a service on one platform, with its build key already computed.</summary>
internal sealed record BuildJob(ServiceSpec Spec, PlatformImage Image, IReadOnlyList<Wheel> Wheels, string Key, string? LockedRequirements);

/// <summary>
/// Builds one service on one platform: a container from the platform image with network none, the
/// wheelhouse and the build script put in through the archive API, the venv made at its final path,
/// the tree copied out through the archive API and packed by <see cref="VenvPacker"/>.
/// </summary>
internal sealed class ServiceBuilder(DockerEngine engine, BuildLog log, ManifestSigner? signer)
{
    private static readonly string Script = EmbeddedScript.Read("build-venv.py");

    public async Task<BuildOutcome> BuildAsync(BuildJob job, string outDirectory, CancellationToken ct)
    {
        var spec = job.Spec;
        var name = $"{spec.Name}/{job.Image.Platform}";
        var clock = Stopwatch.StartNew();
        log.Step(name, "starting container");
        var containerId = await engine.CreateContainerAsync(new CreateContainerParameters
        {
            Name = $"{DockerEngine.NamePrefix}{spec.Name}-{Guid.NewGuid().ToString("N")[..12]}",
            Image = job.Image.Id,
            Cmd = ["python3", "/osva/build-venv.py", "/osva/job.json"],
            WorkingDir = "/",
            Labels = new Dictionary<string, string> { ["org.openstack.osva.build"] = $"{spec.Name}-{spec.Tag}" },
            HostConfig = new HostConfig { NetworkMode = spec.Wheelhouse is not null ? "none" : "host" },
        }, ct);
        try
        {
            await using (var input = new InputArchive())
            {
                await input.AddTextAsync("osva/build-venv.py", Script, ct);
                await input.AddTextAsync("osva/job.json", JobJson(job), ct);
                await input.AddDirectoryAsync("osva/wheels", ct);
                foreach (var wheel in job.Wheels) await input.AddFileAsync($"osva/wheels/{wheel.FileName}", wheel.Path, ct);
                if (spec.Constraints is not null) await input.AddFileAsync("osva/constraints.txt", spec.Constraints, ct);
                if (job.LockedRequirements is not null) await input.AddTextAsync("osva/locked.txt", job.LockedRequirements, ct);
                await engine.PutArchiveAsync(containerId, "/", await input.CompleteAsync(), ct);
            }

            log.Step(name, "pip install");
            var (exit, output) = await engine.RunToCompletionAsync(containerId, ct);
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries)) log.Detail(name, line);
            if (exit != 0) throw Failed(spec, job.Image.Platform, exit, output);
            var pipTime = clock.Elapsed;

            var info = await ReadInfoAsync(containerId, ct);
            var platform = PlatformOf(info);
            var id = new ArtifactId(spec.Name, spec.Tag, platform);

            log.Step(name, "packing");
            var packClock = Stopwatch.StartNew();
            using var output2 = new ArtifactOutput(outDirectory);
            PackResult packed;
            string stagedArchive;
            await using (var tree = await engine.GetArchiveAsync(containerId, spec.InstallPath, ct))
            await using (var packer = await VenvPacker.SpoolAsync(tree, spec.InstallPath, info.PythonPath, ct))
            await using (var archive = output2.Create(id.ArchiveFileName))
            {
                packed = await packer.WriteAsync(archive, spec.SourceDateEpoch, ct);
                await archive.FlushAsync(ct);
                archive.Flush(flushToDisk: true);
                stagedArchive = archive.Name;
            }
            var image = spec.Image ? await SquashfsImage.WriteAsync(stagedArchive, output2.Stage(id.ImageFileName), spec.SourceDateEpoch, ct) : null;
            var manifest = new Manifest
            {
                Service = spec.Name,
                Tag = spec.Tag,
                Platform = new ManifestPlatform
                {
                    Id = platform.ToString(),
                    Distro = info.Distro,
                    DistroVersion = info.DistroVersion,
                    Arch = info.Arch,
                    PythonVersion = info.PythonVersion,
                    PythonPath = info.PythonPath,
                    Glibc = info.Glibc,
                },
                InstallPath = spec.InstallPath,
                BuildImage = new BuildImage(job.Image.Name, job.Image.Id),
                BuildInputsHash = job.Key,
                SourceDateEpoch = spec.SourceDateEpoch,
                Packages = info.Packages,
                ConsoleScripts = info.ConsoleScripts,
                ManagementScripts = spec.ManagementScripts,
                RuntimePackages = spec.RuntimePackages,
                DistroPackages = spec.DistroPackages,
                BuildPackages = spec.BuildPackages,
                FileCount = packed.FileCount,
                UnpackedSize = packed.UnpackedSize,
                Archive = new ArchiveInfo
                {
                    FileName = id.ArchiveFileName,
                    Sha256 = packed.Sha256,
                    Size = packed.Size,
                    TarSha256 = packed.TarSha256,
                    TarSize = packed.TarSize,
                },
                Image = image is null ? null : new ImageInfo { FileName = id.ImageFileName, Format = ImageInfo.Squashfs, Sha256 = image.Sha256, Size = image.Size },
                TreeHash = packed.TreeHash,
                Rootwrap = spec.Rootwrap,
                Systemd = spec.Systemd,
                Tool = new ToolInfo("osva-build", BuildInputs.ToolVersion),
            };
            await output2.WriteAllBytesAsync(id.ChecksumFileName, System.Text.Encoding.UTF8.GetBytes(Sha256.ChecksumLine(packed.Sha256, id.ArchiveFileName)), ct);
            await output2.WriteAllBytesAsync(id.SbomFileName, Sbom.Write(manifest), ct);
            var manifestBytes = ArtifactJson.Serialize(manifest);
            if (signer is not null)
            {
                await output2.WriteAllBytesAsync(id.SignatureFileName, System.Text.Encoding.ASCII.GetBytes(signer.Sign(manifestBytes)), ct);
            }
            else
            {
                output2.RemoveOnCommit(id.SignatureFileName);
            }
            await output2.WriteAllBytesAsync(id.ManifestFileName, manifestBytes, ct);
            output2.Commit();
            log.Done(name);
            return new BuildOutcome(spec.Name, spec.Tag, platform.ToString(), Path.Combine(outDirectory, id.ArchiveFileName),
                packed.Sha256, packed.Size, "built", clock.Elapsed, new BuildTimes(pipTime, packClock.Elapsed));
        }
        finally
        {
            log.Done(name);
            await engine.RemoveContainerAsync(containerId);
        }
    }

    private static string JobJson(BuildJob job)
    {
        var spec = job.Spec;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("installPath", spec.InstallPath);
            w.WriteNumber("sourceDateEpoch", spec.SourceDateEpoch);
            if (spec.Wheelhouse is not null) w.WriteString("findLinks", "/osva/wheels");
            if (spec.Index is not null) w.WriteString("index", spec.Index);
            if (spec.Constraints is not null) w.WriteString("constraints", "/osva/constraints.txt");
            if (job.LockedRequirements is not null) w.WriteString("locked", "/osva/locked.txt");
            Strings(w, "requirements", spec.Requirements);
            Strings(w, "consoleScripts", [.. spec.ConsoleScripts.Union(spec.ManagementScripts, StringComparer.Ordinal)]);
            Strings(w, "distroPackages", spec.DistroPackages);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());

        static void Strings(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
        {
            w.WriteStartArray(name);
            foreach (var v in values) w.WriteStringValue(v);
            w.WriteEndArray();
        }
    }

    /// <summary>Maps the script's exit codes (see build-venv.py) and its OSVA-FAIL line to one error.</summary>
    private static BuilderException Failed(ServiceSpec spec, string platform, long exit, string output)
    {
        var cause = output.Split('\n').LastOrDefault(l => l.StartsWith("OSVA-FAIL: ", StringComparison.Ordinal))?["OSVA-FAIL: ".Length..].Trim()
            ?? output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim() ?? $"exit {exit}";
        var logFile = SaveLog(spec, platform, output);
        var (code, hint) = exit switch
        {
            21 => ("OSVA-B021", "add the missing wheel to the wheelhouse (osva-build wheels) or fix the requirement or constraint"),
            22 => ("OSVA-B022", "fix consoleScripts in the release file, or the requirement that should provide them"),
            23 => ("OSVA-B023", "a package installs a symlink out of the venv; drop it or take it from the distro (distroPackages)"),
            24 => ("OSVA-B024", "install the Debian package in the image (buildPackages) and list it in runtimePackages"),
            _ => ("OSVA-B020", "see the build log"),
        };
        return new BuilderException(code, $"service {spec.Name} on {platform}: {cause}", $"{hint}; full log: {logFile}");
    }

    private static string SaveLog(ServiceSpec spec, string platform, string output)
    {
        var dir = Path.Combine(Path.GetTempPath(), "osva-build-logs");
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, $"{spec.Name}-{spec.Tag}-{platform}.log");
        File.WriteAllText(file, output);
        return file;
    }

    private sealed record ContainerInfo(string Distro, string DistroVersion, string Arch, string PythonVersion, string PythonPath, string Glibc,
        IReadOnlyList<PackageEntry> Packages, IReadOnlyList<string> ConsoleScripts);

    private async Task<ContainerInfo> ReadInfoAsync(string containerId, CancellationToken ct)
    {
        await using var tar = await engine.GetArchiveAsync(containerId, "/osva/out/info.json", ct);
        await using var reader = new TarReader(tar);
        var entry = await reader.GetNextEntryAsync(copyData: true, ct) ?? throw new InvalidDataException("info.json missing from the container");
        using var doc = await JsonDocument.ParseAsync(entry.DataStream!, cancellationToken: ct);
        var r = doc.RootElement;
        string S(string key) => r.GetProperty(key).GetString() ?? "";
        return new ContainerInfo(S("distro"), S("distroVersion"), S("arch"), S("pythonVersion"), S("pythonPath"), S("glibc"),
            [.. r.GetProperty("packages").EnumerateArray().Select(p => new PackageEntry(
                p.GetProperty("name").GetString()!, p.GetProperty("version").GetString()!,
                p.GetProperty("wheelSha256").ValueKind == JsonValueKind.String ? p.GetProperty("wheelSha256").GetString() : null))],
            [.. r.GetProperty("consoleScripts").EnumerateArray().Select(s => s.GetString()!)]);
    }

    /// <summary>The platform as found inside the container; RHEL-like distros are named by major version only.</summary>
    private static PlatformId PlatformOf(ContainerInfo info)
    {
        var version = info.Distro is "rocky" or "almalinux" or "rhel" or "centos" ? info.DistroVersion.Split('.')[0] : info.DistroVersion;
        return PlatformId.Parse($"{info.Distro}-{version}-{info.Arch}-py{info.PythonVersion}");
    }
}
