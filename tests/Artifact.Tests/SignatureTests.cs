using System.Security.Cryptography;
using System.Text;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Artifact.Tests;

public sealed class SignatureTests
{
    [Fact]
    public async Task Signature_written_by_osva_is_verified_by_openssl()
    {
        using var dir = new TempDirectory("sig");
        var key = dir.Combine("key.pem");
        var pub = dir.Combine("pub.pem");
        Assert.Equal(0, (await ProcessRunner.RunAsync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key])).ExitCode);
        Assert.Equal(0, (await ProcessRunner.RunAsync("openssl", ["ec", "-in", key, "-pubout", "-out", pub])).ExitCode);
        var manifest = Encoding.UTF8.GetBytes("{\"service\": \"nova\"}\n");
        await File.WriteAllBytesAsync(dir.Combine("m.json"), manifest);

        using var signer = Signatures.LoadKey(key);
        await File.WriteAllBytesAsync(dir.Combine("m.sig.der"), Convert.FromBase64String(Signatures.Sign(manifest, signer)));
        var verified = await ProcessRunner.RunAsync("openssl", ["dgst", "-sha256", "-verify", pub, "-signature", dir.Combine("m.sig.der"), dir.Combine("m.json")]);

        Assert.True(verified.ExitCode == 0, verified.ToString());
    }

    [Fact]
    public async Task Signature_written_by_openssl_is_verified_by_osva_and_a_changed_manifest_is_not()
    {
        using var dir = new TempDirectory("sig");
        var key = dir.Combine("key.pem");
        var pub = dir.Combine("pub.pem");
        await ProcessRunner.RunAsync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
        await ProcessRunner.RunAsync("openssl", ["ec", "-in", key, "-pubout", "-out", pub]);
        var manifest = Encoding.UTF8.GetBytes("{\"service\": \"nova\", \"archive\": \"abc\"}\n");
        await File.WriteAllBytesAsync(dir.Combine("m.json"), manifest);
        var signed = await ProcessRunner.RunAsync("openssl", ["dgst", "-sha256", "-sign", key, "-out", dir.Combine("m.sig.der"), dir.Combine("m.json")]);
        Assert.True(signed.ExitCode == 0, signed.ToString());
        var signature = Convert.ToBase64String(await File.ReadAllBytesAsync(dir.Combine("m.sig.der")));

        using var trusted = Signatures.LoadKey(pub);
        Assert.True(Signatures.Verify(manifest, signature, [trusted]));

        var changed = Encoding.UTF8.GetBytes("{\"service\": \"nova\", \"archive\": \"abd\"}\n");
        Assert.False(Signatures.Verify(changed, signature, [trusted]));
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.False(Signatures.Verify(manifest, signature, [other]));
        Assert.False(Signatures.Verify(manifest, "not base64!", [trusted]));
    }

    [Fact]
    public async Task Key_that_is_not_an_ec_pem_is_refused_with_how_to_make_one()
    {
        using var dir = new TempDirectory("sig");
        var path = dir.Combine("key.pem");
        await File.WriteAllTextAsync(path, "not a key");

        var e = Assert.Throws<OsvaException>(() => Signatures.LoadKey(path));

        Assert.Contains("openssl ecparam", e.Hint, StringComparison.Ordinal);
    }
}
