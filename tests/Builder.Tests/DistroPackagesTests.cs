using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Builder.Docker;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Builder.Tests;

/// <summary>
/// One build of a service that takes PyYAML from Debian: <c>buildPackages: [python3-yaml]</c> puts the package into a
/// derived image (apt over network host, built by osva-build), <c>distroPackages: [yaml]</c> makes the venv see it.
/// The derived image is removed afterwards when this run created it, so every run exercises its build.
/// </summary>
public sealed class DistroBuildFixture : IAsyncLifetime
{
    private Task<(ProcessResult Result, string Out)>? _build;
    private HashSet<string> _derivedBefore = [];

    public static string Release(string extra) => $"""
        defaults:
          platforms: [debian-12]
          wheelhouse: ./wheels
          installPath: {BuildFixture.InstallRoot}/{'{'}service{'}'}-{'{'}tag{'}'}
          sourceDateEpoch: 1700000000
        services:
          - name: withyaml
            tag: 1.0.0
            requirements: [osva-demo-hello==1.0.0]
            consoleScripts: [osva-hello]
            distroPackages: [yaml]
        {extra}
        """;

    public Task<(ProcessResult Result, string Out)> BuildAsync(BuildFixture fixture)
    {
        lock (this)
        {
            _build ??= RunAsync(fixture);
            return _build;
        }
    }

    private static async Task<(ProcessResult, string)> RunAsync(BuildFixture fixture)
    {
        var dir = fixture.NewCase("distro", Release("    buildPackages: [python3-yaml]\n    runtimePackages: [python3-yaml]"));
        var output = Path.Combine(dir, "out");
        return (await BuildTool.RunAsync(["build", Path.Combine(dir, "release.yaml"), "--out", output]), output);
    }

