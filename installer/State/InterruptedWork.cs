using OsVenvArtifacts.Installer.Host;

namespace OsVenvArtifacts.Installer.State;

/// <summary>
/// Installs and removals a kill cut short, settled under the service lock before a command does anything else (after
/// an interrupted activation is undone). An install that renamed its venv into place but did not record it is taken
/// out again, so "nothing was installed" holds; a removal that renamed its venv into staging is finished, since the tag
/// was on its way out. Then this service's staging directory and its killed temp files are swept.
/// </summary>
internal static class InterruptedWork
{
    /// <summary>The intent file an install writes before its rename: <c>&lt;tag&gt;.installing</c> in the service's data directory.</summary>
    public const string IntentSuffix = ".installing";
    private const string RemovingPrefix = "removing.";

    /// <summary>Where a removal renames a venv before deleting it: only this service's staging, which every run sweeps.</summary>
    public static string RemovingPath(InstallerEnvironment env, string service, string tag) =>
        Path.Combine(OwnStaging(env, service), $"{RemovingPrefix}{tag}.{Guid.NewGuid():N}");

    public static async Task RecoverAsync(InstallerEnvironment env, string service, CancellationToken ct)
    {
        var data = env.ServiceDataDirectory(service);
        var staging = OwnStaging(env, service);
        var intents = Directory.Exists(data) ? Directory.GetFiles(data, "*" + IntentSuffix) : [];
        var removals = Directory.Exists(staging) ? Directory.GetDirectories(staging, RemovingPrefix + "*") : [];
        if (intents.Length > 0 || removals.Length > 0)
        {
            var states = new StateStore(env);
            ServiceState state;
            try
            {
                state = await states.LoadAsync(service, ct);
            }
            catch (InstallerException)
            {
                // A damaged state is the command's own error to report (repair --state rebuilds it); nothing is settled without it.
                return;
            }
            foreach (var intent in intents)
            {
                var tag = Path.GetFileName(intent)[..^IntentSuffix.Length];
                if (state.Find(tag) is null)
                {
                    var venv = env.HostPath((await File.ReadAllTextAsync(intent, ct)).TrimEnd('\n'));
                    await Console.Error.WriteLineAsync($"osva-install: recovering an install of {service} {tag} interrupted before it was recorded: taking {venv} out again");
                    if (Directory.Exists(venv))
                    {
                        Directory.CreateDirectory(staging);
                        Directory.Move(venv, Path.Combine(staging, $"leftover.{tag}.{Guid.NewGuid():N}"));
                    }
                    states.DeleteTagFiles(service, tag);
                }
                File.Delete(intent);
            }
            foreach (var removing in removals)
            {
                // removing.<tag>.<32 hex digits>; any other name is not ours to settle and goes with the staging directory.
                var name = Path.GetFileName(removing);
                if (name.Length < RemovingPrefix.Length + 34) continue;
                var tag = name[RemovingPrefix.Length..^33];
                if (state.Find(tag) is { } listed && !Directory.Exists(env.HostPath(listed.InstallPath)))
                {
                    await Console.Error.WriteLineAsync($"osva-install: recovering a removal of {service} {tag} interrupted before it was recorded: finishing it");
                    state = state.Without(tag, new StateEvent(env.Now, "remove", tag, null));
                    await states.SaveAsync(state, ct);
                }
                if (state.Find(tag) is null) states.DeleteTagFiles(service, tag);
            }
        }
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        if (Directory.Exists(data))
        {
            foreach (var temp in Directory.EnumerateFiles(data, ".*.tmp")) File.Delete(temp);
        }
    }

    private static string OwnStaging(InstallerEnvironment env, string service) =>
        Path.Combine(env.HostPath(env.Config.VenvsRoot), ".staging", service);
}
