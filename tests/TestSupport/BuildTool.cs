namespace OsVenvArtifacts.TestSupport;

/// <summary>
/// Runs the real osva-build (the osva-build.dll copied beside the test binaries by the project reference),
/// with containers named osva-bt-* and the repository's images folder.
/// </summary>
public static class BuildTool
{
    public static string Dll { get; } = Path.Combine(AppContext.BaseDirectory, "osva-build.dll");

    public static Task<ProcessResult> RunAsync(IEnumerable<string> args, IDictionary<string, string>? env = null, TimeSpan? timeout = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["OSVA_BUILD_NAME_PREFIX"] = "osva-bt-",
            ["OSVA_IMAGES"] = Path.Combine(TestEnvironment.RepoRoot, "images"),
        };
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) environment[k] = v;
        return ProcessRunner.RunAsync("dotnet", [Dll, .. args], environment, timeout: timeout ?? TimeSpan.FromMinutes(15));
    }
}
