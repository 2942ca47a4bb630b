using System.Text;
using System.Text.Json;

namespace OsVenvArtifacts.TestSupport;

/// <summary>
/// Appends one JSON line per outcome to <c>$OSVA_TRUST_LOG</c> (default <c>&lt;repo&gt;/TestResults/trust.jsonl</c>),
/// which <c>setup/trust-report.sh</c> sums into the trust report. Kinds and fields the report reads:
/// <c>{"kind":"fuzz","target","seed","iterations","unexpected","refused","accepted"}</c>,
/// <c>{"kind":"kill","stage","runs","midTransaction","broken","leftovers","seed"}</c>,
/// <c>{"kind":"diskfull","stage","runs","broken","leftovers"}</c>,
/// <c>{"kind":"hostile","suite","cases","refusedAsExpected","unexpected"}</c>.
/// </summary>
public static class TrustLog
{
    private static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static string PathName =>
        Environment.GetEnvironmentVariable("OSVA_TRUST_LOG") is { Length: > 0 } p ? p : Path.Combine(TestEnvironment.RepoRoot, "TestResults", "trust.jsonl");

    /// <summary>Serializes <paramref name="line"/> (an anonymous object is fine) as one line; O_APPEND keeps lines from parallel tests whole.</summary>
    public static void Append(object line)
    {
        var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(line, line.GetType(), Options) + "\n");
        Directory.CreateDirectory(Path.GetDirectoryName(PathName)!);
        using var file = new FileStream(PathName, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        file.Write(bytes);
    }

    /// <summary>
    /// One hostile case: call <see cref="HostileCase.Refused"/> once every assertion held; disposing without it
    /// (an assertion threw) records the case as unexpected.
    /// </summary>
    public static HostileCase Hostile(string suite, string name) => new(suite, name);

    public sealed class HostileCase(string suite, string name) : IDisposable
    {
        private bool _refused;
        private bool _written;

        public void Refused() => _refused = true;

        public void Dispose()
        {
            if (_written) return;
            _written = true;
            Append(new { kind = "hostile", suite, @case = name, cases = 1, refusedAsExpected = _refused ? 1 : 0, unexpected = _refused ? 0 : 1 });
        }
    }
}
