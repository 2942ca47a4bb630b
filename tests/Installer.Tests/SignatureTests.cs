using System.Security.Cryptography;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>With --trusted-key, the (signed) index and the manifest's signature are checked before anything is downloaded or unpacked.</summary>
public sealed class SignatureTests
{
    [Theory]
    [InlineData("signed-by-the-trusted-key", null)]
    [InlineData("signed-by-another-key", "not a valid signature")]
    [InlineData("signature-missing", "is not in")]
    [InlineData("signature-garbled", "not a valid signature")]
    public async Task Install_checks_the_manifest_signature_against_the_trusted_keys(string signature, string? refusal)
    {
        using var host = new ScratchHost();
        var files = await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        using var trusted = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var publicKey = Path.Combine(host.TempPath, "trusted.pub.pem");
        await File.WriteAllTextAsync(publicKey, trusted.ExportSubjectPublicKeyInfoPem());
        var sigPath = Path.Combine(host.Store, "demo", "1.0.0", files.Manifest.Id.SignatureFileName);
        var text = signature switch
        {
            "signed-by-the-trusted-key" => Signatures.Sign(files.ManifestBytes, trusted),
            "signed-by-another-key" => Signatures.Sign(files.ManifestBytes, other),
            "signature-garbled" => "not base64 at all\n",
            _ => null,
        };
        if (text is not null) await File.WriteAllTextAsync(sigPath, text);
        await InstallStore.SignIndexAsync(host.Store, "demo", trusted, 1, DateTimeOffset.UtcNow.AddDays(1));

        if (refusal is null)
        {
            Assert.True((await host.InstallAsync("demo", "1.0.0", trustedKeys: [publicKey])).Changed);
            return;
        }
        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "1.0.0", trustedKeys: [publicKey]));
        Assert.Equal("OSVA-I015", e.Code);
        Assert.Contains(refusal, e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(host.OnDisk("/openstack/venvs/demo-1.0.0")));
        Assert.False(Directory.Exists(host.OnDisk("/openstack/venvs/.staging")));
    }
}
