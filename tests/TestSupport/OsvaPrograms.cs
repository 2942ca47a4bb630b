namespace OsVenvArtifacts.TestSupport;

/// <summary>
/// The real osva programs as a user runs them: osva-build and osva-publish as built with the tests,
/// osva-install as the NativeAOT binary `make publish-installer` writes (what hosts run), falling back
/// to its managed build outside CI.
/// </summary>
public static class OsvaPrograms
{
    public static Task<ProcessResult> BuildAsync(IEnumerable<string> args, IDictionary<string, string>? env = null) =>
        RunManagedAsync("osva-build", args, env);

    public static Task<ProcessResult> PublishAsync(IEnumerable<string> args, IDictionary<string, string>? env = null) =>
        RunManagedAsync("osva-publish", args, env);

    public static Task<ProcessResult> InstallAsync(IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var native = Environment.GetEnvironmentVariable("OSVA_INSTALLER_BINARY")
            ?? Path.Combine(TestEnvironment.RepoRoot, "out", "installer", "osva-install");
        if (File.Exists(native)) return ProcessRunner.RunAsync(native, args, env);
        if (TestEnvironment.InCi)
        {
            throw new FileNotFoundException($"the NativeAOT installer is missing at {native}; `make test` publishes it first");
        }
        return RunManagedAsync("osva-install", args, env);
    }

    /// <summary>Environment for talking to the loopback s3rver with the standard AWS variables.</summary>
    public static Dictionary<string, string> S3Environment() => new()
    {
        ["AWS_ACCESS_KEY_ID"] = TestEnvironment.S3AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = TestEnvironment.S3SecretKey,
        ["AWS_ENDPOINT_URL"] = TestEnvironment.S3Endpoint,
        ["AWS_REGION"] = "us-east-1",
        // No instance-metadata lookups on a machine that is not in a cloud.
        ["AWS_EC2_METADATA_DISABLED"] = "true",
    };

    /// <summary>
    /// Runs a program from the copy the test project's build put beside the test assembly, so the test always
    /// runs the code it was built with, whatever the configuration or artifacts path.
    /// </summary>
    private static Task<ProcessResult> RunManagedAsync(string assembly, IEnumerable<string> args, IDictionary<string, string>? env)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, assembly + ".dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing; the test project must reference the {assembly} project");
        }
        return ProcessRunner.RunAsync("dotnet", [dll, .. args], env);
    }
}
