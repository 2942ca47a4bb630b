using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace OsVenvArtifacts.TestSupport;

/// <summary>A wheelhouse of Debian's python3-nova closure, and how long making it took (zero when it came from the cache).</summary>
/// <see cref="RuntimePackages"/> are the Debian packages whose shared libraries the wheels' extension modules load.
public sealed record NovaWheelhouse(string Directory, string NovaVersion, IReadOnlyList<string> RuntimePackages, int WheelCount, bool Created,
    TimeSpan Elapsed);

/// <summary>
/// Real OpenStack code without PyPI: <c>osva-build wheels --from-debian python3-nova</c> installs Debian's
/// python3-nova in the debian-12 platform image (network host, the only way to Debian's registry; never a bridge)
/// and turns the Python distributions of its dependency closure into wheels.
/// Wheelhouses are cached in <c>/var/cache/osva/wheelhouse/&lt;name&gt;-&lt;key&gt;</c> (root from OSVA_CACHE), key =
/// sha256 of the wheel script, the platform's Dockerfile and the Debian packages asked for, so CI pays for apt once per
/// change of those inputs. The directory appears by rename of a complete temp directory: an interrupted run leaves no
/// half wheelhouse behind. Wheels carry Debian's code: never commit them.
/// </summary>
public static class BuildNovaWheelhouse
{
    public const string Platform = "debian-12";
    public const string ContainerPrefix = "osva-nova-";

    /// <summary>What apt installs; part of the cache key.</summary>
    public static readonly IReadOnlyList<string> DebianPackages = ["python3-nova"];

    /// <summary>Written into the wheelhouse: the nova version, and every Debian package version the wheels came from.</summary>
    public const string NovaVersionFile = "nova-version.txt";
    public const string DebianVersionsFile = "debian-packages.txt";
    public const string RuntimePackagesFile = "runtime-packages.txt";

    /// <summary>Bumped when what the cache directory holds changes, so an older layout is never taken for a current one.</summary>
    private const int Layout = 3;

    public static string CacheRoot => Environment.GetEnvironmentVariable("OSVA_CACHE") is { Length: > 0 } c ? c : "/var/cache/osva";

    /// <summary>The script osva-build embeds and runs in the container; its content is part of the cache key.</summary>
    private static string Script => Path.Combine(TestEnvironment.RepoRoot, "builder", "Build", "debian-wheels.py");

    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>Returns the cached nova wheelhouse for the current inputs, making it first when it is absent.</summary>
    public static async Task<NovaWheelhouse> EnsureAsync(CancellationToken ct = default)
    {
        var (directory, created, elapsed) = await EnsureFromDebianAsync("nova", DebianPackages, ct);
        return new NovaWheelhouse(directory, File.ReadAllText(Path.Combine(directory, NovaVersionFile)).Trim(),
            File.ReadAllLines(Path.Combine(directory, RuntimePackagesFile)).Where(l => l.Length > 0).ToList(),
            Directory.GetFiles(directory, "*.whl").Length, created, elapsed);
    }

