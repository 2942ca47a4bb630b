using System.CommandLine;
using OsVenvArtifacts.Installer.Operations;

namespace OsVenvArtifacts.Installer.Cli;

/// <summary>switch SERVICE TAG: activate an installed tag, no download.</summary>
internal static class SwitchCommand
{
    public static Command Create()
    {
        var command = new Command("switch", "Activate an installed tag (no download)");
        command.Arguments.Add(CommonOptions.Service);
        command.Arguments.Add(CommonOptions.Tag);
        CommonOptions.AddActivation(command);
        CommonOptions.AddOutput(command);
        CommonOptions.Bind(command, (r, ct) => new LifecycleOperations(CommonOptions.Environment(r)).SwitchAsync(Options(r), ct));
        return command;
    }

    private static SwitchOptions Options(ParseResult r) =>
        new(r.GetValue(CommonOptions.Service)!, r.GetValue(CommonOptions.Tag)!, CommonOptions.Activation(r), r.GetValue(CommonOptions.DryRun));
}
