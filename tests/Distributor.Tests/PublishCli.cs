using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Distributor.Tests;

/// <summary>Runs the real osva-publish binary, as a release engineer or the lead's integration tests do.</summary>
internal static class PublishCli
{
    public static string Dll { get; } = Path.Combine(AppContext.BaseDirectory, "osva-publish.dll");

    public static Task<ProcessResult> RunAsync(IEnumerable<string> args, IDictionary<string, string> env, TimeSpan? timeout = null) =>
        ProcessRunner.RunAsync("dotnet", [Dll, .. args], env, timeout: timeout ?? TimeSpan.FromMinutes(3));

    /// <summary>The store arguments for a location: --store, plus --s3-endpoint for S3.</summary>
    public static IEnumerable<string> StoreArgs(string location, string? endpoint) =>
        endpoint is null ? ["--store", location] : ["--store", location, "--s3-endpoint", endpoint];

    public static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
