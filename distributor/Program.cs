using System.CommandLine;

namespace OsVenvArtifacts.Distributor;

internal static class Program
{
    public static Task<int> Main(string[] args)
    {
        var root = new RootCommand("osva-publish");
        return root.Parse(args).InvokeAsync();
    }
}
