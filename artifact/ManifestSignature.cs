using System.Security.Cryptography;

namespace OsVenvArtifacts.Artifact;

/// <summary>
/// Signs and checks <c>.manifest.json.sig</c>: ECDSA P-256 over SHA-256 of the manifest bytes, base64 of the
/// DER signature, so <c>openssl dgst -sha256 -verify pub.pem -signature sig.der manifest.json</c> agrees.
/// The manifest binds the archive hash, so one signature covers the whole artifact.
/// </summary>
public static class ManifestSignature
{
    public static string Sign(ReadOnlySpan<byte> manifest, ECDsa key) =>
        Convert.ToBase64String(key.SignData(manifest, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)) + "\n";

    /// <summary>True when <paramref name="signatureText"/> is a valid signature of <paramref name="manifest"/> by any trusted key.</summary>
    public static bool Verify(ReadOnlySpan<byte> manifest, string signatureText, IEnumerable<ECDsa> trustedKeys)
    {
        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(signatureText.Trim());
        }
        catch (FormatException)
        {
            return false;
        }
        foreach (var key in trustedKeys)
        {
            // .NET's default is IEEE P1363; openssl and cosign write DER.
            if (key.VerifyData(manifest, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)) return true;
        }
        return false;
    }

    public static ECDsa LoadKey(string pemPath)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(pemPath));
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new OsvaException("OSVA-A020", $"{pemPath} is not an EC key in PEM form",
                "create one with `openssl ecparam -name prime256v1 -genkey -noout -out key.pem` and `openssl ec -in key.pem -pubout -out pub.pem`");
        }
        if (key.KeySize != 256)
        {
            key.Dispose();
            throw new OsvaException("OSVA-A021", $"{pemPath} is a {key.KeySize}-bit EC key, not P-256", "use a prime256v1 (P-256) key");
        }
        return key;
    }
}
