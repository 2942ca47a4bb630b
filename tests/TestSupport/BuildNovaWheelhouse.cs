using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace OsVenvArtifacts.TestSupport;

/// <summary>A wheelhouse of Debian's python3-nova closure, and how long making it took (zero when it came from the cache).</summary>
/// <see cref="RuntimePackages"/> are the Debian packages whose shared libraries the wheels' extension modules load.
public sealed record NovaWheelhouse(string Directory, string NovaVersion, IReadOnlyList<string> RuntimePackages, int WheelCount, bool Created,
    TimeSpan Elapsed);

/// <summary>
/// Real OpenStack code without PyPI: installs Debian's python3-nova in a <c>debian:12</c> container (network
/// host, the only way to Debian's registry; never a bridge) and runs the debian-wheelhouse tool there with the
/// container's own python3, which turns every installed distribution into a wheel.
/// The result is cached in <c>/var/cache/osva/wheelhouse/nova-&lt;key&gt;</c> (root from OSVA_CACHE), key =
/// sha256 of the tool script, the Debian packages asked for and the base image ID, so CI pays for apt and the
/// tool once per change of those inputs. The directory appears by rename of a complete temp directory: an
/// interrupted run leaves no half wheelhouse behind. Wheels carry Debian's code: never commit them.
/// </summary>
public static class BuildNovaWheelhouse
{
    public const string BaseImage = "debian:12";
    public const string ContainerPrefix = "osva-nova-";
    public const string DefaultTool = "/work/shared/tools/debian-wheelhouse.py";

    /// <summary>What apt installs; part of the cache key.</summary>
    public static readonly IReadOnlyList<string> DebianPackages = ["python3-nova"];

    /// <summary>Written into the wheelhouse: the nova version, and every Debian package version the wheels came from.</summary>
    public const string NovaVersionFile = "nova-version.txt";
    public const string DebianVersionsFile = "debian-packages.txt";
    public const string RuntimePackagesFile = "runtime-packages.txt";

    /// <summary>Bumped when what the cache directory holds changes, so an older layout is never taken for a current one.</summary>
    private const int Layout = 2;

    /// <summary>
    /// Run in the container: every shared library an extension module of Debian's Python packages loads, mapped to its
    /// Debian package (usrmerge: dpkg may know the file under /lib rather than /usr/lib).
    /// </summary>
    private const string RuntimeLibrariesScript = """
        import os, re, subprocess
        libs = set()
        for root, _, files in os.walk("/usr/lib/python3/dist-packages"):
            for f in files:
                if ".so" in f:
                    out = subprocess.run(["ldd", os.path.join(root, f)], capture_output=True, text=True).stdout
                    libs.update(re.findall(r"=> (/\S+)", out))
        packages = set()
        for lib in libs:
            for candidate in (lib, lib.replace("/usr/lib/", "/lib/", 1), os.path.realpath(lib)):
                r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
                if r.returncode == 0:
                    packages.add(r.stdout.split(":")[0])
                    break
        print("\n".join(sorted(packages)))
        """;

    public static string CacheRoot => Environment.GetEnvironmentVariable("OSVA_CACHE") is { Length: > 0 } c ? c : "/var/cache/osva";

