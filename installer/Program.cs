using System.CommandLine;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Cli;

namespace OsVenvArtifacts.Installer;

internal static class Program
{
    public static Task<int> Main(string[] args)
    {
        var parsed = Build().Parse(args);
        return parsed.Errors.Count == 0
            ? parsed.InvokeAsync()
            : Task.FromResult(CommandGuard.UsageError("osva-install", parsed.Errors.Select(e => e.Message), CommandGuard.WantsJson(args)));
    }

    public static RootCommand Build()
    {
        var root = new RootCommand("osva-install: installs prebuilt OpenStack venvs from an osva store and activates them");
        root.Subcommands.Add(InstallCommand.Create());
        root.Subcommands.Add(SwitchCommand.Create());
        root.Subcommands.Add(RollbackCommand.Create());
        root.Subcommands.Add(ListCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());
        root.Subcommands.Add(GcCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(UninstallCommand.Create());
        root.Subcommands.Add(DoctorCommand.Create());
        root.Subcommands.Add(RepairCommand.Create());
        root.Subcommands.Add(DisableCommand.Create());
        return root;
    }
}
