using System.Formats.Tar;
using System.Text.Json;
using System.Text.RegularExpressions;
using Docker.DotNet.Models;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Builder.Docker;
using OsVenvArtifacts.Builder.Packing;

namespace OsVenvArtifacts.Builder.Build;

/// <summary>Either local projects or Debian packages (<see cref="DebianPackages"/>) to make wheels of; never both.</summary>
internal sealed record WheelsOptions(
    IReadOnlyList<string> Projects,
    IReadOnlyList<string> DebianPackages,
    string OutDirectory,
    string Platform,
    string? ImagesDirectory,
    bool Json,
    bool Quiet,
    bool Verbose);

/// <summary>One wheel written to the wheelhouse; the Debian package and version it came from in --from-debian mode.</summary>
internal sealed record BuiltWheel(string Path, string Sha256, long Size, string? DebianPackage, string? DebianVersion);

/// <summary>
/// What a run made. <see cref="RuntimePackages"/> (--from-debian only) are the Debian packages whose shared libraries
/// the wheels' extension modules load: what a release lists as runtimePackages.
/// </summary>
internal sealed record WheelsResult(IReadOnlyList<BuiltWheel> Wheels, IReadOnlyList<string> RuntimePackages);

/// <summary>
/// Makes a wheelhouse inside the platform image, in one of two ways:
/// from local source trees with network none (<c>pip wheel --no-index --no-build-isolation --no-deps</c>), so tests
/// and demos need no PyPI; or from Debian packages (<c>--from-debian</c>): apt installs them with network host (the
/// only way to Debian's registry; never a bridge) and debian-wheels.py turns the Python distributions of their
/// Depends closure into byte-reproducible wheels, so real OpenStack code is buildable without PyPI.
/// </summary>
internal static partial class WheelBuilder
{
    private const string OutInContainer = "/osva/out";
    private const string ReportFile = "report.json";

    /// <summary>Debian policy's package names; anything else must not reach the shell line apt runs in.</summary>
    [GeneratedRegex("^[a-z0-9][a-z0-9+.-]+$")]
    private static partial Regex DebianPackageName();

    public static async Task<int> RunAsync(WheelsOptions options, CancellationToken ct)
    {
        var fromDebian = options.DebianPackages.Count > 0;
        if (fromDebian == options.Projects.Count > 0)
        {
            throw new BuilderException("OSVA-B120", fromDebian ? "both project folders and --from-debian packages were given" : "nothing to build wheels from",
                "give PROJECT_DIR... or --from-debian PKG..., not both", ExitCode.Usage);
        }
        if (fromDebian) CheckDebianNames(options.DebianPackages);
        else CheckProjects(options.Projects);

        var log = new BuildLog(options.Verbose);
        using var engine = await DockerEngine.ConnectAsync(ct);
        var images = new PlatformImages(engine, PlatformImages.Locate(options.ImagesDirectory, fromDebian ? options.OutDirectory : options.Projects[0]));
        var image = await images.EnsureAsync(options.Platform, line => log.Detail(options.Platform, line), ct);
        Directory.CreateDirectory(options.OutDirectory);

        var id = await engine.CreateContainerAsync(new CreateContainerParameters
        {
            Name = $"{DockerEngine.NamePrefix}wheels-{Guid.NewGuid().ToString("N")[..12]}",
            Image = image.Id,
            Cmd = ["sh", "-c", fromDebian ? DebianCommand(options.DebianPackages) : ProjectsCommand],
            Env = ["SOURCE_DATE_EPOCH=315532800", "PYTHONHASHSEED=0", "PYTHONDONTWRITEBYTECODE=1", "DEBIAN_FRONTEND=noninteractive"],
            // Only apt needs the network; project wheels are built hermetically.
            HostConfig = new HostConfig { NetworkMode = fromDebian ? "host" : "none" },
        }, ct);
        try
        {
            await using (var input = new InputArchive())
            {
                if (fromDebian)
                {
                    await input.AddTextAsync("osva/debian-wheels.py", Script, ct);
                }
                else
                {
                    for (var i = 0; i < options.Projects.Count; i++)
                    {
                        await input.AddTreeAsync($"osva/src/{i:D3}-{Path.GetFileName(Path.GetFullPath(options.Projects[i]).TrimEnd('/'))}", options.Projects[i], ct);
                    }
                }
                await engine.PutArchiveAsync(id, "/", await input.CompleteAsync(), ct);
            }
            if (!options.Quiet)
            {
                log.Step("wheels", fromDebian
                    ? $"installing {string.Join(' ', options.DebianPackages)} and making wheels"
                    : $"building {options.Projects.Count} project(s)");
            }
            var (exit, output) = await engine.RunToCompletionAsync(id, ct);
            log.Done("wheels");
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            foreach (var line in lines) log.Detail("wheels", line);
            if (exit != 0) throw Failure(fromDebian, exit, lines);

            var (wheels, report) = await CopyOutAsync(engine, id, options.OutDirectory, ct);
            var result = fromDebian ? FromReport(wheels, report, options.DebianPackages) : new WheelsResult(wheels, []);
            Print(result, fromDebian, options);
            return 0;
        }
        finally
        {
            await engine.RemoveContainerAsync(id);
        }
    }

