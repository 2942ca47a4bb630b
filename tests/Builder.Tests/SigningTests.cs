using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Builder.Tests;

/// <summary>
/// <c>--signing-key</c> / <c>OSVA_SIGNING_KEY</c>: the <c>.manifest.json.sig</c> beside each manifest, checked with the
/// real <c>openssl dgst -sha256 -verify</c> and keys made by the real openssl, as an operator would.
/// </summary>
[Collection(RealEngineGroup.Name)]
public sealed class SigningTests(BuildFixture fixture) : IDisposable
{
    private readonly TempDirectory _keys = new("bt-keys");

    private string Key => _keys.Combine("key.pem");
    private string Pub => _keys.Combine("pub.pem");

    private async Task MakeKeysAsync()
    {
        var gen = await ProcessRunner.RunAsync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", Key]);
        Assert.True(gen.ExitCode == 0, gen.ToString());
        var pub = await ProcessRunner.RunAsync("openssl", ["ec", "-in", Key, "-pubout", "-out", Pub]);
        Assert.True(pub.ExitCode == 0, pub.ToString());
    }

    /// <summary>What an operator runs: base64-decode the .sig and let openssl check it against the manifest.</summary>
    private async Task<ProcessResult> OpensslVerifyAsync(string manifest)
    {
        var der = _keys.Combine($"{Guid.NewGuid():N}.der");
        await File.WriteAllBytesAsync(der, Convert.FromBase64String(await File.ReadAllTextAsync(manifest + ".sig")));
        return await ProcessRunner.RunAsync("openssl", ["dgst", "-sha256", "-verify", Pub, "-signature", der, manifest]);
    }

    [DockerFact]
    public async Task Signed_build_writes_a_sig_that_openssl_verifies_and_an_unsigned_rebuild_removes_it()
    {
        await MakeKeysAsync();
        var dir = fixture.NewCase("signed", BuildReleases.OneService("signed", "osva-demo-hello==1.0.0", "osva-hello"));
        var output = Path.Combine(dir, "out");

        var built = await BuildTool.RunAsync(["build", Path.Combine(dir, "release.yaml"), "--out", output, "--signing-key", Key]);

        Assert.True(built.ExitCode == 0, built.ToString());
        var manifest = Directory.GetFiles(output, "*.manifest.json").Single();
        var verified = await OpensslVerifyAsync(manifest);
        Assert.True(verified.ExitCode == 0 && verified.Stdout.Contains("Verified OK", StringComparison.Ordinal), verified.ToString());
        Assert.Empty(Directory.GetFiles(output, ".*"));

        // The same service with a changed spec and no key: a new manifest, and the old .sig must not stay beside it.
        await File.AppendAllTextAsync(Path.Combine(dir, "release.yaml"), "\n    runtimePackages: [python3.11]\n");
        var unsigned = await BuildTool.RunAsync(["build", Path.Combine(dir, "release.yaml"), "--out", output]);

        Assert.True(unsigned.ExitCode == 0 && unsigned.Stdout.TrimEnd().EndsWith(" built", StringComparison.Ordinal), unsigned.ToString());
        Assert.Contains("python3.11", await File.ReadAllTextAsync(manifest), StringComparison.Ordinal);
        Assert.False(File.Exists(manifest + ".sig"), "a signature of the previous manifest is left beside the new one");
    }

    [DockerFact]
    public async Task Cached_artifacts_built_unsigned_are_signed_from_OSVA_SIGNING_KEY_without_rebuilding()
    {
        await MakeKeysAsync();
        Assert.Equal(0, (await fixture.FirstBuildAsync()).ExitCode);
        var output = Path.Combine(fixture.Root, $"resign-{Guid.NewGuid():N}");
        Directory.CreateDirectory(output);
        foreach (var file in Directory.GetFiles(fixture.FirstOut).Where(f => !f.EndsWith(".sig", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(output, Path.GetFileName(file)));
        }
        var manifestsBefore = Directory.GetFiles(output, "*.manifest.json").ToDictionary(f => f, File.ReadAllBytes);

        var r = await BuildTool.RunAsync(["build", fixture.Release, "--out", output], new Dictionary<string, string> { ["OSVA_SIGNING_KEY"] = Key });

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.All(r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.EndsWith(" cached", l, StringComparison.Ordinal));
        Assert.Equal(3, manifestsBefore.Count);
        foreach (var (manifest, bytes) in manifestsBefore)
        {
            Assert.Equal(bytes, await File.ReadAllBytesAsync(manifest));
            var verified = await OpensslVerifyAsync(manifest);
            Assert.True(verified.ExitCode == 0, $"{manifest}: {verified}");
        }

        // A second run with the same key finds valid signatures and leaves them as they are.
        var sigs = Directory.GetFiles(output, "*.sig").ToDictionary(f => f, File.ReadAllText);
        var again = await BuildTool.RunAsync(["build", fixture.Release, "--out", output, "--signing-key", Key]);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal(sigs, Directory.GetFiles(output, "*.sig").ToDictionary(f => f, File.ReadAllText));
    }

    [DockerFact]
    public async Task A_public_key_given_as_signing_key_is_refused_before_any_build()
    {
        await MakeKeysAsync();
        var dir = fixture.NewCase($"pubkey-{Guid.NewGuid():N}", BuildReleases.OneService("pubkey", "osva-demo-hello", "osva-hello"));
        var output = Path.Combine(dir, "out");

        var r = await BuildTool.RunAsync(["build", Path.Combine(dir, "release.yaml"), "--out", output, "--signing-key", Pub]);

        Assert.Equal(3, r.ExitCode);
        var error = r.Stderr.Trim();
        Assert.DoesNotContain('\n', error);
        Assert.Contains("OSVA-B014", error, StringComparison.Ordinal);
        Assert.Contains("public key", error, StringComparison.Ordinal);
        Assert.True(!Directory.Exists(output) || Directory.GetFileSystemEntries(output).Length == 0, "nothing is built");
    }

    public void Dispose() => _keys.Dispose();
}
