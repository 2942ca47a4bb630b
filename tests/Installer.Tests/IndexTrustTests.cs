using System.Security.Cryptography;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// The Update Framework's threats against the index, with the keys in the host's /etc/osva/osva.conf: each attack
/// is refused before anything is downloaded, with the previous tag still active.
/// </summary>
public sealed class IndexTrustTests : IDisposable
{
    private readonly ScratchHost _host = new();
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ECDsa _otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly string _publicKey;
    private readonly string _otherPublicKey;

    public IndexTrustTests()
    {
        _publicKey = WritePublicKey("release.pub", _key);
        _otherPublicKey = WritePublicKey("other.pub", _otherKey);
    }

    private string WritePublicKey(string name, ECDsa key)
    {
        var path = Path.Combine(_host.TempPath, name);
        File.WriteAllText(path, key.ExportSubjectPublicKeyInfoPem());
        return path;
    }

    private static DateTimeOffset InADay => DateTimeOffset.UtcNow.AddDays(1);

    /// <summary>Publishes a tag with a signed manifest and re-signs the index at <paramref name="version"/>.</summary>
    private async Task<byte[]> PublishSignedAsync(string tag, long version, DateTimeOffset? expires = null, string service = "demo")
    {
        var files = await _host.PublishAsync(ScratchHost.Demo(tag, service));
        await File.WriteAllTextAsync(Path.Combine(_host.Store, service, tag, files.Manifest.Id.SignatureFileName), Signatures.Sign(files.ManifestBytes, _key));
        return await InstallStore.SignIndexAsync(_host.Store, service, _key, version, expires ?? InADay);
    }

    private async Task<InstallerException> RefusedAsync(string tag, string code, string reason, string active = "1.0.0")
    {
        var before = (await _host.StateAsync("demo")).Installed.Select(t => t.Tag).ToList();
        var e = await Assert.ThrowsAsync<InstallerException>(() => _host.InstallAsync("demo", tag));
        Assert.Equal(code, e.Code);
        Assert.True(e.Message.Contains(reason, StringComparison.Ordinal), e.Message);
        Assert.Equal(active, (await _host.StateAsync("demo")).Active);
        Assert.Equal(before, (await _host.StateAsync("demo")).Installed.Select(t => t.Tag).ToList());
        Assert.Equal(before.Contains(tag), Directory.Exists(_host.OnDisk($"/openstack/venvs/demo-{tag}")));
        return e;
    }

    [Fact]
    public async Task An_index_older_than_one_the_host_accepted_is_a_rollback_and_refused()
    {
        _host.Configure($"trusted-key = {_publicKey}");
        var old = await PublishSignedAsync("1.0.0", 1);
        var oldSignature = await File.ReadAllTextAsync(Path.Combine(_host.Store, "demo/index.json.sig"));
        await _host.InstallAsync("demo", "1.0.0");
        await PublishSignedAsync("2.0.0", 2);
        await _host.InstallAsync("demo", "2.0.0");

        // A stale mirror serves the old, validly signed index again (one where 2.0.0 was not yet published, or yanked).
        await File.WriteAllBytesAsync(Path.Combine(_host.Store, "demo/index.json"), old);
        await File.WriteAllTextAsync(Path.Combine(_host.Store, "demo/index.json.sig"), oldSignature);
        var e = await RefusedAsync("1.0.0", "OSVA-I019", "is version 1, older than version 2 this host already accepted", active: "2.0.0");

        Assert.Contains("rollback", e.Hint, StringComparison.Ordinal);
        Assert.Equal(2, (await _host.StateAsync("demo")).IndexVersions[_host.Store]);
    }

    [Fact]
    public async Task An_expired_index_is_a_freeze_and_refused()
    {
        _host.Configure($"trusted-key = {_publicKey}");
        await PublishSignedAsync("1.0.0", 1);
        await _host.InstallAsync("demo", "1.0.0");
        await PublishSignedAsync("2.0.0", 2, DateTimeOffset.UtcNow.AddMinutes(-1));

        await RefusedAsync("2.0.0", "OSVA-I019", "expired at");
    }

