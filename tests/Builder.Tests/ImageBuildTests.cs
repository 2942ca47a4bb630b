using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Builder.Tests;

/// <summary>The build path of image mode: a release with <c>formats: [tarball, image]</c> through the real engine.</summary>
[Collection(RealEngineGroup.Name)]
public sealed class ImageBuildTests(BuildFixture fixture)
{
    [DockerFact]
    public async Task A_release_with_formats_tarball_and_image_writes_the_image_the_manifest_records_and_pack_gives_the_same_image()
    {
        var yaml = BuildReleases.OneService("imaged", "osva-demo-hello", "osva-hello").Replace("sourceDateEpoch: 1700000000",
            "sourceDateEpoch: 1700000000\n  formats: [tarball, image]", StringComparison.Ordinal);
        var dir = fixture.NewCase("image-build", yaml);
        var output = Path.Combine(dir, "out");

        var r = await BuildTool.RunAsync(["build", Path.Combine(dir, "release.yaml"), "--out", output]);

        Assert.True(r.ExitCode == 0, r.ToString());
        var manifestPath = Directory.GetFiles(output, "imaged-*.manifest.json").Single();
        Manifest manifest;
        await using (var stream = File.OpenRead(manifestPath)) manifest = await ArtifactJson.ReadManifestAsync(stream, manifestPath, CancellationToken.None);
        var image = Path.Combine(output, manifest.Image!.FileName);
        Assert.Equal(manifest.Id.ImageFileName, manifest.Image.FileName);
        Assert.Equal((await Sha256.OfFileAsync(image, CancellationToken.None), new FileInfo(image).Length), (manifest.Image.Sha256, manifest.Image.Size));

        // The same tree packed by hand gives the same image: unpack the built archive, pack it again with --image.
        var tree = Path.Combine(dir, "tree");
        Directory.CreateDirectory(tree);
        Assert.Equal(0, (await ProcessRunner.RunAsync("tar", ["-xzf", Path.Combine(output, manifest.Archive.FileName), "-C", tree])).ExitCode);
        var again = Path.Combine(dir, "again");
        Directory.CreateDirectory(again);
        var pack = await BuildTool.RunAsync(["pack", tree, "--install-path", manifest.InstallPath, "--out", Path.Combine(again, "x.tar.gz"),
            "--image", Path.Combine(again, "x.squashfs"), "--source-date-epoch", $"{manifest.SourceDateEpoch}", "--python", manifest.Platform.PythonPath]);
        Assert.True(pack.ExitCode == 0, pack.ToString());
        Assert.Equal(await File.ReadAllBytesAsync(image), await File.ReadAllBytesAsync(Path.Combine(again, "x.squashfs")));
    }
}
