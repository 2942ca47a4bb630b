using System.CommandLine;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Builder.Build;

namespace OsVenvArtifacts.Builder.Cli;

/// <summary>
/// <c>osva-build wheels PROJECT_DIR... --out WHEELHOUSE</c>: wheels from local sources, network none; or
/// <c>osva-build wheels --from-debian PKG... --out WHEELHOUSE</c>: wheels from Debian's packaged Python code.
/// </summary>
internal static class WheelsCommand
{
    private static readonly Argument<string[]> Projects = new("PROJECT_DIR") { Description = "Python source trees (setup.py or pyproject.toml)", Arity = ArgumentArity.ZeroOrMore };
    private static readonly Option<string[]> FromDebian = new("--from-debian")
    {
        Description = "Debian packages to apt-install in the platform image (network host) and turn, with their dependencies, into wheels",
        AllowMultipleArgumentsPerToken = true,
    };
    private static readonly Option<string> Out = new("--out", "-o") { Description = "Wheelhouse directory", Required = true };
    private static readonly Option<string> Platform = new("--platform") { Description = "Platform image to build in", DefaultValueFactory = _ => "debian-12" };
    private static readonly Option<bool> Quiet = new("--quiet", "-q") { Description = "Print nothing but errors" };

    public static Command Create()
    {
        var command = new Command("wheels", "Build wheels from local Python projects (no network) or from Debian packages, inside the platform image")
        {
            Projects, FromDebian, Out, Platform, CommonOptions.Images, CommonOptions.Json, Quiet, CommonOptions.Verbose,
        };
        command.SetAction((ParseResult r, CancellationToken ct) =>
        {
            var verbose = r.GetValue(CommonOptions.Verbose);
            var json = r.GetValue(CommonOptions.Json);
            return CommandGuard.RunAsync(CommonOptions.Program, verbose, json, c => WheelBuilder.RunAsync(new WheelsOptions(
                r.GetValue(Projects) ?? [], r.GetValue(FromDebian) ?? [], r.GetValue(Out)!, r.GetValue(Platform)!, r.GetValue(CommonOptions.Images),
                json, r.GetValue(Quiet), verbose), c), ct);
        });
        return command;
    }
}
