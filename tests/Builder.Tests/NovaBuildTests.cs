using System.Text.Json;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.TestSupport;
using Xunit.Abstractions;

namespace OsVenvArtifacts.Builder.Tests;

/// <summary>What one osva-build run of the nova release printed, with the manifest it left behind.</summary>
public sealed record NovaBuild(NovaWheelhouse Wheelhouse, ProcessResult Result, string OutDirectory, Manifest? Manifest, JsonElement? Outcome);

/// <summary>
/// A real OpenStack service: Debian's python3-nova closure as a wheelhouse (made once and cached, see
/// <see cref="BuildNovaWheelhouse"/>), built by the real osva-build into an output directory that is also
/// cached between runs (<c>/var/cache/osva/nova-out</c>), so that an unchanged second run is a cache hit in
/// osva-build itself and only the unpack-and-run check costs time.
/// </summary>
public sealed class NovaBuildFixture : IDisposable
{
    private readonly TempDirectory _dir = new("nova-build");
    private readonly Lazy<Task<NovaBuild>> _build;

    public NovaBuildFixture() => _build = new Lazy<Task<NovaBuild>>(BuildOnceAsync);

    public static string OutDirectory => Path.Combine(BuildNovaWheelhouse.CacheRoot, "nova-out");

    /// <summary>The console scripts nova's entry points provide that operators run; the build fails if one is missing.</summary>
    public static readonly string[] Scripts = ["nova-manage", "nova-api", "nova-compute", "nova-conductor", "nova-scheduler", "nova-rootwrap", "nova-rootwrap-daemon"];

    public Task<NovaBuild> BuildAsync() => _build.Value;

    private async Task<NovaBuild> BuildOnceAsync()
    {
        var wheelhouse = await BuildNovaWheelhouse.EnsureAsync();
        var release = _dir.Combine("release.yaml");
        await File.WriteAllTextAsync(release, $"""
            release: nova-from-debian
            defaults:
              platforms: [debian-12]
              wheelhouse: {wheelhouse.Directory}
              sourceDateEpoch: 1700000000
            services:
              - name: nova
                tag: {wheelhouse.NovaVersion}
                requirements: [nova=={wheelhouse.NovaVersion}]
                consoleScripts: [{string.Join(", ", Scripts)}]
                runtimePackages: [{string.Join(", ", wheelhouse.RuntimePackages)}]
                systemd:
                  units:
                    - {"{"} name: nova-api, execStart: nova-api {"}"}
                    - {"{"} name: nova-compute, execStart: nova-compute {"}"}
                    - {"{"} name: nova-conductor, execStart: nova-conductor {"}"}
                    - {"{"} name: nova-scheduler, execStart: nova-scheduler {"}"}
                rootwrap: {"{"} configPath: /etc/nova/rootwrap.conf, command: nova-rootwrap, daemonCommand: nova-rootwrap-daemon {"}"}
            """);
        var result = await BuildTool.RunAsync(["build", release, "--out", OutDirectory, "--json"], timeout: TimeSpan.FromMinutes(40));
        if (result.ExitCode != 0) return new NovaBuild(wheelhouse, result, OutDirectory, null, null);
        using var json = JsonDocument.Parse(result.Stdout);
        var outcome = json.RootElement.EnumerateArray().Single().Clone();
        var id = new ArtifactId("nova", wheelhouse.NovaVersion, PlatformId.Parse(outcome.GetProperty("platform").GetString()!));
        var manifestPath = Path.Combine(OutDirectory, id.ManifestFileName);
        await using var stream = File.OpenRead(manifestPath);
        var manifest = await ArtifactJson.ReadManifestAsync(stream, manifestPath, CancellationToken.None);
        return new NovaBuild(wheelhouse, result, OutDirectory, manifest, outcome);
    }

    public void Dispose() => _dir.Dispose();
}

public sealed class NovaBuildTests(NovaBuildFixture fixture, ITestOutputHelper output) : IClassFixture<NovaBuildFixture>
{
    private async Task<(NovaBuild Build, Manifest Manifest)> BuiltAsync()
    {
        var build = await fixture.BuildAsync();
        Assert.True(build.Result.ExitCode == 0, build.Result.ToString());
        output.WriteLine($"wheelhouse {build.Wheelhouse.Directory}: {build.Wheelhouse.WheelCount} wheels, " +
            (build.Wheelhouse.Created ? $"made in {build.Wheelhouse.Elapsed.TotalSeconds:F0} s" : "from the cache"));
        output.WriteLine($"osva-build: {build.Outcome}\n{build.Result.Stderr}");
        return (build, build.Manifest!);
    }

