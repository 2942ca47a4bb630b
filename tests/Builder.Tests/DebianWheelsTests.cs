using System.Text.Json;
using OsVenvArtifacts.Builder.Docker;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Builder.Tests;

/// <summary>
/// <c>osva-build wheels --from-debian</c> on a small package: apt in the platform image (network host), wheels out,
/// the same bytes twice, and a wheel pip installs offline into a venv of the platform image and Python imports.
/// </summary>
public sealed class DebianWheelsTests : IDisposable
{
    private readonly TempDirectory _dir = new("bt-debian-wheels");

    [DockerFact]
    public async Task Six_from_Debian_is_a_reproducible_wheel_that_pip_installs_offline_and_python_imports()
    {
        var first = _dir.Combine("first");
        var text = await BuildTool.RunAsync(["wheels", "--from-debian", "python3-six", "--platform", "debian-12", "--out", first]);
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Matches(@"/six-1\.[0-9.]+-py3-none-any\.whl [0-9a-f]{64} \d+ from python3-six 1\.", text.Stdout);
        Assert.Contains("1 wheels in ", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("from 1 Debian packages (the closure of python3-six): python3-six", text.Stdout, StringComparison.Ordinal);

        var second = _dir.Combine("second");
        var json = await BuildTool.RunAsync(["wheels", "--from-debian", "python3-six", "--out", second, "--json"]);
        Assert.True(json.ExitCode == 0, json.ToString());
        var wheel = Assert.Single(JsonDocument.Parse(json.Stdout).RootElement.GetProperty("wheels").EnumerateArray());
        Assert.Equal("python3-six", wheel.GetProperty("debianPackage").GetString());
        var name = Path.GetFileName(wheel.GetProperty("path").GetString()!);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(first, name)), await File.ReadAllBytesAsync(Path.Combine(second, name)));

        var quiet = await BuildTool.RunAsync(["wheels", "--from-debian", "python3-six", "--out", second, "--quiet"]);
        Assert.True(quiet.ExitCode == 0 && quiet.Stdout.Length == 0 && quiet.Stderr.Length == 0, quiet.ToString());
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(first, name)), await File.ReadAllBytesAsync(Path.Combine(second, name)));

        var image = PlatformImages.TagFor("debian-12", PlatformImages.FolderHash(Path.Combine(TestEnvironment.RepoRoot, "images", "debian-12")));
        var run = await ProcessRunner.RunAsync("docker", [
            "run", "--rm", "--network", "none", "--name", $"osva-bt-run-{Guid.NewGuid():N}", "-v", $"{first}:/wheels:ro", image, "sh", "-c",
            "python3 -m venv /tmp/v && /tmp/v/bin/pip install -q --no-index --find-links /wheels six && /tmp/v/bin/python -c 'import six, sys; print(six.__file__)'"]);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.StartsWith("/tmp/v/lib/python3", run.Stdout.Trim(), StringComparison.Ordinal);
    }

    [DockerFact]
    public async Task A_package_apt_does_not_know_is_an_input_error_naming_it()
    {
        var r = await BuildTool.RunAsync(["wheels", "--from-debian", "python3-osva-no-such-package", "--out", _dir.Combine("none")]);
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("OSVA-B123", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("python3-osva-no-such-package", r.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("OSVA-B121", 3, "wheels", "--from-debian", "python3-six;rm", "--out", "x")]
    [InlineData("OSVA-B120", 2, "wheels", "--out", "x")]
    [InlineData("OSVA-B120", 2, "wheels", ".", "--from-debian", "python3-six", "--out", "x")]
    public async Task Wrong_calls_are_refused_before_any_container_runs(string code, int exit, params string[] args)
    {
        var r = await BuildTool.RunAsync(args);
        Assert.True(r.ExitCode == exit, r.ToString());
        Assert.Contains(code, r.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Dispose();
}
