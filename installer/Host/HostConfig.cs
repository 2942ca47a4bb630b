using System.Globalization;

namespace OsVenvArtifacts.Installer.Host;

/// <summary>
/// <c>/etc/osva/osva.conf</c> (under <c>--root</c>): the host's own rules, so neither Ansible nor an operator repeats
/// them on every command and no artifact can loosen them. One <c>key = value</c> a line, <c>#</c> starts a comment,
/// repeatable keys may appear more than once, an unknown key is an error (a typo must not silently drop a rule).
/// Command-line options override single values and add to lists. See docs/osva-install.md, "Host configuration".
/// </summary>
internal sealed record HostConfig
{
    public const string HostPath = "/etc/osva/osva.conf";

    /// <summary>Default store for install (<c>--store</c> overrides).</summary>
    public string? Store { get; init; }
    public string? S3Endpoint { get; init; }
    public string? S3Region { get; init; }
    public bool? S3PathStyle { get; init; }
    /// <summary>PEM public keys whose signatures this host accepts on indexes and manifests.</summary>
    public IReadOnlyList<string> TrustedKeys { get; init; } = [];
    /// <summary>Keys (PEM path or <c>sha256:</c> key id) no longer accepted, even when also listed as trusted.</summary>
    public IReadOnlyList<string> RetiredKeys { get; init; } = [];
    /// <summary>Refuse anything unsigned; the default is true as soon as one trusted key is configured.</summary>
    public bool? RequireSignatures { get; init; }
    /// <summary>Every venv lives directly below this directory; no artifact may name a path outside it.</summary>
    public string VenvsRoot { get; init; } = "/openstack/venvs";
    public long MaxArchiveSize { get; init; } = 4L << 30;
    public long MaxUnpackedSize { get; init; } = 16L << 30;
    public long MaxEntrySize { get; init; } = 2L << 30;
    public long MaxEntries { get; init; } = 1_000_000;
    /// <summary>A transfer that delivers no byte for this long is cut and reported as stalled.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public bool SignaturesRequired => RequireSignatures ?? TrustedKeys.Count > 0;

    /// <summary>Reads the file at <paramref name="path"/>; defaults when it does not exist.</summary>
    public static HostConfig Load(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new HostConfig();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InstallerException("OSVA-I006", $"host configuration {path} cannot be read: {e.Message}",
                "check that it is a readable file (osva-install runs as root)");
        }
        return Parse(lines, path);
    }

    public static HostConfig Parse(IReadOnlyList<string> lines, string path)
    {
        var config = new HostConfig();
        var trusted = new List<string>();
        var retired = new List<string>();
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            var hash = line.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0) line = line[..hash];
            line = line.Trim();
            if (line.Length == 0) continue;
            var where = $"{path}:{i + 1}";
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0) throw Invalid(where, $"'{line}' is not 'key = value'", "write one setting a line as key = value");
            var key = line[..equals].Trim();
            var value = line[(equals + 1)..].Trim();
            if (value.Length == 0) throw Invalid(where, $"{key} has no value", "give it a value or remove the line");
            config = key switch
            {
                "store" => config with { Store = value },
                "s3-endpoint" => config with { S3Endpoint = value },
                "s3-region" => config with { S3Region = value },
                "s3-path-style" => config with { S3PathStyle = Bool(where, key, value) },
                "trusted-key" => Add(trusted, value, config),
                "retired-key" => Add(retired, value, config),
                "require-signatures" => config with { RequireSignatures = Bool(where, key, value) },
                "venvs-root" => config with { VenvsRoot = VenvsRootPath(where, value) },
                "max-archive-size" => config with { MaxArchiveSize = Size(where, key, value) },
                "max-unpacked-size" => config with { MaxUnpackedSize = Size(where, key, value) },
                "max-entry-size" => config with { MaxEntrySize = Size(where, key, value) },
                "max-entries" => config with { MaxEntries = Count(where, key, value) },
                "stall-timeout" => config with { StallTimeout = TimeSpan.FromSeconds(Seconds(where, key, value)) },
                _ => throw Invalid(where, $"unknown setting '{key}'",
                    "known settings: store, s3-endpoint, s3-region, s3-path-style, trusted-key, retired-key, require-signatures, " +
                    "venvs-root, max-archive-size, max-unpacked-size, max-entry-size, max-entries, stall-timeout"),
            };
        }
        return config with { TrustedKeys = trusted, RetiredKeys = retired };
    }

    private static HostConfig Add(List<string> list, string value, HostConfig config)
    {
        list.Add(value);
        return config;
    }

    private static bool Bool(string where, string key, string value) => value switch
    {
        "true" or "yes" or "1" => true,
        "false" or "no" or "0" => false,
        _ => throw Invalid(where, $"{key} = {value} is not true or false", $"write {key} = true or {key} = false"),
    };

    private static string VenvsRootPath(string where, string value)
    {
        var ok = value.StartsWith('/') && value.Length > 1 && !value.Split('/').Any(s => s is ".." or ".");
        return ok ? value.TrimEnd('/') : throw Invalid(where, $"venvs-root '{value}' is not an absolute path below /", "for example venvs-root = /openstack/venvs");
    }

    /// <summary>Bytes, with an optional K, M, G or T suffix (powers of 1024).</summary>
    private static long Size(string where, string key, string value)
    {
        var unit = value[^1] switch { 'K' or 'k' => 10, 'M' or 'm' => 20, 'G' or 'g' => 30, 'T' or 't' => 40, _ => 0 };
        var digits = unit == 0 ? value : value[..^1];
        if (long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 && n <= long.MaxValue >> unit)
        {
            return n << unit;
        }
        throw Invalid(where, $"{key} = {value} is not a positive size", $"write bytes or a size such as {key} = 8G");
    }

    private static long Count(string where, string key, string value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw Invalid(where, $"{key} = {value} is not a positive whole number", $"for example {key} = 60");

    /// <summary>At most a day: past TimeSpan's range the value would throw (found by make fuzz), and a longer stall is no stall.</summary>
    private static long Seconds(string where, string key, string value) =>
        Count(where, key, value) is var n && n <= 86_400 ? n : throw Invalid(where, $"{key} = {value} is more than a day", $"for example {key} = 60");

    private static InstallerException Invalid(string where, string problem, string hint) =>
        new("OSVA-I006", $"{where}: {problem}", hint);
}
