using System.CommandLine;
using OsVenvArtifacts.Installer.Operations;

namespace OsVenvArtifacts.Installer.Cli;

/// <summary>status SERVICE: tags plus the units and files the active activation wrote.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var command = new Command("status", "Installed tags, active tag, units and files it wrote");
        command.Arguments.Add(CommonOptions.Service);
        CommonOptions.AddOutput(command);
        CommonOptions.Bind(command, (r, ct) => new LifecycleOperations(CommonOptions.Environment(r)).StatusAsync(Options(r), ct));
        return command;
    }

    private static StatusOptions Options(ParseResult r) => new(r.GetValue(CommonOptions.Service)!);
}
