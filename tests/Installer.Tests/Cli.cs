using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// Runs the real osva-install program as a process: the NativeAOT binary named by OSVA_INSTALLER_BINARY
/// when set (as CI's published one), else the framework-dependent build beside the tests.
/// </summary>
internal static class Cli
{
    private static string? Native => Environment.GetEnvironmentVariable("OSVA_INSTALLER_BINARY") is { Length: > 0 } b ? b : null;

    public static Task<ProcessResult> RunAsync(params string[] args) => RunWithEnvAsync(null, args);

    public static Task<ProcessResult> RunWithEnvAsync(IDictionary<string, string>? env, params string[] args) =>
        Native is { } binary
            ? ProcessRunner.RunAsync(binary, args, env, timeout: TimeSpan.FromMinutes(2))
            : ProcessRunner.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "osva-install.dll"), .. args], env, timeout: TimeSpan.FromMinutes(2));
}
