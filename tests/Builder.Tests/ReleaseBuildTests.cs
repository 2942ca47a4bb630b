using System.Text.Json;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Builder.Tests;

[Collection(RealEngineGroup.Name)]
public sealed class ReleaseBuildTests(BuildFixture fixture)
{
    private static readonly string[] Services = ["demo", "native", "tools"];

    private static Dictionary<string, string> Lines(ProcessResult r) => r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select(l => l.Split(' ')).ToDictionary(p => Path.GetFileName(p[0]), p => $"{p[1]} {p[2]} {p[3]}");

    private static async Task<Manifest> ManifestAsync(string dir, string service)
    {
        var path = Directory.GetFiles(dir, $"{service}-*.manifest.json").Single();
        await using var stream = File.OpenRead(path);
        return await ArtifactJson.ReadManifestAsync(stream, path, CancellationToken.None);
    }

    [DockerFact]
    public void Wheels_are_built_from_local_sources_without_network()
    {
        Assert.True(fixture.Wheelhouse!.ExitCode == 0, fixture.Wheelhouse.ToString());
        var wheels = Directory.GetFiles(fixture.Wheels).Select(Path.GetFileName).Order().ToList();

        Assert.Equal(3, wheels.Count);
        Assert.Contains(wheels, w => w!.StartsWith("osva_demo_native-1.0.0-cp311-cp311-", StringComparison.Ordinal));
        Assert.Contains("osva_demo_hello-1.0.0-py3-none-any.whl", wheels);
    }

    [DockerFact]
    public async Task Two_clean_builds_of_three_services_give_identical_sha256()
    {
        var first = await fixture.FirstBuildAsync();
        var secondOut = Path.Combine(fixture.Root, "out2");
        var second = await BuildTool.RunAsync(["build", fixture.Release, "--out", secondOut, "--jobs", "2"]);

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(second.ExitCode == 0, second.ToString());
        var a = Lines(first);
        var b = Lines(second);
        Assert.Equal(3, a.Count);
        Assert.All(a.Values, v => Assert.EndsWith(" built", v, StringComparison.Ordinal));
        Assert.Equal(a, b);
        foreach (var service in Services)
        {
            var archive = Path.GetFileName(Directory.GetFiles(fixture.FirstOut, $"{service}-*.tar.gz").Single());
            var diff = await BuildTool.RunAsync(["diff", Path.Combine(fixture.FirstOut, archive), Path.Combine(secondOut, archive)]);
            Assert.True(diff.ExitCode == 0 && diff.Stdout.Trim() == "identical", diff.ToString());
        }
    }

    [DockerFact]
    public async Task Second_build_of_an_unchanged_release_rebuilds_nothing()
    {
        Assert.Equal(0, (await fixture.FirstBuildAsync()).ExitCode);
        var before = Directory.GetFiles(fixture.FirstOut).ToDictionary(f => f, File.GetLastWriteTimeUtc);

        var again = await BuildTool.RunAsync(["build", fixture.Release, "--out", fixture.FirstOut]);

        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.All(Lines(again).Values, v => Assert.EndsWith(" cached", v, StringComparison.Ordinal));
        Assert.Equal(3, Lines(again).Count);
        Assert.Equal(before, Directory.GetFiles(fixture.FirstOut).ToDictionary(f => f, File.GetLastWriteTimeUtc));
    }

    [DockerFact]
    public async Task Built_artifacts_read_the_same_in_gnu_tar_bsdtar_python_and_dotnet()
    {
        Assert.Equal(0, (await fixture.FirstBuildAsync()).ExitCode);

        foreach (var service in Services)
        {
            var archive = Directory.GetFiles(fixture.FirstOut, $"{service}-*.tar.gz").Single();
            var listings = await ArchiveListings.ListAllAsync(archive);
            var comparison = ArchiveListings.Compare(listings);

            Assert.True(comparison.Same, $"{Path.GetFileName(archive)}:\n{comparison}");
            Assert.True(listings.Count >= 4, comparison.ToString());
            Assert.All(listings[0].Records, r => Assert.True(r is { Uid: 0, Gid: 0, UserName: "root", GroupName: "root" }, r.ToString()));
            Assert.Contains(listings[0].Records, r => r is { Name: "bin/python", Type: "symlink", LinkTarget: "/usr/bin/python3.11" });
        }
    }

