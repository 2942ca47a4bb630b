using System.Security.Cryptography;
using System.Text;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Distributor.Publishing;

/// <summary>
/// The release key that signs <c>index.json</c> (and, for <c>sign-index --resign-manifests</c>, manifests):
/// <c>--signing-key</c>, else <c>OSVA_SIGNING_KEY</c>, the same variable osva-build signs manifests with.
/// Loaded before anything is uploaded, so a wrong key fails before the store changes.
/// </summary>
internal sealed class IndexSigner : IDisposable
{
    public const string EnvironmentVariable = "OSVA_SIGNING_KEY";

    private readonly ECDsa _key;

    private IndexSigner(ECDsa key)
    {
        _key = key;
        KeyId = Signatures.KeyId(key);
    }

    public string KeyId { get; }

    /// <summary>The signer for the option's value, or the environment's, or null when neither names a key.</summary>
    public static IndexSigner? Open(string? option)
    {
        var path = option is { Length: > 0 } ? option : Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (path is not { Length: > 0 }) return null;
        var source = option is { Length: > 0 } ? "--signing-key" : EnvironmentVariable;
        if (!File.Exists(path))
        {
            throw new PublishException("OSVA-P080", $"{source} {path} does not exist",
                "give the PEM private key the index is signed with; create a pair with osva-publish keygen --out PREFIX");
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
            throw new PublishException("OSVA-P080", $"{source} {path} is a public key; signing needs the private key",
                "pass the private key (PREFIX.key); hosts and osva-publish verify take the public one (PREFIX.pub)");
        }
        return new IndexSigner(key);
    }

    /// <summary>The <c>.sig</c> file content for these bytes.</summary>
    public byte[] Sign(byte[] data) => Encoding.ASCII.GetBytes(Signatures.Sign(data, _key));

    public bool Verifies(byte[] data, byte[] signature) => Signatures.Verify(data, Encoding.ASCII.GetString(signature), [_key]);

    public void Dispose() => _key.Dispose();
}
