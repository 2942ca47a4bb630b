using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Integration.Tests;

/// <summary>What every program does with a wrong command line: exit 2 (docs/exit-codes.md), no stack trace.</summary>
public sealed class CommandLineTests
{
    public static TheoryData<string, string[]> WrongCalls() => new()
    {
        { "osva-build", ["build"] },
        { "osva-build", ["frobnicate"] },
        { "osva-publish", ["publish", "--no-such-option"] },
        { "osva-install", ["install", "nova"] },
        { "osva-install", [] },
    };

    [Theory]
    [MemberData(nameof(WrongCalls))]
    public async Task Wrong_command_line_exits_2_and_points_at_help(string program, string[] args)
    {
        var result = program switch
        {
            "osva-build" => await OsvaPrograms.BuildAsync(args),
            "osva-publish" => await OsvaPrograms.PublishAsync(args),
            _ => await OsvaPrograms.InstallAsync(args),
        };

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"{program}: usage: ", result.Stderr, StringComparison.Ordinal);
        Assert.Contains($"see '{program} --help'", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("osva-build")]
    [InlineData("osva-publish")]
    [InlineData("osva-install")]
    public async Task Help_lists_the_verbs_and_exits_0(string program)
    {
        var result = program switch
        {
            "osva-build" => await OsvaPrograms.BuildAsync(["--help"]),
            "osva-publish" => await OsvaPrograms.PublishAsync(["--help"]),
            _ => await OsvaPrograms.InstallAsync(["--help"]),
        };

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Commands:", result.Stdout, StringComparison.Ordinal);
    }
}