    [DockerFact]
    public async Task Nova_builds_from_Debian_wheels_and_the_manifest_lists_its_whole_closure()
    {
        var (build, manifest) = await BuiltAsync();
        var version = build.Wheelhouse.NovaVersion;

        Assert.Equal("nova", manifest.Service);
        Assert.Equal(version, manifest.Tag);
        Assert.Equal($"/openstack/venvs/nova-{version}", manifest.InstallPath);
        var archive = Path.Combine(build.OutDirectory, manifest.Archive.FileName);
        Assert.True(File.Exists(archive), archive);
        Assert.Equal(new FileInfo(archive).Length, manifest.Archive.Size);
        var nova = Assert.Single(manifest.Packages, p => p.Name == "nova");
        Assert.Equal(version, nova.Version);
        var wheel = Directory.GetFiles(build.Wheelhouse.Directory, $"nova-{version}-*.whl").Single();
        Assert.Equal(await Sha256.OfFileAsync(wheel, CancellationToken.None), nova.WheelSha256);
        Assert.True(manifest.Packages.Count > 150, $"only {manifest.Packages.Count} packages");
        // Every package from the wheelhouse records its wheel, also a local version whose '+' pip reports URL-quoted (cmd2 2.4.2+ds);
        // only the venv's own pip and setuptools come from ensurepip.
        Assert.Equal(["pip", "setuptools"], manifest.Packages.Where(p => p.WheelSha256 is null).Select(p => p.Name).Order());
        Assert.Contains(manifest.Packages, p => p.Version.Contains('+', StringComparison.Ordinal) && p.WheelSha256 is not null);
        Assert.Contains(manifest.Packages, p => p.Name == "oslo.config");
        Assert.True(manifest.FileCount > 10_000, $"only {manifest.FileCount} files");
        Assert.All(NovaBuildFixture.Scripts, s => Assert.Contains(s, manifest.ConsoleScripts));
        Assert.Equal("nova-rootwrap", manifest.Rootwrap!.Command);
        Assert.Equal("/etc/nova/rootwrap.conf", manifest.Rootwrap.ConfigPath);
        Assert.Contains(manifest.Systemd!.Units, u => u.Name == "nova-compute" && u.ExecStart == "nova-compute");
        // The shared libraries Debian's extension modules load (PyNaCl's libsodium among them) are what a host must install.
        Assert.Equal(build.Wheelhouse.RuntimePackages, manifest.RuntimePackages);
        Assert.Contains("libsodium23", manifest.RuntimePackages);
        output.WriteLine($"{manifest.Archive.FileName}: {manifest.Archive.Size} bytes gzipped, {manifest.Archive.TarSize} bytes tar, " +
            $"{manifest.UnpackedSize} bytes in {manifest.FileCount} files, {manifest.Packages.Count} packages");
    }

    [DockerFact]
    public async Task Nova_artifact_reads_the_same_in_gnu_tar_bsdtar_python_and_dotnet()
    {
        var (build, manifest) = await BuiltAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var comparison = await ArchiveListings.CompareAllAsync(Path.Combine(build.OutDirectory, manifest.Archive.FileName));

        output.WriteLine($"listed by {comparison.EntriesByReader.Count} readers in {clock.Elapsed.TotalSeconds:F1} s\n{comparison}");
        Assert.True(comparison.Same, comparison.ToString());
        Assert.True(comparison.EntriesByReader.Count >= 4 && comparison.EntriesByReader.Values.All(n => n > manifest.FileCount), comparison.ToString());
    }

    [DockerFact]
    public async Task Nova_manage_from_the_unpacked_artifact_prints_the_nova_version()
    {
        var (build, manifest) = await BuiltAsync();
        var host = await BuildNovaWheelhouse.EnsureRuntimeImageAsync(manifest.BuildImage.Id, manifest.RuntimePackages);

        // The scripts' shebangs name the install path, so the venv is unpacked there, inside a throwaway container
        // (the image it was built on plus the manifest's runtime packages), without network, and run through its shebang.
        // A tmpfs under the install path: unpacking 22k files into the container's overlay layer takes 23 s, into tmpfs 2 s.
        var run = await ProcessRunner.RunAsync("docker",
        [
            "run", "--rm", "--network", "none", "--name", $"{BuildNovaWheelhouse.ContainerPrefix}run-{Guid.NewGuid():N}",
            "--tmpfs", $"{Path.GetDirectoryName(manifest.InstallPath)}:exec,size=1g",
            "-v", $"{build.OutDirectory}:/artifacts:ro", host, "sh", "-c",
            $"mkdir -p {manifest.InstallPath} && tar -xzf /artifacts/{manifest.Archive.FileName} -C {manifest.InstallPath} " +
            $"&& {manifest.InstallPath}/bin/nova-manage --version",
        ], timeout: TimeSpan.FromMinutes(5));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(build.Wheelhouse.NovaVersion, run.Stdout.Trim());
    }

