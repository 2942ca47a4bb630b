using System.Text.Json;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Integration.Tests;

/// <summary>
/// The whole path with real parts: osva-build on the Docker engine, osva-publish to s3rver on loopback
/// and to a directory, the NativeAOT osva-install into a scratch root with real visudo, then the
/// installed console script runs.
/// </summary>
[Collection(SharedDemoRelease.Name)]
public sealed class WalkingSkeletonTests(DemoReleaseFixture release)
{
    [DockerAndS3Fact]
    public async Task Build_publish_to_s3_and_install_runs_the_console_script()
    {
        release.EnsureBuilt();
        var store = $"s3://{TestEnvironment.S3Bucket}/walking-{Guid.NewGuid():N}";
        var env = OsvaPrograms.S3Environment();
        using var root = new TempDirectory("root");
        AddDemoUnit(root);

        var published = await OsvaPrograms.PublishAsync(["publish", release.OutDir, "--store", store], env);
        Assert.True(published.ExitCode == 0, published.ToString());

        var installed = await OsvaPrograms.InstallAsync(["install", "demo", "1.0.0", "--store", store, "--root", root.Path], env);
        Assert.True(installed.ExitCode == 0, installed.ToString());

        var venv = root.Combine("openstack", "venvs", "demo-1.0.0");
        var hello = await ProcessRunner.RunAsync(Path.Combine(venv, "bin", "python"), [Path.Combine(venv, "bin", "osva-hello")]);
        Assert.True(hello.ExitCode == 0, hello.ToString());
        Assert.StartsWith("hello from osva 1.0.0", hello.Stdout, StringComparison.Ordinal);

        await AssertActivatedAsync(root, "1.0.0");
    }

    [DockerFact]
    public async Task Build_publish_to_directory_and_install_activates_the_tag()
    {
        release.EnsureBuilt();
        using var store = new TempDirectory("store");
        using var root = new TempDirectory("root");
        AddDemoUnit(root);

        var published = await OsvaPrograms.PublishAsync(["publish", release.OutDir, "--store", store.Path]);
        Assert.True(published.ExitCode == 0, published.ToString());
        Assert.True(File.Exists(store.Combine("demo", "index.json")), "the index is written");
        Assert.True(File.Exists(store.Combine("demo", "1.0.0", Path.GetFileName(release.ArtifactFile("1.0.0", ".tar.gz")))));

        var installed = await OsvaPrograms.InstallAsync(["install", "demo", "1.0.0", "--store", store.Path, "--root", root.Path]);
        Assert.True(installed.ExitCode == 0, installed.ToString());
        await AssertActivatedAsync(root, "1.0.0");

        // sha256sum -c accepts the checksum file as written, next to the archive.
        var check = await ProcessRunner.RunAsync("sha256sum", ["-c", Path.GetFileName(release.ArtifactFile("1.0.0", ".tar.gz.sha256"))],
            workingDirectory: release.OutDir);
        Assert.True(check.ExitCode == 0, check.ToString());
    }

    [DockerFact]
    public async Task Tampered_archive_is_refused_before_unpacking_and_the_previous_tag_stays_active()
    {
        release.EnsureBuilt();
        using var store = new TempDirectory("store");
        using var root = new TempDirectory("root");
        AddDemoUnit(root);
        var published = await OsvaPrograms.PublishAsync(["publish", release.OutDir, "--store", store.Path]);
        Assert.True(published.ExitCode == 0, published.ToString());
        var first = await OsvaPrograms.InstallAsync(["install", "demo", "1.0.0", "--store", store.Path, "--root", root.Path]);
        Assert.True(first.ExitCode == 0, first.ToString());
        var sudoersBefore = await File.ReadAllTextAsync(root.Combine("etc", "sudoers.d", "demo_osva"));

        var archiveName = Path.GetFileName(release.ArtifactFile("2.0.0", ".tar.gz"));
        var archive = store.Combine("demo", "2.0.0", archiveName);
        await using (var file = new FileStream(archive, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = file.Length / 2;
            var b = file.ReadByte();
            file.Position = file.Length / 2;
            file.WriteByte((byte)(b ^ 0x01));
        }

        var second = await OsvaPrograms.InstallAsync(["install", "demo", "2.0.0", "--store", store.Path, "--root", root.Path]);

        Assert.NotEqual(0, second.ExitCode);
        var error = second.Stderr.Trim();
        Assert.DoesNotContain('\n', error);
        Assert.Contains(archiveName, error, StringComparison.Ordinal);
        var expected = (await File.ReadAllTextAsync(release.ArtifactFile("2.0.0", ".tar.gz.sha256"))).Split(' ')[0];
        var actual = await Sha256OfFileAsync(archive);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Contains(actual, error, StringComparison.Ordinal);

        Assert.False(Directory.Exists(root.Combine("openstack", "venvs", "demo-2.0.0")), "nothing of 2.0.0 is unpacked");
        Assert.True(File.Exists(root.Combine("openstack", "venvs", "demo-1.0.0", "bin", "osva-hello")), "1.0.0 is still installed");
        Assert.Equal(sudoersBefore, await File.ReadAllTextAsync(root.Combine("etc", "sudoers.d", "demo_osva")));
        await AssertActivatedAsync(root, "1.0.0");
    }

    /// <summary>The demo-api unit, as the service's packages would have put it on a host: drop-ins go only to units a host has.</summary>
    private static void AddDemoUnit(TempDirectory root)
    {
        Directory.CreateDirectory(root.Combine("lib", "systemd", "system"));
        File.WriteAllText(root.Combine("lib", "systemd", "system", "demo-api.service"), "[Service]\nExecStart=/usr/bin/osva-hello\n");
    }

    private static async Task AssertActivatedAsync(TempDirectory root, string tag)
    {
        var venvBin = $"/openstack/venvs/demo-{tag}/bin";

        var dropIn = await File.ReadAllTextAsync(root.Combine("etc", "systemd", "system", "demo-api.service.d", "osva-venv.conf"));
        Assert.Contains($"ExecStart={venvBin}/osva-hello", dropIn, StringComparison.Ordinal);
        Assert.Contains($"PATH={venvBin}:", dropIn, StringComparison.Ordinal);

        var sudoers = root.Combine("etc", "sudoers.d", "demo_osva");
        Assert.Contains($"secure_path=\"{venvBin}:", await File.ReadAllTextAsync(sudoers), StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead, File.GetUnixFileMode(sudoers));
        var visudo = await ProcessRunner.RunAsync("visudo", ["-cf", sudoers]);
        Assert.True(visudo.ExitCode == 0, visudo.ToString());

        var rootwrap = await File.ReadAllTextAsync(root.Combine("etc", "demo", "rootwrap.conf"));
        Assert.Contains($"exec_dirs={venvBin},", rootwrap.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);

        await using var state = File.OpenRead(root.Combine("var", "lib", "osva", "demo.json"));
        using var json = await JsonDocument.ParseAsync(state);
        Assert.Equal(tag, json.RootElement.GetProperty("active").GetString());
    }

    private static async Task<string> Sha256OfFileAsync(string path) => await Artifact.Sha256.OfFileAsync(path, CancellationToken.None);
}
