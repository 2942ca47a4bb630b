using System.Security.Cryptography;

namespace OsVenvArtifacts.Artifact;

/// <summary>
/// Signs and checks osva's detached signatures (<c>.manifest.json.sig</c>, <c>index.json.sig</c>): ECDSA P-256
/// over SHA-256 of the file's exact bytes, base64 of the DER signature and a newline, so
/// <c>openssl dgst -sha256 -verify pub.pem -signature sig.der FILE</c> agrees. A manifest binds its archive's
/// hashes and an index binds each manifest's hash, so these two signatures cover everything a host installs.
/// </summary>
public static class Signatures
{
    public static string Sign(ReadOnlySpan<byte> data, ECDsa key) =>
        Convert.ToBase64String(key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)) + "\n";

    /// <summary>True when <paramref name="signatureText"/> is a valid signature of <paramref name="data"/> by any trusted key.</summary>
    public static bool Verify(ReadOnlySpan<byte> data, string signatureText, IEnumerable<ECDsa> trustedKeys) =>
        SignedBy(data, signatureText, trustedKeys) is not null;

    /// <summary>The trusted key that made <paramref name="signatureText"/> over <paramref name="data"/>, or null.</summary>
    public static ECDsa? SignedBy(ReadOnlySpan<byte> data, string signatureText, IEnumerable<ECDsa> trustedKeys)
    {
        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(signatureText.Trim());
        }
        catch (FormatException)
        {
            return null;
        }
        foreach (var key in trustedKeys)
        {
            // .NET's default is IEEE P1363; openssl and cosign write DER.
            if (key.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)) return key;
        }
        return null;
    }

    /// <summary>
    /// A key's identity: <c>sha256:</c> + hex sha256 of its public key's DER (SubjectPublicKeyInfo), the same for the
    /// private and the public PEM, so a key can be named (retired, logged) without its file.
    /// <c>openssl pkey -pubin -in pub.pem -outform DER | sha256sum</c> prints the same hex.
    /// </summary>
    public static string KeyId(ECDsa key) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));

    /// <summary>Reads a P-256 key from PEM: public (to verify) or private (to sign; SEC1 or PKCS#8).</summary>
    public static ECDsa LoadKey(string pemPath)
    {
        string pem;
        try
        {
            pem = File.ReadAllText(pemPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OsvaException("OSVA-A022", $"key file {pemPath} cannot be read: {e.Message}",
                "check the path and its permissions; create a pair with osva-publish keygen");
        }
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new OsvaException("OSVA-A020", $"{pemPath} is not an EC key in PEM form",
                "create a pair with `osva-publish keygen`, or `openssl ecparam -name prime256v1 -genkey -noout -out key.pem` and `openssl ec -in key.pem -pubout -out pub.pem`");
        }
        if (key.KeySize != 256)
        {
            key.Dispose();
            throw new OsvaException("OSVA-A021", $"{pemPath} is a {key.KeySize}-bit EC key, not P-256", "use a prime256v1 (P-256) key");
        }
        return key;
    }

    /// <summary>A new P-256 pair as PEM: the private key (SEC1, as openssl ecparam writes it) and the public key.</summary>
    public static (string PrivatePem, string PublicPem) CreateKeyPair()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return (key.ExportECPrivateKeyPem(), key.ExportSubjectPublicKeyInfoPem());
    }
}
