namespace OsVenvArtifacts.TestSupport;

/// <summary>
/// The real osva programs as a user runs them: osva-build and osva-publish from their build output,
/// osva-install as the NativeAOT binary `make publish-installer` writes (what hosts run), falling back
/// to its managed build outside CI.
/// </summary>
public static class OsvaPrograms
{
    private static readonly string Configuration =
        AppContext.BaseDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";

    public static Task<ProcessResult> BuildAsync(IEnumerable<string> args, IDictionary<string, string>? env = null) =>
        RunManagedAsync("builder", "osva-build", args, env);

    public static Task<ProcessResult> PublishAsync(IEnumerable<string> args, IDictionary<string, string>? env = null) =>
        RunManagedAsync("distributor", "osva-publish", args, env);

    public static Task<ProcessResult> InstallAsync(IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var native = Environment.GetEnvironmentVariable("OSVA_INSTALLER_BINARY")
            ?? Path.Combine(TestEnvironment.RepoRoot, "out", "installer", "osva-install");
        if (File.Exists(native)) return ProcessRunner.RunAsync(native, args, env);
        if (TestEnvironment.InCi)
        {
            throw new FileNotFoundException($"the NativeAOT installer is missing at {native}; `make test` publishes it first");
        }
        return RunManagedAsync("installer", "osva-install", args, env);
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

    private static Task<ProcessResult> RunManagedAsync(string folder, string assembly, IEnumerable<string> args, IDictionary<string, string>? env)
    {
        var dll = Path.Combine(TestEnvironment.RepoRoot, folder, "bin", Configuration, "net10.0", assembly + ".dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing; build the solution with -c {Configuration} first");
        }
        return ProcessRunner.RunAsync("dotnet", [dll, .. args], env);
    }
}