    private const string ProjectsCommand =
        "set -e; mkdir -p /osva/out; for d in /osva/src/*/; do python3 -m pip wheel --no-index --no-build-isolation --no-deps --disable-pip-version-check -w /osva/out \"$d\"; done";

    /// <summary>Exit 91/92 tell apt's failures from the script's, so each gets its own code.</summary>
    private static string DebianCommand(IReadOnlyList<string> packages)
    {
        var names = string.Join(' ', packages);
        return "apt-get -o Acquire::Check-Valid-Until=false update || exit 91; "
            + $"apt-get install -y --no-install-recommends {names} || exit 92; "
            + $"exec python3 /osva/debian-wheels.py {OutInContainer} {names}";
    }

    private static void CheckProjects(IReadOnlyList<string> projects)
    {
        foreach (var project in projects)
        {
            if (!File.Exists(Path.Combine(project, "setup.py")) && !File.Exists(Path.Combine(project, "pyproject.toml")))
            {
                throw new BuilderException("OSVA-B040", $"{project} is not a Python project (no setup.py or pyproject.toml)",
                    "give the folder that holds setup.py or pyproject.toml", ExitCode.InvalidInput);
            }
        }
    }

    private static void CheckDebianNames(IReadOnlyList<string> packages)
    {
        foreach (var package in packages)
        {
            if (!DebianPackageName().IsMatch(package))
            {
                throw new BuilderException("OSVA-B121", $"'{package}' is not a Debian package name",
                    "give binary package names such as python3-nova (lower case letters, digits, '+', '-', '.')", ExitCode.InvalidInput);
            }
        }
    }

    private static BuilderException Failure(bool fromDebian, long exit, string[] lines)
    {
        string Last(Func<string, bool> match) => (lines.LastOrDefault(match) ?? lines.LastOrDefault() ?? $"exit {exit}").Trim();
        if (!fromDebian)
        {
            return new BuilderException("OSVA-B041", $"pip wheel failed: {Last(l => l.Contains("error", StringComparison.OrdinalIgnoreCase))}",
                "rerun with --verbose to see pip's output");
        }
        return exit switch
        {
            91 => new BuilderException("OSVA-B122", $"apt-get update found no Debian registry: {Last(l => l.StartsWith("E:", StringComparison.Ordinal) || l.StartsWith("W:", StringComparison.Ordinal))}",
                "the container uses the host's network; check that this machine reaches the platform image's apt sources"),
            92 => new BuilderException("OSVA-B123", $"apt-get install failed: {Last(l => l.StartsWith("E:", StringComparison.Ordinal))}",
                "check the package names for this platform (apt-cache search in the platform image), or rerun with --verbose", ExitCode.InvalidInput),
            _ => new BuilderException("OSVA-B124", $"making wheels from the installed packages failed: {Last(l => l.Contains("Error", StringComparison.Ordinal))}",
                "rerun with --verbose to see the script's output"),
        };
    }

