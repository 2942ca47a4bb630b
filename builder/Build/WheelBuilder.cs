using System.Formats.Tar;
using Docker.DotNet.Models;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Builder.Docker;
using OsVenvArtifacts.Builder.Packing;

namespace OsVenvArtifacts.Builder.Build;

internal sealed record WheelsOptions(IReadOnlyList<string> Projects, string OutDirectory, string Platform, string? ImagesDirectory, bool Verbose);

/// <summary>
/// Builds wheels from local source trees inside the platform image with network none
/// (<c>pip wheel --no-index --no-build-isolation --no-deps</c>), so tests and demos need no PyPI.
/// </summary>
internal static class WheelBuilder
{
    public static async Task<int> RunAsync(WheelsOptions options, CancellationToken ct)
    {
        foreach (var project in options.Projects)
        {
            if (!File.Exists(Path.Combine(project, "setup.py")) && !File.Exists(Path.Combine(project, "pyproject.toml")))
            {
                throw new BuilderException("OSVA-B040", $"{project} is not a Python project (no setup.py or pyproject.toml)",
                    "give the folder that holds setup.py or pyproject.toml", ExitCode.InvalidInput);
            }
        }
        var log = new BuildLog(options.Verbose);
        using var engine = await DockerEngine.ConnectAsync(ct);
        var images = new PlatformImages(engine, PlatformImages.Locate(options.ImagesDirectory, options.Projects[0]));
        var image = await images.EnsureAsync(options.Platform, line => log.Detail(options.Platform, line), ct);
        Directory.CreateDirectory(options.OutDirectory);

        var id = await engine.CreateContainerAsync(new CreateContainerParameters
        {
            Name = $"{DockerEngine.NamePrefix}wheels-{Guid.NewGuid().ToString("N")[..12]}",
            Image = image.Id,
            Cmd = ["sh", "-c", "set -e; mkdir -p /osva/out; for d in /osva/src/*/; do python3 -m pip wheel --no-index --no-build-isolation --no-deps --disable-pip-version-check -w /osva/out \"$d\"; done"],
            Env = ["SOURCE_DATE_EPOCH=315532800", "PYTHONHASHSEED=0", "PYTHONDONTWRITEBYTECODE=1"],
            HostConfig = new HostConfig { NetworkMode = "none" },
        }, ct);
        try
        {
            await using (var input = new InputArchive())
            {
                for (var i = 0; i < options.Projects.Count; i++)
                {
                    await input.AddTreeAsync($"osva/src/{i:D3}-{Path.GetFileName(Path.GetFullPath(options.Projects[i]).TrimEnd('/'))}", options.Projects[i], ct);
                }
                await engine.PutArchiveAsync(id, "/", await input.CompleteAsync(), ct);
            }
            log.Step("wheels", $"building {options.Projects.Count} project(s)");
            var (exit, output) = await engine.RunToCompletionAsync(id, ct);
            log.Done("wheels");
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries)) log.Detail("wheels", line);
            if (exit != 0)
            {
                var cause = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.Contains("error", StringComparison.OrdinalIgnoreCase))
                    ?? output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? $"exit {exit}";
                throw new BuilderException("OSVA-B041", $"pip wheel failed: {cause.Trim()}", "rerun with --verbose to see pip's output");
            }
            await using var tar = await engine.GetArchiveAsync(id, "/osva/out", ct);
            await using var reader = new TarReader(tar);
            while (await reader.GetNextEntryAsync(copyData: false, ct) is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || !entry.Name.EndsWith(".whl", StringComparison.Ordinal)) continue;
                var fileName = Path.GetFileName(entry.Name);
                var target = Path.Combine(options.OutDirectory, fileName);
                string sha = "";
                await AtomicFile.WriteAsync(target, async (stream, c) =>
                {
                    await using var hashing = new HashingStream(stream, leaveOpen: true);
                    await entry.DataStream!.CopyToAsync(hashing, c);
                    sha = hashing.Finish();
                }, ct, Modes.File);
                await Console.Out.WriteLineAsync($"{Path.GetFullPath(target)} {sha} {entry.Length} built");
            }
            return 0;
        }
        finally
        {
            await engine.RemoveContainerAsync(id);
        }
    }
}
