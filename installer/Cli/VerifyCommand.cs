using System.CommandLine;
using OsVenvArtifacts.Installer.Operations;

namespace OsVenvArtifacts.Installer.Cli;

/// <summary>verify SERVICE [TAG]: the tree on disk against what was installed; exit 4 on drift.</summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var command = new Command("verify", "Compare an installed tree with its manifest; report drift");
        command.Arguments.Add(CommonOptions.Service);
        command.Arguments.Add(CommonOptions.OptionalTag);
        CommonOptions.AddOutput(command);
        CommonOptions.Bind(command, (r, ct) => new LifecycleOperations(CommonOptions.Environment(r)).VerifyAsync(Options(r), ct));
        return command;
    }

    private static VerifyOptions Options(ParseResult r) => new(r.GetValue(CommonOptions.Service)!, r.GetValue(CommonOptions.OptionalTag));
}
