using System.CommandLine;
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
        };
        return root.Parse(args).InvokeAsync();
    }
}
