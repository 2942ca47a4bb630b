using System.CommandLine;

namespace OsVenvArtifacts.Installer;

internal static class Program
{
    public static Task<int> Main(string[] args)
    {
        var root = new RootCommand("osva-install");
        return root.Parse(args).InvokeAsync();
    }
}
