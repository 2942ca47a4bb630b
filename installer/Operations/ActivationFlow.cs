using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Activation;
using OsVenvArtifacts.Installer.Host;
using OsVenvArtifacts.Installer.State;

namespace OsVenvArtifacts.Installer.Operations;

/// <summary>Activates an installed tag and records it: shared by install, switch and rollback.</summary>
internal static class ActivationFlow
{
    public static async Task<(bool Changed, IReadOnlyList<string> Actions, ServiceState State, IReadOnlyList<FileChange> Files)> ActivateAsync(InstallerEnvironment env, StateStore states,
        ServiceState state, Manifest manifest, InstalledTag tag, ActivationSettings settings, bool dryRun, string action, CancellationToken ct)
    {
        var plan = await ActivationPlanner.PlanAsync(env, manifest, tag, settings, state, ct);
        var alreadyActive = state.Active == tag.Tag;
        var next = state with
        {
            Active = tag.Tag,
            // After a disable nothing is active: enabling the tag that ran before leaves no previous one to roll back to.
            Previous = alreadyActive ? state.Previous : (state.Active ?? state.Previous) is { } before && before != tag.Tag ? before : null,
            Disabled = false,
            // The kept originals are not the activation's files: a switch never removes them, disable puts them back.
            Activation = new ActivationRecord { Tag = tag.Tag, Units = plan.Units, Files = plan.Files.Where(f => f.Kind is not (PlannedFileKind.Original or PlannedFileKind.Restore)).Select(f => f.HostPath).ToList() },
            History = [.. state.History, new StateEvent(env.Now, action, tag.Tag, state.Active)],
        };
        // The new state is the transaction's last step: saved before the journal goes, undone with the files after a kill.
        var outcome = await new ActivationTransaction(env).ActivateAsync(plan, settings, alreadyActive, dryRun, c => states.SaveAsync(next, c), ct);
        if (!outcome.Changed || dryRun) return (outcome.Changed, outcome.Actions, state, outcome.Files);
        return (true, outcome.Actions, next, outcome.Files);
    }
}
