using System.CommandLine;
using OsVenvArtifacts.Installer.Operations;

namespace OsVenvArtifacts.Installer.Cli;

/// <summary>rollback SERVICE: switch back to the previous tag.</summary>
internal static class RollbackCommand
{
    public static Command Create()
    {
        var command = new Command("rollback", "Switch back to the previous tag");
        command.Arguments.Add(CommonOptions.Service);
        CommonOptions.AddActivation(command);
        CommonOptions.AddOutput(command);
        CommonOptions.Bind(command, (r, ct) => new LifecycleOperations(CommonOptions.Environment(r)).RollbackAsync(Options(r), ct));
        return command;
    }

    private static RollbackOptions Options(ParseResult r) =>
        new(r.GetValue(CommonOptions.Service)!, CommonOptions.Activation(r), r.GetValue(CommonOptions.DryRun));
}
