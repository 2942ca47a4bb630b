using System.CommandLine;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Builder.Build;
using OsVenvArtifacts.Builder.Docker;

namespace OsVenvArtifacts.Builder.Cli;

/// <summary><c>osva-build image PLATFORM</c>: builds or reuses images/&lt;PLATFORM&gt;/Dockerfile and prints the image ID.</summary>
internal static class ImageCommand
{
    private static readonly Argument<string> Platform = new("PLATFORM") { Description = "A folder under images/, such as debian-12" };

    public static Command Create()
    {
        var command = new Command("image", "Build or reuse a platform image; prints its ID")
        {
            Platform, CommonOptions.Images, CommonOptions.Json, CommonOptions.Verbose,
        };
        command.SetAction((ParseResult r, CancellationToken ct) =>
        {
            var verbose = r.GetValue(CommonOptions.Verbose);
            return CommandGuard.RunAsync(CommonOptions.Program, verbose, r.GetValue(CommonOptions.Json), async c =>
            {
                var platform = r.GetValue(Platform)!;
                var log = new BuildLog(verbose);
                using var engine = await DockerEngine.ConnectAsync(c);
                var images = new PlatformImages(engine, PlatformImages.Locate(r.GetValue(CommonOptions.Images)));
                var image = await images.EnsureAsync(platform, line => log.Detail(platform, line), c);
                await Console.Out.WriteLineAsync(r.GetValue(CommonOptions.Json)
                    ? $"{{\"platform\": \"{image.Platform}\", \"name\": \"{image.Name}\", \"id\": \"{image.Id}\", \"reused\": {(image.Reused ? "true" : "false")}}}"
                    : $"{image.Id} {image.Name} {(image.Reused ? "reused" : "built")}");
                return (int)ExitCode.Ok;
            }, ct);
        });
        return command;
    }
}
