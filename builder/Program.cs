using System.CommandLine;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Builder.Cli;

namespace OsVenvArtifacts.Builder;

internal static class Program
{
    public static Task<int> Main(string[] args)
    {
        var root = new RootCommand("osva-build: builds OpenStack service venvs into reproducible artifacts")
        {
            BuildCommand.Create(),
            WheelsCommand.Create(),
            ImageCommand.Create(),
            DiffCommand.Create(),
            RebuildCommand.Create(),
            PackCommand.Create(),
        };
        var parsed = root.Parse(args);
        return parsed.Errors.Count == 0
            ? parsed.InvokeAsync()
            : Task.FromResult(CommandGuard.UsageError("osva-build", parsed.Errors.Select(e => e.Message), CommandGuard.WantsJson(args)));
    }
}
