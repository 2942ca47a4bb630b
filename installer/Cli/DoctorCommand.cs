using System.CommandLine;
using OsVenvArtifacts.Installer.Operations;

namespace OsVenvArtifacts.Installer.Cli;

/// <summary>doctor [SERVICE]: venvs broken by host changes, with fixes; exit 4 when any.</summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var command = new Command("doctor", "Find venvs a host change broke and say how to fix them");
        command.Arguments.Add(CommonOptions.OptionalService);
        CommonOptions.AddOutput(command);
        CommonOptions.Bind(command, (r, ct) => new LifecycleOperations(CommonOptions.Environment(r)).DoctorAsync(Options(r), ct));
        return command;
    }

    private static DoctorOptions Options(ParseResult r) => new(r.GetValue(CommonOptions.OptionalService));
}
