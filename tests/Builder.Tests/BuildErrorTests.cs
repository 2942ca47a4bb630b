using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Builder.Tests;

/// <summary>Every failure: non-zero exit, one error line naming the service and the cause, nothing left in --out.</summary>
[Collection(RealEngineGroup.Name)]
public sealed class BuildErrorTests(BuildFixture fixture)
{
    private static string ErrorLine(ProcessResult r)
    {
        var lines = r.Stderr.Split('\n').Where(l => l.StartsWith("osva-build: error", StringComparison.Ordinal)).ToList();
        Assert.True(lines.Count == 1, r.ToString());
        return lines[0];
    }

    private async Task<(ProcessResult Result, string Out)> BuildAsync(string name, string yaml, IDictionary<string, string>? env = null, string? images = null)
    {
        var dir = fixture.NewCase(name, yaml);
        var output = Path.Combine(dir, "out");
        string[] args = ["build", Path.Combine(dir, "release.yaml"), "--out", output, .. images is null ? Array.Empty<string>() : ["--images", images]];
        return (await BuildTool.RunAsync(args, env), output);
    }

    private static void AssertNothingIn(string output)
    {
        Assert.True(!Directory.Exists(output) || Directory.GetFileSystemEntries(output).Length == 0,
            $"{output} holds {string.Join(", ", Directory.Exists(output) ? Directory.GetFileSystemEntries(output) : [])}");
    }

    [DockerFact]
    public async Task A_requirement_pip_cannot_satisfy_names_the_service_and_the_requirement()
    {
        var (r, output) = await BuildAsync("unsatisfiable", BuildReleases.OneService("wrongversion", "osva-demo-hello==9.9", "osva-hello"));

        Assert.Equal(8, r.ExitCode);
        var line = ErrorLine(r);
        Assert.Contains("OSVA-B021", line, StringComparison.Ordinal);
        Assert.Contains("service wrongversion", line, StringComparison.Ordinal);
        Assert.Contains("osva-demo-hello==9.9", line, StringComparison.Ordinal);
        AssertNothingIn(output);
    }

    [DockerFact]
    public async Task A_wheel_missing_from_the_wheelhouse_names_the_service_and_the_package()
    {
        var (r, output) = await BuildAsync("missing", BuildReleases.OneService("nowheel", "osva-not-in-wheelhouse", "osva-x"));

        Assert.Equal(8, r.ExitCode);
        var line = ErrorLine(r);
        Assert.Contains("service nowheel", line, StringComparison.Ordinal);
        Assert.Contains("osva-not-in-wheelhouse", line, StringComparison.Ordinal);
        AssertNothingIn(output);
    }

    [DockerFact]
    public async Task A_missing_console_script_fails_the_build_and_lists_what_is_there()
    {
        var (r, output) = await BuildAsync("noscript", BuildReleases.OneService("noscript", "osva-demo-hello", "osva-hola"));

        Assert.Equal(8, r.ExitCode);
        var line = ErrorLine(r);
        Assert.Contains("OSVA-B022", line, StringComparison.Ordinal);
        Assert.Contains("service noscript", line, StringComparison.Ordinal);
        Assert.Contains("osva-hola", line, StringComparison.Ordinal);
        Assert.Contains("osva-hello", line, StringComparison.Ordinal);
        AssertNothingIn(output);
    }

    [DockerFact]
    public async Task An_image_that_does_not_build_names_the_service_and_the_failing_step()
    {
        var images = Path.Combine(fixture.Root, "broken-images");
        Directory.CreateDirectory(Path.Combine(images, "osva-bt-broken"));
        await File.WriteAllTextAsync(Path.Combine(images, "osva-bt-broken", "Dockerfile"), "FROM debian:12\nRUN echo osva-bt-broken-step && exit 3\n");

        var (r, output) = await BuildAsync("brokenimage", BuildReleases.OneService("brokenimg", "osva-demo-hello", "osva-hello", "osva-bt-broken"), images: images);

        Assert.Equal(8, r.ExitCode);
        var line = ErrorLine(r);
        Assert.Contains("OSVA-B004", line, StringComparison.Ordinal);
        Assert.Contains("service brokenimg", line, StringComparison.Ordinal);
        Assert.Contains("osva-bt-broken", line, StringComparison.Ordinal);
        AssertNothingIn(output);
    }

    [DockerFact]
    public async Task An_engine_that_is_not_running_is_one_clear_error()
    {
        var (r, output) = await BuildAsync("deadengine", BuildReleases.OneService("nodocker", "osva-demo-hello", "osva-hello"),
            new Dictionary<string, string> { ["DOCKER_HOST"] = $"unix:///tmp/osva-bt-dead-{Guid.NewGuid():N}.sock" });

        Assert.Equal(8, r.ExitCode);
        var line = ErrorLine(r);
        Assert.Contains("OSVA-B001", line, StringComparison.Ordinal);
        Assert.Contains("nodocker", line, StringComparison.Ordinal);
        Assert.Contains("does not answer", line, StringComparison.Ordinal);
        AssertNothingIn(output);
    }

    [DockerFact]
    public async Task An_unknown_key_is_reported_with_file_line_and_key_before_any_build()
    {
        var (r, output) = await BuildAsync("unknownkey", BuildReleases.OneService("typo", "osva-demo-hello", "osva-hello") + "\n    requirement: [x]\n");

        Assert.Equal(3, r.ExitCode);
        var line = ErrorLine(r);
        Assert.Contains("release.yaml:10: services[0].requirement: unknown key 'requirement'", line, StringComparison.Ordinal);
        AssertNothingIn(output);
    }
}
