using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Integration.Tests;

/// <summary>
/// Signed artifacts end to end with the real binaries: osva-build --signing-key, osva-publish to a directory store,
/// osva-publish verify --public-key, osva-install --trusted-key; a manifest changed in the store is refused by its
/// signature alone, and the tag installed before stays active.
/// </summary>
[Collection(SharedDemoRelease.Name)]
public sealed class SignedReleaseTests(DemoReleaseFixture release)
{
    [DockerFact]
    public async Task Signed_release_is_published_verified_with_the_public_key_and_installed_with_the_trusted_key()
    {
        release.EnsureBuilt();
        using var store = new TempDirectory("store");
        using var root = new TempDirectory("root");

        var published = await OsvaPrograms.PublishAsync(["publish", release.OutDir, "--store", store.Path, "--signing-key", release.SigningKey]);
        Assert.True(published.ExitCode == 0, published.ToString());
        var storedSig = store.Combine("demo", "1.0.0", Path.GetFileName(release.ArtifactFile("1.0.0", ".manifest.json.sig")));
        Assert.Equal(await File.ReadAllBytesAsync(release.ArtifactFile("1.0.0", ".manifest.json.sig")), await File.ReadAllBytesAsync(storedSig));

        var verified = await OsvaPrograms.PublishAsync(["verify", "--store", store.Path, "demo", "1.0.0", "--public-key", release.PublicKey]);
        Assert.True(verified.ExitCode == 0, verified.ToString());
        Assert.Contains("signature valid", verified.Stdout, StringComparison.Ordinal);

        var installed = await OsvaPrograms.InstallAsync(["install", "demo", "1.0.0", "--store", store.Path, "--root", root.Path, "--trusted-key", release.PublicKey]);
        Assert.True(installed.ExitCode == 0, installed.ToString());
        Assert.Equal("1.0.0", await ActiveTagAsync(root));
        var venv = root.Combine("openstack", "venvs", "demo-1.0.0");
        var hello = await ProcessRunner.RunAsync(Path.Combine(venv, "bin", "python"), [Path.Combine(venv, "bin", "osva-hello")]);
        Assert.True(hello.ExitCode == 0 && hello.Stdout.StartsWith("hello from osva 1.0.0", StringComparison.Ordinal), hello.ToString());
    }

    [DockerTheory]
    [InlineData("manifest-edited", "OSVA-I018", "index.json.sig", "rootwrap command changed to another program, index's manifest sha256 updated to match: only the index's signature can tell")]
    [InlineData("signed-by-another-key", "OSVA-I015", ".manifest.json.sig", "manifest untouched, .sig replaced by a valid signature from a key the host does not trust")]
    public async Task Manifest_changed_in_the_store_is_refused_by_a_signature_and_the_previous_tag_stays_active(string tampering, string code, string signature, string reason)
    {
        release.EnsureBuilt();
        using var store = new TempDirectory("store");
        using var root = new TempDirectory("root");
        var published = await OsvaPrograms.PublishAsync(["publish", release.OutDir, "--store", store.Path, "--signing-key", release.SigningKey]);
        Assert.True(published.ExitCode == 0, published.ToString());
        var first = await OsvaPrograms.InstallAsync(["install", "demo", "1.0.0", "--store", store.Path, "--root", root.Path, "--trusted-key", release.PublicKey]);
        Assert.True(first.ExitCode == 0, first.ToString());
        var sudoersBefore = await File.ReadAllTextAsync(root.Combine("etc", "sudoers.d", "demo_osva"));

        var manifest = store.Combine("demo", "2.0.0", Path.GetFileName(release.ArtifactFile("2.0.0", ".manifest.json")));
        if (tampering == "manifest-edited")
        {
            await EditManifestAndIndexAsync(store, manifest);
        }
        else
        {
            var forged = await ProcessRunner.RunAsync("sh", ["-c", "openssl dgst -sha256 -sign \"$1\" \"$2\" | base64 -w0 > \"$2.sig\"", "sh", release.OtherKey, manifest]);
            Assert.True(forged.ExitCode == 0, forged.ToString());
        }

        var second = await OsvaPrograms.InstallAsync(["install", "demo", "2.0.0", "--store", store.Path, "--root", root.Path, "--trusted-key", release.PublicKey]);

        Assert.True(second.ExitCode == 4, $"{reason}: {second}");
        var error = second.Stderr.Trim();
        Assert.DoesNotContain('\n', error);
        Assert.Contains(code, error, StringComparison.Ordinal);
        Assert.Contains(signature, error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(root.Combine("openstack", "venvs", "demo-2.0.0")), "nothing of 2.0.0 is unpacked");
        Assert.True(File.Exists(root.Combine("openstack", "venvs", "demo-1.0.0", "bin", "osva-hello")), "1.0.0 is still installed");
        Assert.Equal("1.0.0", await ActiveTagAsync(root));
        Assert.Equal(sudoersBefore, await File.ReadAllTextAsync(root.Combine("etc", "sudoers.d", "demo_osva")));

        // The publisher's own check agrees (an edited index no longer matches its signature, a manifest signed by another
        // key fails its own), and without a key the hashes alone still pass: the signatures are what caught it.
        var verify = await OsvaPrograms.PublishAsync(["verify", "--store", store.Path, "demo", "2.0.0", "--public-key", release.PublicKey]);
        var publisherCode = tampering == "manifest-edited" ? "OSVA-P067" : "OSVA-P064";
        Assert.True(verify.ExitCode == 4 && verify.Stderr.Contains(publisherCode, StringComparison.Ordinal), verify.ToString());
        var hashesOnly = await OsvaPrograms.PublishAsync(["verify", "--store", store.Path, "demo", "2.0.0"]);
        Assert.True(hashesOnly.ExitCode == 0, hashesOnly.ToString());
    }

    /// <summary>A real attack on a writable store: point sudoers at another program and keep every hash consistent.</summary>
    private static async Task EditManifestAndIndexAsync(TempDirectory store, string manifest)
    {
        var text = await File.ReadAllTextAsync(manifest);
        Assert.Contains("\"demo-rootwrap\"", text, StringComparison.Ordinal);
        var edited = Encoding.UTF8.GetBytes(text.Replace("\"demo-rootwrap\"", "\"demo-rootwrap-evil\"", StringComparison.Ordinal));
        await File.WriteAllBytesAsync(manifest, edited);

        var indexPath = store.Combine("demo", "index.json");
        var index = JsonNode.Parse(await File.ReadAllTextAsync(indexPath))!;
        var entry = index["tags"]!.AsArray().Single(t => (string?)t!["tag"] == "2.0.0")!["artifacts"]!.AsArray().Single()!;
        entry["manifestSha256"] = Artifact.Sha256.Of(edited);
        await File.WriteAllTextAsync(indexPath, index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    private static async Task<string?> ActiveTagAsync(TempDirectory root)
    {
        await using var state = File.OpenRead(root.Combine("var", "lib", "osva", "demo.json"));
        using var json = await JsonDocument.ParseAsync(state);
        return json.RootElement.GetProperty("active").GetString();
    }
}