    [DockerFact]
    public async Task Manifest_records_platform_packages_hashes_and_hints()
    {
        Assert.Equal(0, (await fixture.FirstBuildAsync()).ExitCode);
        var demo = await ManifestAsync(fixture.FirstOut, "demo");
        var native = await ManifestAsync(fixture.FirstOut, "native");

        Assert.Equal("debian-12-x86_64-py3.11", demo.Platform.Id);
        Assert.Equal("/usr/bin/python3.11", demo.Platform.PythonPath);
        Assert.Matches(@"^2\.\d+$", demo.Platform.Glibc);
        Assert.Equal($"{BuildFixture.InstallRoot}/demo-1.0.0", demo.InstallPath);
        Assert.StartsWith("osva/debian-12:", demo.BuildImage.Name, StringComparison.Ordinal);
        Assert.StartsWith("sha256:", demo.BuildImage.Id, StringComparison.Ordinal);
        Assert.StartsWith("sha256:", demo.BuildInputsHash, StringComparison.Ordinal);
        Assert.NotEqual(demo.BuildInputsHash, native.BuildInputsHash);
        var hello = Assert.Single(demo.Packages, p => p.Name == "osva-demo-hello");
        var wheel = Directory.GetFiles(fixture.Wheels, "osva_demo_hello-*.whl").Single();
        Assert.Equal(await Sha256.OfFileAsync(wheel, CancellationToken.None), hello.WheelSha256);
        Assert.Contains("osva-hello", demo.ConsoleScripts);
        Assert.Contains("osva-hello-manage", demo.ConsoleScripts);
        Assert.Equal(["python3.11"], demo.RuntimePackages);
        Assert.Equal("demo-rootwrap", demo.Rootwrap!.Command);
        Assert.Equal("demo-api", Assert.Single(demo.Systemd!.Units).Name);
        var archive = Path.Combine(fixture.FirstOut, demo.Archive.FileName);
        Assert.Equal(await Sha256.OfFileAsync(archive, CancellationToken.None), demo.Archive.Sha256);
        Assert.Equal(new FileInfo(archive).Length, demo.Archive.Size);
        Assert.True(demo.FileCount > 100 && demo.UnpackedSize > 1_000_000);
        var check = await ProcessRunner.RunAsync("sha256sum", ["-c", demo.Archive.FileName + ".sha256"], workingDirectory: fixture.FirstOut);
        Assert.True(check.ExitCode == 0, check.ToString());
        using var sbom = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(fixture.FirstOut, demo.Id.SbomFileName)));
        Assert.Equal("1.5", sbom.RootElement.GetProperty("specVersion").GetString());
        Assert.Contains(sbom.RootElement.GetProperty("components").EnumerateArray(), c => c.GetProperty("purl").GetString() == "pkg:pypi/osva-demo-hello@1.0.0");
    }

    [DockerFact]
    public async Task C_extension_console_script_runs_from_the_unpacked_venv_without_network()
    {
        Assert.Equal(0, (await fixture.FirstBuildAsync()).ExitCode);
        var native = await ManifestAsync(fixture.FirstOut, "native");
        Assert.NotNull(Assert.Single(native.Packages, p => p.Name == "osva-demo-native").WheelSha256);

        // The venv only works at its install path, so it is unpacked there inside a throwaway container of the platform image.
        var run = await ProcessRunner.RunAsync("docker",
        [
            "run", "--rm", "--network", "none", "--name", $"osva-bt-run-{Guid.NewGuid():N}", "-v", $"{fixture.FirstOut}:/artifacts:ro",
            native.BuildImage.Id, "sh", "-c",
            $"mkdir -p {native.InstallPath} && tar -xzf /artifacts/{native.Archive.FileName} -C {native.InstallPath} && {native.InstallPath}/bin/osva-native && readlink {native.InstallPath}/bin/python",
        ]);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(["native 2+3=5", native.Platform.PythonPath], run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [DockerFact]
    public async Task Locked_rebuild_from_a_manifest_gives_the_same_bytes()
    {
        Assert.Equal(0, (await fixture.FirstBuildAsync()).ExitCode);
        var demo = await ManifestAsync(fixture.FirstOut, "demo");
        var output = Path.Combine(fixture.Root, "rebuilt");

        var r = await BuildTool.RunAsync(["rebuild", Path.Combine(fixture.FirstOut, demo.Id.ManifestFileName), "--wheelhouse", fixture.Wheels, "--out", output]);

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("(identical to the manifest)", r.Stdout, StringComparison.Ordinal);
        Assert.Equal(demo.Archive.Sha256, await Sha256.OfFileAsync(Path.Combine(output, demo.Archive.FileName), CancellationToken.None));
    }

    [DockerFact]
    public async Task Locked_rebuild_refuses_a_wheel_whose_hash_moved()
    {
        Assert.Equal(0, (await fixture.FirstBuildAsync()).ExitCode);
        var demo = await ManifestAsync(fixture.FirstOut, "demo");
        var moved = Path.Combine(fixture.Root, "moved-wheels");
        Directory.CreateDirectory(moved);
        var wheel = Directory.GetFiles(fixture.Wheels, "osva_demo_hello-*.whl").Single();
        File.Copy(wheel, Path.Combine(moved, Path.GetFileName(wheel)));
        await using (var append = new FileStream(Path.Combine(moved, Path.GetFileName(wheel)), FileMode.Append)) append.WriteByte(0);
        var output = Path.Combine(fixture.Root, "rebuilt-moved");

        var r = await BuildTool.RunAsync(["rebuild", Path.Combine(fixture.FirstOut, demo.Id.ManifestFileName), "--wheelhouse", moved, "--out", output]);

        Assert.Equal(8, r.ExitCode);
        Assert.Contains("service demo", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("hash", r.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(Directory.GetFileSystemEntries(output));
    }
}