    /// <summary>Streams the .whl files to the wheelhouse (atomic, hashed on the way) and keeps the small report in memory.</summary>
    private static async Task<(List<BuiltWheel> Wheels, JsonDocument? Report)> CopyOutAsync(DockerEngine engine, string id, string outDirectory, CancellationToken ct)
    {
        var wheels = new List<BuiltWheel>();
        JsonDocument? report = null;
        await using var tar = await engine.GetArchiveAsync(id, OutInContainer, ct);
        await using var reader = new TarReader(tar);
        while (await reader.GetNextEntryAsync(copyData: false, ct) is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
            var fileName = Path.GetFileName(entry.Name);
            if (fileName == ReportFile)
            {
                report = await JsonDocument.ParseAsync(entry.DataStream!, cancellationToken: ct);
                continue;
            }
            if (!fileName.EndsWith(".whl", StringComparison.Ordinal)) continue;
            var target = Path.GetFullPath(Path.Combine(outDirectory, fileName));
            string sha = "";
            await AtomicFile.WriteAsync(target, async (stream, c) =>
            {
                await using var hashing = new HashingStream(stream, leaveOpen: true);
                await entry.DataStream!.CopyToAsync(hashing, c);
                sha = hashing.Finish();
            }, ct, Modes.File);
            wheels.Add(new BuiltWheel(target, sha, entry.Length, null, null));
        }
        wheels.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return (wheels, report);
    }

    private static WheelsResult FromReport(List<BuiltWheel> wheels, JsonDocument? report, IReadOnlyList<string> asked)
    {
        using var _ = report;
        var root = report?.RootElement ?? throw new BuilderException("OSVA-B124", "the wheel script wrote no report", "rerun with --verbose to see its output");
        var missing = root.GetProperty("withoutWheel").EnumerateArray().Select(e => e.GetString()!).ToList();
        if (missing.Count > 0)
        {
            throw new BuilderException("OSVA-B125", $"{string.Join(", ", missing)} installed no Python distribution, so no wheel came from it",
                $"name the python3-* packages that hold the code (asked for: {string.Join(' ', asked)})", ExitCode.InvalidInput);
        }
        var sources = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        foreach (var e in root.GetProperty("wheels").EnumerateArray())
        {
            sources[e.GetProperty("file").GetString()!] = (e.GetProperty("package").GetString()!, e.GetProperty("version").GetString()!);
        }
        var described = wheels.Select(w => sources.TryGetValue(Path.GetFileName(w.Path), out var s) ? w with { DebianPackage = s.Item1, DebianVersion = s.Item2 } : w).ToList();
        return new WheelsResult(described, root.GetProperty("runtimePackages").EnumerateArray().Select(e => e.GetString()!).ToList());
    }

    private static void Print(WheelsResult result, bool fromDebian, WheelsOptions options)
    {
        if (options.Json)
        {
            using var stdout = Console.OpenStandardOutput();
            using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            w.WriteStartArray("wheels");
            foreach (var wheel in result.Wheels)
            {
                w.WriteStartObject();
                w.WriteString("path", wheel.Path);
                w.WriteString("sha256", wheel.Sha256);
                w.WriteNumber("size", wheel.Size);
                if (wheel.DebianPackage is not null)
                {
                    w.WriteString("debianPackage", wheel.DebianPackage);
                    w.WriteString("debianVersion", wheel.DebianVersion);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (fromDebian)
            {
                w.WriteStartArray("runtimePackages");
                foreach (var p in result.RuntimePackages) w.WriteStringValue(p);
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.Flush();
            stdout.WriteByte((byte)'\n');
            return;
        }
        if (options.Quiet) return;
        foreach (var wheel in result.Wheels)
        {
            Console.Out.WriteLine(wheel.DebianPackage is null
                ? $"{wheel.Path} {wheel.Sha256} {wheel.Size} built"
                : $"{wheel.Path} {wheel.Sha256} {wheel.Size} from {wheel.DebianPackage} {wheel.DebianVersion}");
        }
        if (!fromDebian) return;
        var packages = result.Wheels.Select(w => w.DebianPackage).OfType<string>().Distinct().Order(StringComparer.Ordinal).ToList();
        Console.Out.WriteLine($"{result.Wheels.Count} wheels in {Path.GetFullPath(options.OutDirectory)} from {packages.Count} Debian packages "
            + $"(the closure of {string.Join(' ', options.DebianPackages)}): {string.Join(' ', packages)}");
        Console.Out.WriteLine($"runtime packages their extension modules load: {(result.RuntimePackages.Count == 0 ? "none" : string.Join(' ', result.RuntimePackages))}");
    }

    private static readonly string Script = EmbeddedScript.Read("debian-wheels.py");
}
