using System.CommandLine;
using OsVenvArtifacts.Installer.Operations;

namespace OsVenvArtifacts.Installer.Cli;

/// <summary>gc SERVICE --keep N: remove old tags, never the active or previous one.</summary>
internal static class GcCommand
{
    public static Command Create()
    {
        var command = new Command("gc", "Remove old tags, keeping the N newest plus the active and previous ones");
        command.Arguments.Add(CommonOptions.Service);
        command.Options.Add(CommonOptions.Keep);
        command.Options.Add(CommonOptions.DryRun);
        CommonOptions.AddOutput(command);
        CommonOptions.Bind(command, (r, ct) => new LifecycleOperations(CommonOptions.Environment(r)).GcAsync(Options(r), ct));
        return command;
    }

    private static GcOptions Options(ParseResult r) =>
        new(r.GetValue(CommonOptions.Service)!, r.GetValue(CommonOptions.Keep), r.GetValue(CommonOptions.DryRun));
}
