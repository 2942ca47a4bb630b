using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Builder.Tests;

/// <summary>With --json a failure is also one JSON object on stdout, as osva-install and osva-publish print it.</summary>
public sealed class JsonErrorTests : IDisposable
{
    private readonly TempDirectory _work = new("build-json-errors");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task Build_of_a_missing_release_file_prints_the_error_as_json_with_the_same_exit_code()
    {
        string[] args = ["build", _work.Combine("missing.yaml"), "--out", _work.Combine("out")];

        var text = await BuildTool.RunAsync(args);
        var json = await BuildTool.RunAsync([.. args, "--json"]);

        JsonFailure.AssertTextOnly(text, 3, "OSVA-B010");
        var failure = JsonFailure.AssertPrinted(json, text.ExitCode, "OSVA-B010");
        Assert.Contains("missing.yaml", failure.GetProperty("msg").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_usage_error_with_json_is_a_json_failure_exiting_2()
    {
        var json = await BuildTool.RunAsync(["frobnicate", "--json"]);

        JsonFailure.AssertPrinted(json, 2, "OSVA-X002");
    }
}
