using System.CommandLine;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Builder.Build;

namespace OsVenvArtifacts.Builder.Cli;

/// <summary><c>osva-build wheels PROJECT_DIR... --out WHEELHOUSE</c>: wheels from local sources, network none.</summary>
internal static class WheelsCommand
{
    private static readonly Argument<string[]> Projects = new("PROJECT_DIR") { Description = "Python source trees (setup.py or pyproject.toml)", Arity = ArgumentArity.OneOrMore };
    private static readonly Option<string> Out = new("--out", "-o") { Description = "Wheelhouse directory", Required = true };
    private static readonly Option<string> Platform = new("--platform") { Description = "Platform image to build in", DefaultValueFactory = _ => "debian-12" };

    public static Command Create()
    {
        var command = new Command("wheels", "Build wheels from local Python projects inside the platform image (no network)")
        {
            Projects, Out, Platform, CommonOptions.Images, CommonOptions.Verbose,
        };
        command.SetAction((ParseResult r, CancellationToken ct) =>
        {
            var verbose = r.GetValue(CommonOptions.Verbose);
            return CommandGuard.RunAsync(CommonOptions.Program, verbose, json: false, c => WheelBuilder.RunAsync(
                new WheelsOptions(r.GetValue(Projects)!, r.GetValue(Out)!, r.GetValue(Platform)!, r.GetValue(CommonOptions.Images), verbose), c), ct);
        });
        return command;
    }
}
