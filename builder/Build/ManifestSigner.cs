using System.Security.Cryptography;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Builder.Build;

/// <summary>
/// Signs manifests with the release key (<c>--signing-key</c>, else <c>OSVA_SIGNING_KEY</c>): the
/// <c>.manifest.json.sig</c> that <c>osva-install --trusted-key</c> and <c>openssl dgst -sha256 -verify</c> check.
/// Loaded before any image or build starts, so a wrong key fails in a second, not after the builds.
/// </summary>
internal sealed class ManifestSigner : IDisposable
{
    public const string EnvironmentVariable = "OSVA_SIGNING_KEY";

    private readonly ECDsa _key;
    private readonly Lock _lock = new();

    private ManifestSigner(ECDsa key, string path)
    {
        _key = key;
        KeyPath = path;
    }

    public string KeyPath { get; }

    /// <summary>The signer for the option's value, or the environment's, or null when neither names a key.</summary>
    public static ManifestSigner? Open(string? option)
    {
        var path = option is { Length: > 0 } ? option : Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (path is not { Length: > 0 }) return null;
        var source = option is { Length: > 0 } ? "--signing-key" : EnvironmentVariable;
        if (!File.Exists(path))
        {
            throw new BuilderException("OSVA-B014", $"{source} {path} does not exist",
                "give the PEM private key to sign manifests with (openssl ecparam -name prime256v1 -genkey -noout -out key.pem)", ExitCode.InvalidInput);
        }
        var key = Signatures.LoadKey(path);
        try
        {
            // A public key loads as well as a private one; only signing tells them apart.
            key.SignData([], HashAlgorithmName.SHA256);
        }
        catch (CryptographicException)
        {
            key.Dispose();
            throw new BuilderException("OSVA-B014", $"{source} {path} is a public key; signing needs the private key",
                "pass the private key (key.pem); hand the public key (pub.pem) to osva-install --trusted-key", ExitCode.InvalidInput);
        }
        return new ManifestSigner(key, path);
    }

    /// <summary>The <c>.sig</c> file content for these manifest bytes.</summary>
    public string Sign(byte[] manifest)
    {
        // ECDsa instances are not documented as thread-safe, and parallel jobs sign at once.
        lock (_lock) return Signatures.Sign(manifest, _key);
    }

    public bool Verifies(byte[] manifest, string signature)
    {
        lock (_lock) return Signatures.Verify(manifest, signature, [_key]);
    }

    /// <summary>
    /// A cached artifact in the output directory gets a signature by this key when it has none or one by another
    /// key; the .sig appears by rename, like every output file.
    /// </summary>
    public async Task EnsureSignedAsync(string outDirectory, ArtifactId id, CancellationToken ct)
    {
        var manifest = await File.ReadAllBytesAsync(Path.Combine(outDirectory, id.ManifestFileName), ct);
        var sigPath = Path.Combine(outDirectory, id.SignatureFileName);
        if (File.Exists(sigPath) && Verifies(manifest, await File.ReadAllTextAsync(sigPath, ct))) return;
        using var output = new ArtifactOutput(outDirectory);
        await output.WriteAllBytesAsync(id.SignatureFileName, System.Text.Encoding.ASCII.GetBytes(Sign(manifest)), ct);
        output.Commit();
    }

    public void Dispose() => _key.Dispose();
}
