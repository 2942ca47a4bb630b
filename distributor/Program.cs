using System.CommandLine;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Distributor.Commands;

namespace OsVenvArtifacts.Distributor;

internal static class Program
{
    public static Task<int> Main(string[] args)
    {
        var root = new RootCommand("osva-publish: publish osva artifacts to S3-compatible storage or a directory");
        root.Subcommands.Add(PublishCommand.Create());
        root.Subcommands.Add(ListCommand.Create());
        root.Subcommands.Add(ShowCommand.Create());
        root.Subcommands.Add(PromoteCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(YankCommand.Create());
        root.Subcommands.Add(MirrorCommand.Create());
        root.Subcommands.Add(SignIndexCommand.Create());
        root.Subcommands.Add(KeygenCommand.Create());
        var parsed = root.Parse(args);
        return parsed.Errors.Count == 0
            ? parsed.InvokeAsync()
            : Task.FromResult(CommandGuard.UsageError("osva-publish", parsed.Errors.Select(e => e.Message), CommandGuard.WantsJson(args)));
    }
}
