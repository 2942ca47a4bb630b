using System.CommandLine;

namespace OsVenvArtifacts.Builder;

internal static class Program
{
    public static Task<int> Main(string[] args)
    {
        var root = new RootCommand("osva-build");
        return root.Parse(args).InvokeAsync();
    }
}
