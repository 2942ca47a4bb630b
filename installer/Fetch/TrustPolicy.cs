using System.Security.Cryptography;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Host;

namespace OsVenvArtifacts.Installer.Fetch;

/// <summary>
/// Which signatures this host accepts: the keys of <c>/etc/osva/osva.conf</c> and <c>--trusted-key</c>, less the
/// retired ones (by file or by key id). Once any key is trusted, an unsigned index or manifest is refused unless
/// the operator passes <c>--insecure-skip-signature</c>, which is then recorded.
/// </summary>
internal sealed class TrustPolicy : IDisposable
{
    private TrustPolicy(IReadOnlyList<ECDsa> keys, bool required, bool skip)
    {
        Keys = keys;
        Required = required;
        Skipped = skip;
    }

    public IReadOnlyList<ECDsa> Keys { get; }
    /// <summary>
    /// Index and manifest must be signed by one of <see cref="Keys"/>. When not required, a signature that is present
    /// is still checked against the keys there are (a bad signature is never accepted), a missing one is not.
    /// </summary>
    public bool Required { get; }
    /// <summary>Signatures were required but the operator chose to skip them for this command.</summary>
    public bool Skipped { get; }

    public static TrustPolicy Load(HostConfig config, IReadOnlyList<string> extraKeys, bool insecureSkip)
    {
        var required = config.RequireSignatures ?? (config.TrustedKeys.Count > 0 || extraKeys.Count > 0);
        if (insecureSkip) return new TrustPolicy([], required: false, skip: required);
        // Retired keys and keys already taken are skipped alike: both are in this set of key ids.
        var skip = config.RetiredKeys.Select(r => r.StartsWith("sha256:", StringComparison.Ordinal) ? r : KeyIdOf(r)).ToHashSet(StringComparer.Ordinal);
        var keys = new List<ECDsa>();
        foreach (var path in config.TrustedKeys.Concat(extraKeys).Distinct(StringComparer.Ordinal))
        {
            var key = Signatures.LoadKey(path);
            if (skip.Add(Signatures.KeyId(key))) keys.Add(key);
            else key.Dispose();
        }
        if (required && keys.Count == 0)
        {
            throw new InstallerException("OSVA-I018", "signatures are required but no trusted key is left (every configured key is retired)",
                $"add a current key as trusted-key in {HostConfig.HostPath}, or pass --trusted-key");
        }
        return new TrustPolicy(keys, required, skip: false);
    }

    private static string KeyIdOf(string path)
    {
        using var key = Signatures.LoadKey(path);
        return Signatures.KeyId(key);
    }

    public void Dispose()
    {
        foreach (var key in Keys) key.Dispose();
    }
}
