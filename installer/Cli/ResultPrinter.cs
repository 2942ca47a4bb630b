using System.Text.Json;
using OsVenvArtifacts.Installer.Operations;
using OsVenvArtifacts.Installer.State;

namespace OsVenvArtifacts.Installer.Cli;

internal static class ResultPrinter
{
    public static async Task PrintAsync(CommandResult result, bool json, TextWriter output, CancellationToken ct)
    {
        if (json)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(result, InstallerJsonContext.Default.CommandResult).AsMemory(), ct);
            return;
        }
        var prefix = result.DryRun ? "would " : "";
        foreach (var action in result.Actions) await output.WriteLineAsync($"{prefix}{action}");
        foreach (var t in result.Tags ?? [])
        {
            var mark = t.Active ? "*" : t.Previous ? "-" : " ";
            await output.WriteLineAsync($"{mark} {t.Service} {t.Tag} {t.Platform} {t.InstallPath} {t.Size} bytes {t.Files} files {t.InstalledAt:yyyy-MM-dd HH:mm:ss}Z{(t.Relocated ? " relocated" : "")}");
        }
        foreach (var d in result.Drift ?? []) await output.WriteLineAsync(d);
        foreach (var s in result.Disabled ?? []) await output.WriteLineAsync($"{s}: disabled, runs from its distro packages (install or switch a tag to enable its venv again)");
        foreach (var f in result.Findings ?? []) await output.WriteLineAsync($"{f.Service} {f.Tag}: {f.Problem} (fix: {f.Fix})");
        var summary = result.Command switch
        {
            "verify" => result.Ok ? $"{result.Service} {result.Tag}: no drift" : $"{result.Service} {result.Tag}: {result.Drift?.Count} entries drifted",
            "doctor" => result.Ok ? "no problems found" : $"{result.Findings?.Count} problems found",
            "list" or "status" => result.Tags?.Count == 0 ? "no tags installed" : null,
            _ => $"{string.Join(' ', new[] { result.Command, result.Service, result.Tag }.Where(p => p is not null))}: {(result.Changed ? (result.DryRun ? "would change" : "changed") : "no change")}"
                + (result.Active is null ? "" : $"; active {result.Active}") + (result.Previous is null ? "" : $", previous {result.Previous}"),
        };
        if (summary is not null) await output.WriteLineAsync(summary);
    }
}
