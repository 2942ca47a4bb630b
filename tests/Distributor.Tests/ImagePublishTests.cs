using System.Text.Json;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Distributor.Tests;

/// <summary>Image mode in the distributor: the image travels beside the tarball, checked against the manifest, recorded in the index.</summary>
public sealed class ImagePublishTests : IDisposable
{
    private readonly TempDirectory _work = new("publish-image");
    private readonly Dictionary<string, string> _env = [];

    private string Store => _work.Combine("store");

    private Task<ProcessResult> RunAsync(params string[] args) => PublishCli.RunAsync([.. args, "--store", Store], _env);

    [Fact]
    public async Task Publish_carries_the_image_and_the_index_records_it_then_mirror_copies_it_checked()
    {
        var a = await PublishTestArtifacts.WriteSmallAsync(_work.Combine("out"), "nova", "31.0.0", image: true);

        var published = await RunAsync("publish", a.Directory);

        Assert.True(published.ExitCode == 0, published.ToString());
        var stored = Path.Combine(Store, "nova", "31.0.0", a.Id.ImageFileName);
        Assert.Equal(await File.ReadAllBytesAsync(a.ImagePath!), await File.ReadAllBytesAsync(stored));
        var list = await RunAsync("list", "nova", "--json");
        var entry = JsonSerializer.Deserialize(list.Stdout, ArtifactJsonContext.Default.StoreIndex)!.Tags.Single().Artifacts.Single();
        Assert.Equal((a.Id.ImageFileName, await Sha256.OfFileAsync(a.ImagePath!, default), new FileInfo(a.ImagePath!).Length),
            (entry.ImageFileName, entry.ImageSha256, entry.ImageSize));

        var mirror = _work.Combine("mirror");
        var mirrored = await RunAsync("mirror", "--to", mirror);
        Assert.True(mirrored.ExitCode == 0, mirrored.ToString());
        Assert.Equal(await File.ReadAllBytesAsync(a.ImagePath!), await File.ReadAllBytesAsync(Path.Combine(mirror, "nova", "31.0.0", a.Id.ImageFileName)));

        // A damaged image in the store is caught by the mirror through the sha256 the index records.
        var bytes = await File.ReadAllBytesAsync(stored);
        bytes[^100] ^= 0xff;
        await File.WriteAllBytesAsync(stored, bytes);
        var again = await RunAsync("mirror", "--to", _work.Combine("mirror2"));
        Assert.Equal((int)ExitCode.VerificationFailed, again.ExitCode);
        Assert.Contains("OSVA-P071", again.Stderr, StringComparison.Ordinal);
        Assert.Contains(a.Id.ImageFileName, again.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tarball_only_artifact_leaves_the_index_entry_without_image_fields()
    {
        var a = await PublishTestArtifacts.WriteSmallAsync(_work.Combine("out"), "nova", "31.0.0");

        Assert.Equal(0, (await RunAsync("publish", a.Directory)).ExitCode);

        var index = await File.ReadAllTextAsync(Path.Combine(Store, "nova", "index.json"));
        Assert.DoesNotContain("image", index, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_image_that_does_not_match_its_manifest_is_refused_before_anything_is_uploaded()
    {
        var a = await PublishTestArtifacts.WriteSmallAsync(_work.Combine("out"), "nova", "31.0.0", image: true);
        await File.AppendAllTextAsync(a.ImagePath!, "x");

        var r = await RunAsync("publish", a.Directory);

        Assert.Equal((int)ExitCode.VerificationFailed, r.ExitCode);
        Assert.Contains("OSVA-P091", r.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(Store, "nova", "31.0.0")));
    }

    [Fact]
    public async Task A_missing_image_the_manifest_records_is_refused()
    {
        var a = await PublishTestArtifacts.WriteSmallAsync(_work.Combine("out"), "nova", "31.0.0", image: true);
        File.Delete(a.ImagePath!);

        var r = await RunAsync("publish", a.Directory);

        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("OSVA-P090", r.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => _work.Dispose();
}