    [DockerFact]
    public async Task Nova_installed_by_the_real_installer_verifies_clean_and_repair_brings_back_deleted_and_edited_files()
    {
        var (build, manifest) = await BuiltAsync();
        using var temp = new TempDirectory("nova-verify");
        var (store, root) = (temp.Combine("store"), temp.Combine("root"));
        var id = new ArtifactId(manifest.Service, manifest.Tag, PlatformId.Parse(manifest.Platform.Id));
        var manifestFile = Path.Combine(build.OutDirectory, id.ManifestFileName);
        await InstallStore.PublishAsync(store, new InstallArtifactFiles(manifest, Path.Combine(build.OutDirectory, id.ArchiveFileName),
            Path.Combine(build.OutDirectory, id.ArchiveFileName + ".sha256"), manifestFile, await File.ReadAllBytesAsync(manifestFile)));
        // A root that is a whole Debian system for the host checks: this machine's release, python and packages, plus
        // the manifest's runtime libraries marked installed (nothing here runs nova; verify and repair only read files).
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        Directory.CreateDirectory(Path.Combine(root, "usr/bin"));
        Directory.CreateDirectory(Path.Combine(root, "var/lib/dpkg"));
        File.Copy("/etc/os-release", Path.Combine(root, "etc/os-release"));
        File.CreateSymbolicLink(Path.Combine(root, "usr/bin/python3.11"), "/usr/bin/python3.11");
        File.CreateSymbolicLink(Path.Combine(root, "usr/bin/python3"), "python3.11");
        await File.WriteAllTextAsync(Path.Combine(root, "var/lib/dpkg/status"), await File.ReadAllTextAsync("/var/lib/dpkg/status")
            + string.Concat(manifest.RuntimePackages.Select(p => $"\nPackage: {p}\nStatus: install ok installed\nVersion: 0\n")));
        var tag = manifest.Tag;
        var venv = Path.Combine(root, manifest.InstallPath.TrimStart('/'));
        var site = Path.Combine(venv, "lib/python3.11/site-packages");

        var installed = await OsvaPrograms.InstallAsync(["install", "nova", tag, "--store", store, "--root", root, "--no-activate"]);
        var clean = await OsvaPrograms.InstallAsync(["verify", "nova", tag, "--root", root]);
        Directory.Delete(Path.Combine(site, "nova/api"), recursive: true);
        await File.AppendAllTextAsync(Path.Combine(venv, "bin/nova-manage"), "# edited\n");
        File.Delete(Path.Combine(site, "setuptools/script (dev).tmpl"));
        var drifted = await OsvaPrograms.InstallAsync(["verify", "nova", tag, "--root", root]);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var repaired = await OsvaPrograms.InstallAsync(["repair", "nova", tag, "--store", store, "--root", root]);
        var repairTime = clock.Elapsed;
        var again = await OsvaPrograms.InstallAsync(["verify", "nova", tag, "--root", root]);

        Assert.True(installed.ExitCode == 0, installed.ToString());
        Assert.True(clean.ExitCode == 0, clean.ToString());
        Assert.Equal($"nova {tag}: no drift\n", clean.Stdout);
        Assert.True(drifted.ExitCode == 4, drifted.ToString());
        Assert.Contains("missing lib/python3.11/site-packages/setuptools/script (dev).tmpl\n", drifted.Stdout, StringComparison.Ordinal);
        Assert.Contains("modified bin/nova-manage\n", drifted.Stdout, StringComparison.Ordinal);
        Assert.Contains("missing lib/python3.11/site-packages/nova/api/__init__.py\n", drifted.Stdout, StringComparison.Ordinal);
        Assert.True(repaired.ExitCode == 0, repaired.ToString());
        Assert.True(again.ExitCode == 0, again.ToString());
        output.WriteLine($"{drifted.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]}; repaired in {repairTime.TotalSeconds:F1} s");
    }
}