    /// <summary>
    /// The cached wheelhouse <c>osva-build wheels --from-debian</c> makes of <paramref name="packages"/>, with
    /// <see cref="DebianVersionsFile"/> and <see cref="RuntimePackagesFile"/> beside the wheels.
    /// </summary>
    public static async Task<(string Directory, bool Created, TimeSpan Elapsed)> EnsureFromDebianAsync(
        string name, IReadOnlyList<string> packages, CancellationToken ct = default)
    {
        await Gate.WaitAsync(ct);
        try
        {
            var root = Path.Combine(CacheRoot, "wheelhouse");
            var target = Path.Combine(root, $"{name}-{await KeyAsync(packages, ct)}");
            if (Directory.Exists(target)) return (target, false, TimeSpan.Zero);

            Directory.CreateDirectory(root);
            RemoveAbandonedTempDirectories(root);
            var clock = Stopwatch.StartNew();
            var temp = Path.Combine(root, $".{name}-tmp-{Guid.NewGuid():N}");
            try
            {
                await CreateAsync(packages, temp, ct);
                if (name == "nova") await File.WriteAllTextAsync(Path.Combine(temp, NovaVersionFile), VersionOf(NovaWheel(temp)) + "\n", ct);
                try
                {
                    Directory.Move(temp, target);
                }
                catch (IOException) when (Directory.Exists(target))
                {
                    // Another run finished the same inputs first; its wheelhouse is as good as ours.
                }
            }
            finally
            {
                if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            }
            return (target, true, clock.Elapsed);
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>
    /// An image from <paramref name="baseImageId"/> (the platform image an artifact was built on) with the runtime
    /// packages a host must have installed: the host the artifact is checked on. Built once (network host, for
    /// Debian's registry) and kept under a name that is a hash of its inputs.
    /// </summary>
    public static async Task<string> EnsureRuntimeImageAsync(string baseImageId, IReadOnlyList<string> packages, CancellationToken ct = default)
    {
        var inputs = baseImageId + " " + string.Join(' ', packages.Order(StringComparer.Ordinal));
        var name = $"{ContainerPrefix}runtime:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(inputs)))[..16]}";
        if ((await ProcessRunner.RunAsync("docker", ["image", "inspect", name], timeout: TimeSpan.FromMinutes(1))).ExitCode == 0) return name;
        var context = Path.Combine(Path.GetTempPath(), $"osva-nova-runtime-{Guid.NewGuid():N}");
        Directory.CreateDirectory(context);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), $"""
                FROM {baseImageId}
                RUN apt-get -o Acquire::Check-Valid-Until=false update \
                 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {string.Join(' ', packages)} \
                 && rm -rf /var/lib/apt/lists/*
                """, ct);
            await DockerAsync(["build", "--network", "host", "-t", name, context], TimeSpan.FromMinutes(20));
            return name;
        }
        finally
        {
            Directory.Delete(context, recursive: true);
        }
    }

    private static async Task<string> KeyAsync(IReadOnlyList<string> packages, CancellationToken ct)
    {
        var dockerfile = Path.Combine(TestEnvironment.RepoRoot, "images", Platform, "Dockerfile");
        var text = new StringBuilder()
            .Append("script ").Append(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Script, ct)))).Append('\n')
            .Append("platform ").Append(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(dockerfile, ct)))).Append('\n')
            .Append("layout ").Append(Layout).Append('\n');
        foreach (var p in packages) text.Append("package ").Append(p).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }

    private static async Task CreateAsync(IReadOnlyList<string> packages, string destination, CancellationToken ct)
    {
        var r = await BuildTool.RunAsync(["wheels", "--from-debian", .. packages, "--platform", Platform, "--out", destination, "--json"],
            timeout: TimeSpan.FromMinutes(40));
        ct.ThrowIfCancellationRequested();
        if (r.ExitCode != 0) throw new InvalidOperationException($"osva-build wheels --from-debian {string.Join(' ', packages)} failed:\n{r}");
        using var json = JsonDocument.Parse(r.Stdout);
        var versions = json.RootElement.GetProperty("wheels").EnumerateArray()
            .Select(w => $"{w.GetProperty("debianPackage").GetString()} {w.GetProperty("debianVersion").GetString()}\n");
        await File.WriteAllTextAsync(Path.Combine(destination, DebianVersionsFile), string.Concat(versions.Distinct().Order(StringComparer.Ordinal)), ct);
        var runtime = json.RootElement.GetProperty("runtimePackages").EnumerateArray().Select(p => p.GetString() + "\n");
        await File.WriteAllTextAsync(Path.Combine(destination, RuntimePackagesFile), string.Concat(runtime), ct);
    }

    private static string NovaWheel(string directory) =>
        Directory.GetFiles(directory, "nova-*.whl").SingleOrDefault()
        ?? throw new InvalidOperationException($"osva-build wheels --from-debian made no nova wheel in {directory}");

    /// <summary>nova-26.2.2-py3-none-any.whl → 26.2.2 (wheel names are name-version-tags, with '-' escaped in each part).</summary>
    private static string VersionOf(string wheel) => Path.GetFileName(wheel).Split('-')[1];

    /// <summary>Temp directories of runs killed before their rename; an hour is far beyond any live run's age.</summary>
    private static void RemoveAbandonedTempDirectories(string root)
    {
        foreach (var dir in Directory.GetDirectories(root, ".*-tmp-*"))
        {
            if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(dir) > TimeSpan.FromHours(1)) Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<string> DockerAsync(IEnumerable<string> args, TimeSpan timeout)
    {
        var list = args.ToList();
        var r = await ProcessRunner.RunAsync("docker", list, timeout: timeout);
        if (r.ExitCode != 0)
        {
            var tail = string.Join('\n', (r.Stderr + r.Stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(15));
            throw new InvalidOperationException($"docker {string.Join(' ', list.Take(3))} failed while making the runtime image (exit {r.ExitCode}):\n{tail}");
        }
        return r.Stdout;
    }
}
