using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Integration.Tests;

/// <summary>
/// Builds the demo service once for the whole class with the real osva-build on the real Docker engine:
/// a wheelhouse made from a generated project (no PyPI), then tags 1.0.0 and 2.0.0 from a release file.
/// </summary>
public sealed class DemoReleaseFixture : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _work = new("integration");

    public string WorkDir => _work.Path;
    public string Wheelhouse => _work.Combine("wheels");
    public string OutDir => _work.Combine("out");
    public ProcessResult? WheelsResult { get; private set; }
    public ProcessResult? BuildResult { get; private set; }

    public async Task InitializeAsync()
    {
        if (!TestEnvironment.InCi && !TestEnvironment.DockerAnswers()) return;

        var src = _work.Combine("src");
        var v1 = PythonProjects.WriteHello(src, version: "1.0.0");
        var v2 = PythonProjects.WriteHello(src, version: "2.0.0");
        WheelsResult = await OsvaPrograms.BuildAsync(["wheels", v1, v2, "--out", Wheelhouse]);
        if (WheelsResult.ExitCode != 0) return;

        // A release lists each service once: the two tags are two releases built into one output directory.
        foreach (var tag in new[] { "1.0.0", "2.0.0" })
        {
            var release = _work.Combine($"release-{tag}.yaml");
            await File.WriteAllTextAsync(release, $$"""
                release: demo-{{tag}}
                defaults:
                  platforms: [debian-12]
                  wheelhouse: ./wheels
                  sourceDateEpoch: 1700000000
                services:
                  - name: demo
                    tag: {{tag}}
                    requirements: [osva-demo-hello=={{tag}}]
                    consoleScripts: [osva-hello, osva-hello-manage]
                    systemd: { units: [ { name: demo-api, execStart: osva-hello } ] }
                    rootwrap: { configPath: /etc/demo/rootwrap.conf, command: demo-rootwrap }
                """);
            BuildResult = await OsvaPrograms.BuildAsync(["build", release, "--out", OutDir]);
            if (BuildResult.ExitCode != 0) return;
        }
    }

    /// <summary>Fails the calling test with the tool's own output when the shared build did not succeed.</summary>
    public void EnsureBuilt()
    {
        Assert.True(WheelsResult is { ExitCode: 0 }, $"osva-build wheels failed: {WheelsResult}");
        Assert.True(BuildResult is { ExitCode: 0 }, $"osva-build build failed: {BuildResult}");
    }

    public string ArtifactFile(string tag, string suffix) =>
        Path.Combine(OutDir, $"demo-{tag}-debian-12-x86_64-py3.11{suffix}");

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _work.Dispose();
}