    public static string Tool => Environment.GetEnvironmentVariable("OSVA_DEBIAN_WHEELHOUSE_TOOL") is { Length: > 0 } t ? t : DefaultTool;

    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>Returns the cached wheelhouse for the current inputs, making it first when it is absent.</summary>
    public static async Task<NovaWheelhouse> EnsureAsync(CancellationToken ct = default)
    {
        var tool = Tool;
        if (!File.Exists(tool))
        {
            throw new FileNotFoundException(
                $"the debian-wheelhouse tool is missing at {tool}; set OSVA_DEBIAN_WHEELHOUSE_TOOL to debian-wheelhouse.py (from ../shared/tools)", tool);
        }
        await Gate.WaitAsync(ct);
        try
        {
            var root = Path.Combine(CacheRoot, "wheelhouse");
            var target = Path.Combine(root, $"nova-{await KeyAsync(tool, ct)}");
            if (Directory.Exists(target)) return Describe(target, created: false, TimeSpan.Zero);

            Directory.CreateDirectory(root);
            RemoveAbandonedTempDirectories(root);
            var clock = Stopwatch.StartNew();
            var temp = Path.Combine(root, $".nova-tmp-{Guid.NewGuid():N}");
            try
            {
                await CreateAsync(tool, temp, ct);
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
            return Describe(target, created: true, clock.Elapsed);
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

    private static async Task<string> KeyAsync(string tool, CancellationToken ct)
    {
        var image = await DockerAsync(["image", "inspect", "--format", "{{.Id}}", BaseImage], TimeSpan.FromMinutes(1));
        var text = new StringBuilder()
            .Append("tool ").Append(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(tool, ct)))).Append('\n')
            .Append("image ").Append(image.Trim()).Append('\n')
            .Append("layout ").Append(Layout).Append('\n');
        foreach (var p in DebianPackages) text.Append("package ").Append(p).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }

    private static async Task CreateAsync(string tool, string destination, CancellationToken ct)
    {
        var name = $"{ContainerPrefix}wheelhouse-{Guid.NewGuid():N}";
        await DockerAsync(["create", "--name", name, "--network", "host", BaseImage, "sleep", "infinity"], TimeSpan.FromMinutes(1));
        try
        {
            await DockerAsync(["start", name], TimeSpan.FromMinutes(1));
            ct.ThrowIfCancellationRequested();
            await DockerAsync(["exec", "-e", "DEBIAN_FRONTEND=noninteractive", name, "sh", "-c",
                "apt-get -o Acquire::Check-Valid-Until=false update && apt-get install -y --no-install-recommends " + string.Join(' ', DebianPackages)],
                TimeSpan.FromMinutes(30));
            ct.ThrowIfCancellationRequested();
            await DockerAsync(["cp", tool, $"{name}:/osva-debian-wheelhouse.py"], TimeSpan.FromMinutes(1));
            await DockerAsync(["exec", name, "/usr/bin/python3", "/osva-debian-wheelhouse.py", "/wheels"], TimeSpan.FromMinutes(20));
            var versions = await DockerAsync(["exec", name, "dpkg-query", "-W", "-f=${Package} ${Version}\n"], TimeSpan.FromMinutes(1));
            var runtime = await DockerAsync(["exec", name, "/usr/bin/python3", "-c", RuntimeLibrariesScript], TimeSpan.FromMinutes(5));
            ct.ThrowIfCancellationRequested();
            // docker cp makes destination (absent until now) a copy of /wheels, on the cache's own file system so the rename is atomic.
            await DockerAsync(["cp", $"{name}:/wheels", destination], TimeSpan.FromMinutes(10));
            await File.WriteAllTextAsync(Path.Combine(destination, DebianVersionsFile), versions, ct);
            await File.WriteAllTextAsync(Path.Combine(destination, RuntimePackagesFile), runtime, ct);
            await File.WriteAllTextAsync(Path.Combine(destination, NovaVersionFile), VersionOf(NovaWheel(destination)) + "\n", ct);
        }
        finally
        {
            await ProcessRunner.RunAsync("docker", ["rm", "-f", name], timeout: TimeSpan.FromMinutes(1));
        }
    }

    private static NovaWheelhouse Describe(string directory, bool created, TimeSpan elapsed) =>
        new(directory, File.ReadAllText(Path.Combine(directory, NovaVersionFile)).Trim(),
            File.ReadAllLines(Path.Combine(directory, RuntimePackagesFile)).Where(l => l.Length > 0).ToList(),
            Directory.GetFiles(directory, "*.whl").Length, created, elapsed);

    private static string NovaWheel(string directory) =>
        Directory.GetFiles(directory, "nova-*.whl").SingleOrDefault()
        ?? throw new InvalidOperationException($"the debian-wheelhouse tool made no nova wheel in {directory}");

    /// <summary>nova-26.2.2-py3-none-any.whl → 26.2.2 (wheel names are name-version-tags, with '-' escaped in each part).</summary>
    private static string VersionOf(string wheel) => Path.GetFileName(wheel).Split('-')[1];

    /// <summary>Temp directories of runs killed before their rename; an hour is far beyond any live run's age.</summary>
    private static void RemoveAbandonedTempDirectories(string root)
    {
        foreach (var dir in Directory.GetDirectories(root, ".nova-tmp-*"))
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
            throw new InvalidOperationException($"docker {string.Join(' ', list.Take(3))} failed while making the nova wheelhouse (exit {r.ExitCode}):\n{tail}");
        }
        return r.Stdout;
    }
}
