using Xunit;

namespace OsVenvArtifacts.TestSupport;

/// <summary>A theory that needs the Docker engine; same skip rule as <see cref="DockerFactAttribute"/>.</summary>
public sealed class DockerTheoryAttribute : TheoryAttribute
{
    public DockerTheoryAttribute()
    {
        if (!TestEnvironment.InCi && !TestEnvironment.DockerAnswers())
        {
            Skip = $"no Docker engine answers at {TestEnvironment.DockerSocket}; run ./setup/ensure-env.sh (in CI this test fails instead)";
        }
    }
}
