using System.CommandLine;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Builder.Build;

namespace OsVenvArtifacts.Builder.Cli;

/// <summary><c>osva-build build RELEASE.yaml --out DIR</c>: every service of a release, cached by build key.</summary>
internal static class BuildCommand
{
    private static readonly Argument<string> Release = new("RELEASE") { Description = "Release file (YAML)" };
    private static readonly Option<string> Out = new("--out", "-o") { Description = "Output directory for the artifacts", Required = true };
    private static readonly Option<int> Jobs = new("--jobs", "-j") { Description = "Artifacts built at once on each engine (default: number of cores)", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<string[]> Only = new("--only") { Description = "Build only this service (repeatable)" };
    private static readonly Option<string?> Store = new("--store") { Description = "Store whose artifacts count as cached (directory, s3://bucket/prefix or http(s)://)" };

    public static Command Create()
    {
        var command = new Command("build", "Build every service of a release file into reproducible artifacts")
        {
            Release, Out, Jobs, Only, Store, CommonOptions.Engine, CommonOptions.SigningKey, CommonOptions.Images, CommonOptions.S3Endpoint, CommonOptions.S3Region, CommonOptions.S3PathStyle,
            CommonOptions.Json, CommonOptions.Verbose,
        };
        command.SetAction((ParseResult r, CancellationToken ct) =>
        {
            var verbose = r.GetValue(CommonOptions.Verbose);
            return CommandGuard.RunAsync(CommonOptions.Program, verbose, r.GetValue(CommonOptions.Json), c =>
            {
                if (r.GetValue(Jobs) < 1) throw new BuilderException("OSVA-B013", "--jobs must be at least 1", "pass --jobs N with N >= 1", ExitCode.Usage);
                var options = new BuildOptions(
                    r.GetValue(Release)!,
                    r.GetValue(Out)!,
                    r.GetValue(Jobs),
                    r.GetValue(Only) ?? [],
                    r.GetValue(Store),
                    S3Settings.FromEnvironment(r.GetValue(CommonOptions.S3Endpoint), r.GetValue(CommonOptions.S3Region), r.GetValue(CommonOptions.S3PathStyle)),
                    r.GetValue(CommonOptions.Images),
                    r.GetValue(CommonOptions.SigningKey),
                    r.GetValue(CommonOptions.Json),
                    verbose,
                    r.GetValue(CommonOptions.Engine) ?? []);
                return ReleaseBuilder.RunAsync(options, c);
            }, ct);
        });
        return command;
    }
}
