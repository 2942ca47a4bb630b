using System.CommandLine;
using OsVenvArtifacts.Installer.Operations;

namespace OsVenvArtifacts.Installer.Cli;

/// <summary>
/// repair SERVICE [TAG]: fetch a damaged tag again and swap it in; repair SERVICE --state: rebuild the state file from disk.
/// Rebuilding the state is a repair, not part of doctor, so that doctor stays a check (safe from monitoring: it only
/// undoes an interrupted activation, as every command does first) and every fix doctor suggests is one verb: repair.
/// </summary>
internal static class RepairCommand
{
    private static readonly Option<bool> State = new("--state")
    {
        Description = "Rebuild /var/lib/osva/SERVICE.json from the venvs and manifests on disk (no download; the damaged file is kept)",
    };

    public static Command Create()
    {
        var command = new Command("repair", "Fetch a tag whose venv drifted again and swap it in as one step; or rebuild the state file (--state)");
        command.Arguments.Add(CommonOptions.Service);
        command.Arguments.Add(CommonOptions.OptionalTag);
        command.Options.Add(State);
        CommonOptions.AddStore(command);
        CommonOptions.AddActivation(command);
        CommonOptions.AddOutput(command);
        command.Validators.Add(r =>
        {
            if (r.GetValue(State) && r.GetValue(CommonOptions.OptionalTag) is not null) r.AddError("--state rebuilds the whole service's state: give no tag");
        });
        CommonOptions.Bind(command, (r, ct) =>
        {
            var env = CommonOptions.Environment(r);
            if (r.GetValue(State)) return new StateRebuild(env).RunAsync(r.GetValue(CommonOptions.Service)!, r.GetValue(CommonOptions.DryRun), ct);
            return new InstallOperation(env).RepairAsync(new RepairRequest
            {
                Service = r.GetValue(CommonOptions.Service)!,
                Tag = r.GetValue(CommonOptions.OptionalTag),
                Store = CommonOptions.StoreOf(r),
                S3 = CommonOptions.S3(r, env.Config),
                TrustedKeys = r.GetValue(CommonOptions.TrustedKeys) ?? [],
                InsecureSkipSignature = r.GetValue(CommonOptions.InsecureSkipSignature),
                StallTimeout = CommonOptions.StallTimeoutOf(r),
                DryRun = r.GetValue(CommonOptions.DryRun),
                Activation = CommonOptions.Activation(r),
            }, ct);
        });
        return command;
    }
}
