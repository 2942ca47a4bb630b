using System.Text.RegularExpressions;

namespace OsVenvArtifacts.Artifact;

/// <summary>Where an artifact runs: <c>&lt;distro&gt;-&lt;version&gt;-&lt;arch&gt;-py&lt;major.minor&gt;</c>, such as <c>debian-12-x86_64-py3.11</c>.</summary>
public sealed partial record PlatformId(string Distro, string Version, string Arch, string Python)
{
    [GeneratedRegex(@"^(?<distro>[a-z][a-z0-9]*)-(?<version>[0-9][0-9.]*)-(?<arch>x86_64|aarch64|ppc64le|s390x)-py(?<python>[0-9]+\.[0-9]+)\z")]
    private static partial Regex Pattern();

    public override string ToString() => $"{Distro}-{Version}-{Arch}-py{Python}";

    public static PlatformId Parse(string value)
    {
        var match = Pattern().Match(value);
        if (!match.Success)
        {
            throw new OsvaException("OSVA-A003", $"platform '{value}' is not valid",
                "write it as <distro>-<version>-<arch>-py<major.minor>, for example 'debian-12-x86_64-py3.11'");
        }
        return new PlatformId(match.Groups["distro"].Value, match.Groups["version"].Value,
            match.Groups["arch"].Value, match.Groups["python"].Value);
    }
}
