using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Integration.Tests;

/// <summary>
/// A user's mistake is never an internal error: each program, run on a mistake users make, says what is wrong and
/// how to fix it in one line with its code, and exits with the code for that kind of failure (not 0, not 1).
/// </summary>
public sealed class UserMistakeTests : IDisposable
{
    private readonly TempDirectory _dir = new("user-mistakes");

    public static TheoryData<string, string, string[]> Mistakes() => new()
    {
        { "osva-install", "OSVA-I090", ["list", "--root", ""] },
        { "osva-install", "OSVA-I090", ["list", "--root", "{file}"] },
        { "osva-install", "OSVA-S002", ["install", "demo", "1.0.0", "--store", "s3:/bucket", "--root", "{dir}"] },
        { "osva-install", "OSVA-S002", ["install", "demo", "1.0.0", "--store", "s3//bucket", "--root", "{dir}"] },
        { "osva-install", "OSVA-S022", ["install", "demo", "1.0.0", "--store", "{missing}", "--root", "{dir}"] },
        { "osva-install", "OSVA-A022", ["install", "demo", "1.0.0", "--store", "{dir}", "--root", "{dir}", "--trusted-key", "{missing}"] },
        { "osva-install", "OSVA-A020", ["install", "demo", "1.0.0", "--store", "{dir}", "--root", "{dir}", "--trusted-key", "{file}"] },
        { "osva-publish", "OSVA-S022", ["list", "--store", "{missing}"] },
        { "osva-publish", "OSVA-S002", ["list", "--store", "s3:/bucket"] },
        { "osva-publish", "OSVA-S002", ["list", "--store", "https:/mirror.example"] },
        { "osva-publish", "OSVA-P002", ["publish", "{file}", "--store", "{dir}"] },
        { "osva-publish", "OSVA-P001", ["publish", "{dir}", "--store", "{dir}/store"] },
        { "osva-build", "OSVA-B010", ["build", "{missing}", "--out", "{dir}/out"] },
        { "osva-build", "OSVA-B050", ["diff", "{missing}", "{file}"] },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public async Task A_mistake_is_named_with_its_code_and_fix_in_one_line(string program, string code, string[] args)
    {
        var file = Path.Combine(_dir.Path, "not-a-directory.pem");
        await File.WriteAllTextAsync(file, "not a key\n");
        var expanded = args.Select(a => a.Replace("{file}", file, StringComparison.Ordinal)
            .Replace("{missing}", Path.Combine(_dir.Path, "missing"), StringComparison.Ordinal)
            .Replace("{dir}", _dir.Path, StringComparison.Ordinal)).ToArray();

        var result = program switch
        {
            "osva-build" => await OsvaPrograms.BuildAsync(expanded),
            "osva-publish" => await OsvaPrograms.PublishAsync(expanded),
            _ => await OsvaPrograms.InstallAsync(expanded),
        };

        Assert.True(result.ExitCode is not (0 or 1), result.ToString());
        var error = result.Stderr.Trim();
        Assert.DoesNotContain('\n', error);
        Assert.StartsWith($"{program}: error {code}: ", error, StringComparison.Ordinal);
        Assert.Contains("(hint: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", error, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Dispose();
}