    [Theory]
    [InlineData("unsigned index", "is missing or not a valid signature")]
    [InlineData("index signed by another key", "is missing or not a valid signature")]
    [InlineData("index changed after signing", "is missing or not a valid signature")]
    [InlineData("index signed by a retired key", "is missing or not a valid signature")]
    [InlineData("index of another service", "is the index of other, not of demo")]
    [InlineData("signed index without expiry", "has no expiry")]
    public async Task An_index_not_signed_by_a_trusted_key_or_not_this_services_is_refused(string attack, string reason)
    {
        _host.Configure($"trusted-key = {_publicKey}", $"trusted-key = {_otherPublicKey}");
        await PublishSignedAsync("1.0.0", 1);
        await _host.InstallAsync("demo", "1.0.0");
        var bytes = await PublishSignedAsync("2.0.0", 2);
        var index = Path.Combine(_host.Store, "demo/index.json");
        switch (attack)
        {
            case "unsigned index":
                File.Delete(index + ".sig");
                break;
            case "index signed by another key":
                _host.Configure($"trusted-key = {_publicKey}");
                await InstallStore.SignIndexAsync(_host.Store, "demo", _otherKey, 3, InADay);
                break;
            case "index changed after signing":
                await File.WriteAllBytesAsync(index, [.. bytes, .. " "u8.ToArray()]);
                break;
            case "index signed by a retired key":
                _host.Configure($"trusted-key = {_publicKey}", $"trusted-key = {_otherPublicKey}", $"retired-key = {KeyId(_otherKey)}");
                await InstallStore.SignIndexAsync(_host.Store, "demo", _otherKey, 3, InADay);
                break;
            case "index of another service":
                await PublishSignedAsync("2.0.0", 5, service: "other");
                File.Copy(Path.Combine(_host.Store, "other/index.json"), index, overwrite: true);
                File.Copy(Path.Combine(_host.Store, "other/index.json.sig"), index + ".sig", overwrite: true);
                break;
            case "signed index without expiry":
                var parsed = await ArtifactJson.ReadIndexAsync(new MemoryStream(bytes), index, default);
                parsed.Expires = null;
                var unexpiring = ArtifactJson.Serialize(parsed);
                await File.WriteAllBytesAsync(index, unexpiring);
                await File.WriteAllTextAsync(index + ".sig", Signatures.Sign(unexpiring, _key));
                break;
        }

        await RefusedAsync("2.0.0", attack == "index of another service" ? "OSVA-I011" : attack == "signed index without expiry" ? "OSVA-I019" : "OSVA-I018", reason);
    }

    [Fact]
    public async Task A_manifest_of_another_tag_offered_under_this_tags_name_is_refused()
    {
        _host.Configure($"trusted-key = {_publicKey}");
        await PublishSignedAsync("1.0.0", 1);
        await _host.InstallAsync("demo", "1.0.0");
        await PublishSignedAsync("2.0.0", 2);
        // The store swaps in 1.0.0's validly signed manifest, signature and archive under 2.0.0's names.
        foreach (var file in Directory.EnumerateFiles(Path.Combine(_host.Store, "demo/1.0.0")))
        {
            File.Copy(file, Path.Combine(_host.Store, "demo/2.0.0", Path.GetFileName(file).Replace("1.0.0", "2.0.0", StringComparison.Ordinal)), overwrite: true);
        }

        await RefusedAsync("2.0.0", "OSVA-I010", "but index.json says");
    }

    [Fact]
    public async Task Once_a_key_is_trusted_an_unsigned_manifest_is_refused_even_under_a_signed_index()
    {
        _host.Configure($"trusted-key = {_publicKey}");
        await PublishSignedAsync("1.0.0", 1);
        await _host.InstallAsync("demo", "1.0.0");
        await PublishSignedAsync("2.0.0", 2);
        File.Delete(Directory.EnumerateFiles(Path.Combine(_host.Store, "demo/2.0.0"), "*.sig").Single());

        await RefusedAsync("2.0.0", "OSVA-I015", "this host requires signatures");
    }

    [Fact]
    public async Task Insecure_skip_signature_installs_an_unsigned_index_and_records_that_it_did()
    {
        _host.Configure($"trusted-key = {_publicKey}");
        await _host.PublishAsync(ScratchHost.Demo("1.0.0"));

        var result = await _host.InstallAsync("demo", "1.0.0", insecureSkipSignature: true);

        Assert.True(result.Ok);
        var state = await _host.StateAsync("demo");
        Assert.Equal("1.0.0", state.Active);
        Assert.Contains(state.History, h => h.Action == "insecure-skip-signature" && h.Tag == "1.0.0");
    }

    [Fact]
    public async Task Without_trusted_keys_an_unsigned_store_installs_as_before()
    {
        await _host.PublishAsync(ScratchHost.Demo("1.0.0"));

        Assert.True((await _host.InstallAsync("demo", "1.0.0")).Ok);
    }

    [Fact]
    public async Task The_store_comes_from_the_host_configuration_when_no_store_is_given()
    {
        _host.Configure($"store = {_host.Store}", $"trusted-key = {_publicKey}");
        await PublishSignedAsync("1.0.0", 1);

        var result = await new Operations.InstallOperation(_host.Environment).RunAsync(new Operations.InstallRequest
        {
            Service = "demo", TagOrAlias = "1.0.0", S3 = Artifact.Store.S3Settings.FromEnvironment(),
        }, default);

        Assert.True(result.Ok);
        Assert.Equal(1, (await _host.StateAsync("demo")).IndexVersions[_host.Store]);
    }

    private static string KeyId(ECDsa key) => Signatures.KeyId(key);

    public void Dispose()
    {
        _key.Dispose();
        _otherKey.Dispose();
        _host.Dispose();
    }
}
