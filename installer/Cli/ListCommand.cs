using System.CommandLine;
using OsVenvArtifacts.Installer.Operations;

namespace OsVenvArtifacts.Installer.Cli;

/// <summary>list [SERVICE]: installed tags, the active one marked '*', the previous '-'.</summary>
internal static class ListCommand
{
    public static Command Create()
    {
        var command = new Command("list", "Installed tags, active (*) and previous (-)");
        command.Arguments.Add(CommonOptions.OptionalService);
        CommonOptions.AddOutput(command);
        CommonOptions.Bind(command, (r, ct) => new LifecycleOperations(CommonOptions.Environment(r)).ListAsync(Options(r), ct));
        return command;
    }

    private static ListOptions Options(ParseResult r) => new(r.GetValue(CommonOptions.OptionalService));
}
