using System.Text.RegularExpressions;

namespace OsVenvArtifacts.Artifact;

/// <summary>Validation of the names that become paths on hosts and keys in stores.</summary>
public static partial class Names
{
    // \z, not $: .NET's $ also matches before a final newline, so "nova\n" passed as a service name (found by make fuzz).
    [GeneratedRegex(@"^[a-z0-9][a-z0-9_-]*\z")]
    private static partial Regex ServicePattern();

    [GeneratedRegex(@"^[A-Za-z0-9._-]+\z")]
    private static partial Regex TagPattern();

    /// <summary>Service names are lower case so that store keys and unit names agree on every file system.</summary>
    public static string Service(string value) =>
        ServicePattern().IsMatch(value) && value.Length <= 64
            ? value
            : throw new OsvaException("OSVA-A001", $"service name '{value}' is not valid",
                "use lower-case letters, digits, '-' and '_', starting with a letter or digit (for example 'nova')");

    /// <summary>A tag may not be '.' or '..' nor start with '.', so it can never climb out of a directory.</summary>
    public static string Tag(string value) =>
        TagPattern().IsMatch(value) && !value.StartsWith('.') && value.Length <= 128
            ? value
            : throw new OsvaException("OSVA-A002", $"tag '{value}' is not valid",
                "use letters, digits, '.', '_' and '-' (for example '31.0.0'), not starting with '.'");
}
