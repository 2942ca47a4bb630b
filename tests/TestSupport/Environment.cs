using Xunit;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace OsVenvArtifacts.TestSupport;

/// <summary>
/// What the integration tests need from the machine. In CI (CI=true) nothing is optional: a test that
/// needs the engine runs and fails loudly when it is missing. Outside CI the test is skipped and says why.
/// </summary>
public static class TestEnvironment
{
    public static bool InCi => Environment.GetEnvironmentVariable("CI") is "true" or "1";

    public static string RepoRoot { get; } = FindRepoRoot();

    public const string DockerSocket = "/var/run/docker.sock";

    public static int S3Port => int.TryParse(Environment.GetEnvironmentVariable("OSVA_S3_PORT"), out var p) ? p : 4568;

    public static string S3Endpoint => $"http://127.0.0.1:{S3Port}";

    /// <summary>The bucket setup/ensure-env.sh creates for tests.</summary>
    public const string S3Bucket = "osva-test";

    /// <summary>s3rver's fixed credentials.</summary>
    public const string S3AccessKey = "S3RVER";
    public const string S3SecretKey = "S3RVER";

    public static bool DockerAnswers() => Connects(new UnixDomainSocketEndPoint(DockerSocket), AddressFamily.Unix);

    /// <summary>Debian's ansible package (setup/ensure-env.sh installs it), for the osva.venv collection's tests.</summary>
    public static bool HasAnsible() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, "ansible")));

    public static bool S3Answers() => Connects(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, S3Port), AddressFamily.InterNetwork);

    private static bool Connects(System.Net.EndPoint endpoint, AddressFamily family)
    {
        try
        {
            using var socket = new Socket(family, SocketType.Stream, family == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
            socket.Connect(endpoint);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// OSVA_REPO, else the first folder above the test binaries with the solution, else the repository this source
    /// file was compiled from (a private --artifacts-path puts the binaries outside the repository).
    /// </summary>
    private static string FindRepoRoot([CallerFilePath] string source = "")
    {
        if (Environment.GetEnvironmentVariable("OSVA_REPO") is { Length: > 0 } fromEnv) return fromEnv;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OsVenvArtifacts.sln"))) return dir.FullName;
        }
        var fromSource = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source) ?? "", "..", ".."));
        return File.Exists(Path.Combine(fromSource, "OsVenvArtifacts.sln"))
            ? fromSource
            : throw new InvalidOperationException("cannot find OsVenvArtifacts.sln above the test binaries or their sources; set OSVA_REPO");
    }
}

/// <summary>A fact that needs the Docker engine: skipped with the reason outside CI, never skipped in CI.</summary>
public sealed class DockerFactAttribute : FactAttribute
{
    public DockerFactAttribute()
    {
        if (!TestEnvironment.InCi && !TestEnvironment.DockerAnswers())
        {
            Skip = $"no Docker engine answers at {TestEnvironment.DockerSocket}; run ./setup/ensure-env.sh (in CI this test fails instead)";
        }
    }
}

/// <summary>A fact that needs s3rver on loopback: skipped with the reason outside CI, never skipped in CI.</summary>
public sealed class S3FactAttribute : FactAttribute
{
    public S3FactAttribute()
    {
        if (!TestEnvironment.InCi && !TestEnvironment.S3Answers())
        {
            Skip = $"no S3 server answers at {TestEnvironment.S3Endpoint}; run ./setup/ensure-env.sh (in CI this test fails instead)";
        }
    }
}

/// <summary>A theory that needs s3rver on loopback; same skip rule as <see cref="S3FactAttribute"/>.</summary>
public sealed class S3TheoryAttribute : TheoryAttribute
{
    public S3TheoryAttribute()
    {
        if (!TestEnvironment.InCi && !TestEnvironment.S3Answers())
        {
            Skip = $"no S3 server answers at {TestEnvironment.S3Endpoint}; run ./setup/ensure-env.sh (in CI this test fails instead)";
        }
    }
}

/// <summary>A fact that needs both the Docker engine and s3rver.</summary>
public sealed class DockerAndS3FactAttribute : FactAttribute
{
    public DockerAndS3FactAttribute()
    {
        if (!TestEnvironment.InCi && !(TestEnvironment.DockerAnswers() && TestEnvironment.S3Answers()))
        {
            Skip = "needs the Docker engine and s3rver on loopback; run ./setup/ensure-env.sh (in CI this test fails instead)";
        }
    }
}

/// <summary>A fact that needs Ansible (Debian's ansible package): skipped with the reason outside CI, never skipped in CI.</summary>
public sealed class AnsibleFactAttribute : FactAttribute
{
    public AnsibleFactAttribute()
    {
        if (!TestEnvironment.InCi && !TestEnvironment.HasAnsible())
        {
            Skip = "ansible is not installed; run ./setup/ensure-env.sh (in CI this test fails instead)";
        }
    }
}
