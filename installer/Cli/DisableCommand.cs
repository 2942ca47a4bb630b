using System.CommandLine;
using OsVenvArtifacts.Installer.Operations;

namespace OsVenvArtifacts.Installer.Cli;

/// <summary>disable SERVICE: the service runs from its distro packages again; its venvs stay installed.</summary>
internal static class DisableCommand
{
    public static Command Create()
    {
        var command = new Command("disable", "Stop using venvs for a service: put its packaged files back and run it from the packages (venvs stay)");
        command.Arguments.Add(CommonOptions.Service);
        command.Options.Add(CommonOptions.DryRun);
        CommonOptions.AddOutput(command);
        CommonOptions.Bind(command, (r, ct) => new LifecycleOperations(CommonOptions.Environment(r)).DisableAsync(Options(r), ct));
        return command;
    }

    private static DisableOptions Options(ParseResult r) => new(r.GetValue(CommonOptions.Service)!, r.GetValue(CommonOptions.DryRun));
}
