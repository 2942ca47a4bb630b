using System.CommandLine;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Builder.Build;

namespace OsVenvArtifacts.Builder.Cli;

/// <summary><c>osva-build rebuild MANIFEST --wheelhouse DIR --out DIR</c>: the recorded set, installed with --require-hashes.</summary>
internal static class RebuildCommand
{
    private static readonly Argument<string> Manifest = new("MANIFEST") { Description = "The .manifest.json of the artifact to rebuild" };
    private static readonly Option<string> Wheelhouse = new("--wheelhouse") { Description = "Folder holding the wheels the manifest lists", Required = true };
    private static readonly Option<string> Out = new("--out", "-o") { Description = "Output directory", Required = true };

    public static Command Create()
    {
        var command = new Command("rebuild", "Rebuild exactly the package set a manifest records (pip --require-hashes)")
        {
            Manifest, Wheelhouse, Out, CommonOptions.SigningKey, CommonOptions.Images, CommonOptions.Json, CommonOptions.Verbose,
        };
        command.SetAction((ParseResult r, CancellationToken ct) =>
        {
            var verbose = r.GetValue(CommonOptions.Verbose);
            return CommandGuard.RunAsync(CommonOptions.Program, verbose, r.GetValue(CommonOptions.Json), c => LockedRebuild.RunAsync(new RebuildOptions(
                r.GetValue(Manifest)!, r.GetValue(Wheelhouse)!, r.GetValue(Out)!, r.GetValue(CommonOptions.Images), r.GetValue(CommonOptions.SigningKey),
                r.GetValue(CommonOptions.Json), verbose), c), ct);
        });
        return command;
    }
}
