using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Distributor.Tests;

/// <summary>With --json a failure is also one JSON object on stdout, as osva-install and osva-build print it.</summary>
public sealed class JsonErrorTests : IDisposable
{
    private readonly TempDirectory _store = new("publish-json-errors");

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task Show_of_a_service_the_store_lacks_prints_the_error_as_json_with_the_same_exit_code()
    {
        string[] args = ["show", "nova", "31.0.0", "--store", _store.Path];

        var text = await PublishCli.RunAsync(args, new Dictionary<string, string>());
        var json = await PublishCli.RunAsync([.. args, "--json"], new Dictionary<string, string>());

        JsonFailure.AssertTextOnly(text, 6, "OSVA-P052");
        JsonFailure.AssertPrinted(json, text.ExitCode, "OSVA-P052");
    }

    [Fact]
    public async Task A_usage_error_with_json_is_a_json_failure_exiting_2()
    {
        var json = await PublishCli.RunAsync(["publish", "--no-such-option", "--json"], new Dictionary<string, string>());

        JsonFailure.AssertPrinted(json, 2, "OSVA-X002");
    }
}
