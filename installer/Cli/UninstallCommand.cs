using System.CommandLine;
using OsVenvArtifacts.Installer.Operations;

namespace OsVenvArtifacts.Installer.Cli;

/// <summary>uninstall SERVICE TAG: remove an inactive tag.</summary>
internal static class UninstallCommand
{
    public static Command Create()
    {
        var command = new Command("uninstall", "Remove an installed tag that is not active");
        command.Arguments.Add(CommonOptions.Service);
        command.Arguments.Add(CommonOptions.Tag);
        command.Options.Add(CommonOptions.DryRun);
        CommonOptions.AddOutput(command);
        CommonOptions.Bind(command, (r, ct) => new LifecycleOperations(CommonOptions.Environment(r)).UninstallAsync(Options(r), ct));
        return command;
    }

    private static UninstallOptions Options(ParseResult r) =>
        new(r.GetValue(CommonOptions.Service)!, r.GetValue(CommonOptions.Tag)!, r.GetValue(CommonOptions.DryRun));
}
