using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Builder.Tests;

/// <summary>
/// Shared by every test that drives the real osva-build against the real engine: one wheelhouse built
/// once (osva-build wheels, network none), one release of three services, and its first clean build.
/// </summary>
public sealed class BuildFixture : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _dir = new("bt-build");
    private Task<ProcessResult>? _firstBuild;

    public string Root => _dir.Path;
    public string Wheels => _dir.Combine("wheels");
    public string Release => _dir.Combine("release.yaml");
    public string FirstOut => _dir.Combine("out1");
    /// <summary>Install paths live under a test-only root so nothing here could collide with a real /openstack.</summary>
    public const string InstallRoot = "/opt/osva-bt-venvs";
    public ProcessResult? Wheelhouse { get; private set; }

    public async Task InitializeAsync()
    {
        if (!TestEnvironment.InCi && !TestEnvironment.DockerAnswers()) return;
        var src = _dir.Combine("src");
        Directory.CreateDirectory(src);
        string[] projects =
        [
            PythonProjects.WriteHello(src),
            PythonProjects.WriteWithCExtension(src),
            PythonProjects.WriteHello(src, "osva-demo-tools", "2.0.0", "osva-tools", "tools here"),
        ];
        Wheelhouse = await BuildTool.RunAsync(["wheels", .. projects, "--out", Wheels]);
        await File.WriteAllTextAsync(Release, BuildReleases.ThreeServices(InstallRoot));
    }

    /// <summary>The first clean build of the three-service release, run once and shared.</summary>
    public Task<ProcessResult> FirstBuildAsync()
    {
        lock (_dir)
        {
            _firstBuild ??= BuildTool.RunAsync(["build", Release, "--out", FirstOut, "--jobs", "2"]);
            return _firstBuild;
        }
    }

    /// <summary>A scratch folder beside the wheelhouse, for release files whose ./wheels must resolve.</summary>
    public string NewCase(string name, string releaseYaml)
    {
        var dir = Path.Combine(Root, name);
        Directory.CreateDirectory(dir);
        Directory.CreateSymbolicLink(Path.Combine(dir, "wheels"), Wheels);
        File.WriteAllText(Path.Combine(dir, "release.yaml"), releaseYaml);
        return dir;
    }

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _dir.Dispose();
}

[CollectionDefinition(Name)]
public sealed class RealEngineGroup : ICollectionFixture<BuildFixture>
{
    public const string Name = "osva-build against the real engine";
}