    public static async Task<HashSet<string>> DerivedImagesAsync()
    {
        var r = await ProcessRunner.RunAsync("docker", ["images", "osva/debian-12-build", "--format", "{{.Repository}}:{{.Tag}}"]);
        return [.. r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    public async Task InitializeAsync()
    {
        if (TestEnvironment.InCi || TestEnvironment.DockerAnswers()) _derivedBefore = await DerivedImagesAsync();
    }

    public async Task DisposeAsync()
    {
        if (_build is null || !_build.IsCompletedSuccessfully) return;
        foreach (var image in (await DerivedImagesAsync()).Except(_derivedBefore))
        {
            await ProcessRunner.RunAsync("docker", ["rmi", image]);
        }
    }
}

[Collection(RealEngineGroup.Name)]
public sealed class DistroPackagesTests(BuildFixture fixture, DistroBuildFixture distro) : IClassFixture<DistroBuildFixture>
{
    private async Task<(Manifest Manifest, string Out)> BuiltAsync()
    {
        var (r, output) = await distro.BuildAsync(fixture);
        Assert.True(r.ExitCode == 0, r.ToString());
        return (await ReadManifestAsync(Directory.GetFiles(output, "withyaml-*.manifest.json").Single()), output);
    }

    private static async Task<Manifest> ReadManifestAsync(string path)
    {
        await using var stream = File.OpenRead(path);
        return await ArtifactJson.ReadManifestAsync(stream, path, CancellationToken.None);
    }

    private static Task<ProcessResult> InImageAsync(string image, string script, string? mount = null) =>
        ProcessRunner.RunAsync("docker",
        [
            "run", "--rm", "--network", "none", "--name", $"osva-sg-{Guid.NewGuid():N}",
            .. mount is null ? Array.Empty<string>() : ["-v", $"{mount}:/artifacts:ro"],
            image, "sh", "-c", script,
        ]);

    [DockerFact]
    public async Task Build_packages_are_installed_in_a_derived_image_that_the_build_runs_in()
    {
        var (manifest, _) = await BuiltAsync();
        var platformImage = PlatformImages.TagFor("debian-12", PlatformImages.FolderHash(Path.Combine(TestEnvironment.RepoRoot, "images", "debian-12")));

        Assert.StartsWith("osva/debian-12-build:", manifest.BuildImage.Name, StringComparison.Ordinal);
        var derived = await InImageAsync(manifest.BuildImage.Id, "dpkg-query -W -f '${Status}' python3-yaml");
        Assert.True(derived.ExitCode == 0 && derived.Stdout == "install ok installed", derived.ToString());
        // The platform image itself lacks it, so the package can only have come from buildPackages.
        var plain = await InImageAsync(platformImage, "dpkg-query -W -f '${Status}' python3-yaml");
        Assert.True(plain.ExitCode != 0, plain.ToString());
    }

    [DockerFact]
    public async Task Distro_package_imports_inside_the_built_venv_and_is_recorded_in_the_manifest()
    {
        var (manifest, output) = await BuiltAsync();

        var pyyaml = Assert.Single(manifest.Packages, p => p.Name == "PyYAML");
        Assert.Null(pyyaml.WheelSha256);
        Assert.Matches(@"^\d+\.\d+", pyyaml.Version);
        Assert.NotNull(Assert.Single(manifest.Packages, p => p.Name == "osva-demo-hello").WheelSha256);
        Assert.Equal(["python3-yaml"], manifest.RuntimePackages);

        var venv = manifest.InstallPath;
        var run = await InImageAsync(manifest.BuildImage.Id,
            $"mkdir -p {venv} && tar -xzf /artifacts/{manifest.Archive.FileName} -C {venv} && grep include-system-site-packages {venv}/pyvenv.cfg"
            + $" && {venv}/bin/python -c 'import sys, yaml; print(sys.prefix); print(yaml.__file__); print(yaml.safe_dump({{\"a\": 1}}).strip())'"
            + $" && {venv}/bin/osva-hello", output);

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("include-system-site-packages = true", lines[0]);
        Assert.Equal(venv, lines[1]);
        Assert.StartsWith("/usr/lib/python3/dist-packages/yaml/", lines[2], StringComparison.Ordinal);
        Assert.Equal("a: 1", lines[3]);
        Assert.StartsWith("hello from osva", lines[4], StringComparison.Ordinal);
    }

    [DockerFact]
    public async Task Manifest_records_the_distro_and_build_packages_the_build_used()
    {
        var (manifest, _) = await BuiltAsync();

        Assert.Equal(["yaml"], manifest.DistroPackages);
        Assert.Equal(["python3-yaml"], manifest.BuildPackages);
    }

    [DockerFact]
    public async Task Locked_rebuild_of_a_distro_packages_manifest_gives_the_same_bytes()
    {
        var (manifest, output) = await BuiltAsync();
        var rebuilt = Path.Combine(fixture.Root, "distro-rebuilt");

        var r = await BuildTool.RunAsync(["rebuild", Path.Combine(output, manifest.Id.ManifestFileName), "--wheelhouse", fixture.Wheels, "--out", rebuilt]);

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("(identical to the manifest)", r.Stdout, StringComparison.Ordinal);
        Assert.Equal(manifest.Archive.Sha256, await Sha256.OfFileAsync(Path.Combine(rebuilt, manifest.Archive.FileName), CancellationToken.None));
        var again = await ReadManifestAsync(Path.Combine(rebuilt, manifest.Id.ManifestFileName));
        Assert.Equal(manifest.BuildImage, again.BuildImage);
        Assert.Equal(manifest.Packages, again.Packages);
        Assert.Equal(manifest.DistroPackages, again.DistroPackages);
        Assert.Equal(manifest.BuildPackages, again.BuildPackages);
    }

    /// <summary>
    /// The engine still has the derived image (this class removes it only at the end), so its loss is simulated by a copy
    /// of the manifest naming an image ID that does not exist: rebuild must derive the image again from buildPackages.
    /// </summary>
    [DockerFact]
    public async Task Locked_rebuild_with_the_build_image_gone_simulated_derives_it_again_from_the_build_packages()
    {
        var (manifest, _) = await BuiltAsync();
        var dir = Path.Combine(fixture.Root, "distro-image-gone");
        Directory.CreateDirectory(dir);
        var gone = Path.Combine(dir, manifest.Id.ManifestFileName);
        await File.WriteAllBytesAsync(gone, ArtifactJson.Serialize(manifest with
        {
            BuildImage = manifest.BuildImage with { Id = "sha256:" + new string('0', 64) },
        }));
        var rebuilt = Path.Combine(dir, "out");

        var r = await BuildTool.RunAsync(["rebuild", gone, "--wheelhouse", fixture.Wheels, "--out", rebuilt]);

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("is gone", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("(identical to the manifest)", r.Stdout, StringComparison.Ordinal);
        var again = await ReadManifestAsync(Path.Combine(rebuilt, manifest.Id.ManifestFileName));
        Assert.Equal(manifest.BuildImage, again.BuildImage);
        Assert.Equal(manifest.Archive.Sha256, again.Archive.Sha256);
    }

    [DockerFact]
    public async Task A_distro_package_the_image_lacks_fails_the_build_naming_the_module()
    {
        var dir = fixture.NewCase("distro-missing", DistroBuildFixture.Release(""));
        var output = Path.Combine(dir, "out");

        var r = await BuildTool.RunAsync(["build", Path.Combine(dir, "release.yaml"), "--out", output]);

        Assert.Equal(8, r.ExitCode);
        var error = Assert.Single(r.Stderr.Split('\n'), l => l.StartsWith("osva-build: error", StringComparison.Ordinal));
        Assert.Contains("OSVA-B024", error, StringComparison.Ordinal);
        Assert.Contains("service withyaml", error, StringComparison.Ordinal);
        Assert.Contains("'yaml'", error, StringComparison.Ordinal);
        Assert.True(!Directory.Exists(output) || Directory.GetFileSystemEntries(output).Length == 0, "nothing is left in --out");
    }
}
