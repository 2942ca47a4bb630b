using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>With --json a failure is also one JSON object on stdout, so Ansible's osva_venv module never parses text.</summary>
public sealed class JsonErrorTests : IDisposable
{
    private readonly ScratchHost _host = new();

    public void Dispose() => _host.Dispose();

    private string[] InstallUnknown(params string[] extra) =>
        ["install", "nova", "31.0.0", "--store", _host.Store, "--root", _host.Root, "--platform", "debian-12-x86_64-py3.11", .. extra];

    [Fact]
    public async Task Install_from_a_store_without_the_service_prints_the_error_as_json_with_the_same_exit_code()
    {
        var text = await Cli.RunAsync(InstallUnknown());
        var json = await Cli.RunAsync(InstallUnknown("--json"));

        JsonFailure.AssertTextOnly(text, 6, "OSVA-I012");
        var failure = JsonFailure.AssertPrinted(json, text.ExitCode, "OSVA-I012");
        Assert.Contains("nova", failure.GetProperty("msg").GetString(), StringComparison.Ordinal);
        Assert.Contains("osva-install: error OSVA-I012: ", json.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_usage_error_with_json_is_a_json_failure_exiting_2()
    {
        var text = await Cli.RunAsync("install", "nova");
        var json = await Cli.RunAsync("install", "nova", "--json");

        Assert.True(text.ExitCode == 2 && text.Stdout.Length == 0, text.ToString());
        var failure = JsonFailure.AssertPrinted(json, 2, "OSVA-X002");
        Assert.Contains("tag", failure.GetProperty("msg").GetString(), StringComparison.Ordinal);
    }
}
