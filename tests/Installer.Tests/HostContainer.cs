using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// A container acting as a whole Debian 12 host, systemd as PID 1 (image osva-it-host from HostImage/), with the
/// NativeAOT osva-install copied in. Shared per test class; the container is removed at the end.
/// OSVA_INSTALLER_BINARY names an already published binary; otherwise it is published here.
/// </summary>
public sealed class HostContainer : IAsyncLifetime
{
    /// <summary>Tagged by a hash of HostImage/, so a changed Dockerfile builds a new image instead of reusing a stale one.</summary>
    public static readonly string Image = "osva-it-host:" + ImageHash();

    /// <summary>One publish per test run, shared by every fixture.</summary>
    private static readonly Lazy<Task<string>> Published = new(PublishAsync);

    public string Name { get; } = $"osva-it-host-{Guid.NewGuid():N}"[..24];
    public TempDirectory Work { get; } = new("installer-host");
    public string Binary { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (!TestEnvironment.DockerAnswers() && !TestEnvironment.InCi) return;
        var publish = Published.Value;
        if ((await ProcessRunner.RunAsync("docker", ["image", "inspect", Image])).ExitCode != 0)
        {
            await Must("docker", "build", "--network", "host", "-t", Image, Path.Combine(TestEnvironment.RepoRoot, "tests", "Installer.Tests", "HostImage"));
        }
        Binary = await publish;
        await Must("docker", "run", "-d", "--name", Name, "--network", "none", "--cgroupns=host", "--cap-add", "SYS_ADMIN",
            "--security-opt", "seccomp=unconfined", "--tmpfs", "/run", "--tmpfs", "/run/lock",
            "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", Image, "/sbin/init");
        // Until systemd has its bus socket, systemctl fails at once instead of waiting.
        ProcessResult state;
        var deadline = DateTime.UtcNow.AddMinutes(2);
        do
        {
            await Task.Delay(500);
            state = await ProcessRunner.RunAsync("docker", ["exec", Name, "systemctl", "is-system-running", "--wait"], timeout: TimeSpan.FromMinutes(2));
        }
        while (state.Stdout.Trim() is not ("running" or "degraded") && DateTime.UtcNow < deadline);
        Assert.True(state.Stdout.Trim() is "running" or "degraded", $"systemd did not boot in {Name}: {state}");
        await Must("docker", "cp", Binary, $"{Name}:/usr/local/sbin/osva-install");
    }

    private static string ImageHash()
    {
        var folder = Path.Combine(TestEnvironment.RepoRoot, "tests", "Installer.Tests", "HostImage");
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetRelativePath(folder, file) + "\0"));
            sha.AppendData(File.ReadAllBytes(file));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..12];
    }

    private static async Task<string> PublishAsync()
    {
        if (Environment.GetEnvironmentVariable("OSVA_INSTALLER_BINARY") is { Length: > 0 } given) return given;
        // One fixed directory outside the repository: later runs publish incrementally, and only one copy is ever left behind.
        var work = Path.Combine(Path.GetTempPath(), "osva-it-installer-publish");
        await Must("dotnet", "publish", Path.Combine(TestEnvironment.RepoRoot, "installer"), "-c", "Release", "-r", "linux-x64", "--nologo",
            "-o", Path.Combine(work, "publish"), "--artifacts-path", Path.Combine(work, "artifacts"));
        return Path.Combine(work, "publish", "osva-install");
    }

    /// <summary>
    /// Makes this host one that runs nova from Debian's packages: the real files of Debian 12's nova-common and
    /// nova-api (the .debs ./setup/ensure-env.sh caches, unpacked with dpkg -x; also kept under /tmp/packaged), a nova
    /// user, and the packaged nova-api.service running. python3-nova is not on this host, so the packaged
    /// /usr/bin/nova-api is a stub that only keeps running.
    /// </summary>
    public async Task InstallDebianNovaAsync()
    {
        const string debs = "/var/cache/osva/debs";
        var files = Directory.Exists(debs) ? Directory.GetFiles(debs, "*.deb") : [];
        Assert.True(files.Any(d => Path.GetFileName(d).StartsWith("nova-common_", StringComparison.Ordinal)) && files.Any(d => Path.GetFileName(d).StartsWith("nova-api_", StringComparison.Ordinal)),
            $"Debian's nova-common and nova-api .debs are not in {debs}: run ./setup/ensure-env.sh");
        await CopyInAsync(debs, "/tmp/debs");
        await ShAsync("""
            set -e
            for d in /tmp/debs/*.deb; do dpkg -x "$d" /tmp/packaged; done
            # Not dpkg -x straight into /: it would replace merged /usr's /lib symlink with a directory.
            tar -C /tmp/packaged -cf - . | tar -C / -xf - --keep-directory-symlink
            useradd --system --home-dir /var/lib/nova --create-home --shell /bin/sh nova
            printf '#!/usr/bin/python3\nimport time\nwhile True:\n    time.sleep(3600)\n' > /usr/bin/nova-api
            systemctl daemon-reload && systemctl start nova-api
            """);
    }

    public Task<ProcessResult> ExecAsync(params string[] command) => ProcessRunner.RunAsync("docker", ["exec", Name, .. command], timeout: TimeSpan.FromMinutes(5));

    public Task<ProcessResult> ExecAsAsync(string user, params string[] command) => ProcessRunner.RunAsync("docker", ["exec", "-u", user, Name, .. command]);

    public async Task<string> ShAsync(string script)
    {
        var run = await ExecAsync("sh", "-c", script);
        Assert.True(run.ExitCode == 0, $"{script}: {run}");
        return run.Stdout;
    }

    public Task CopyInAsync(string source, string target) => Must("docker", "cp", source, $"{Name}:{target}");

    public Task CopyOutAsync(string source, string target) => Must("docker", "cp", $"{Name}:{source}", target);

    /// <summary>The command line of the unit's main process, as /proc shows it.</summary>
    public async Task<string> MainProcessAsync(string unit) =>
        (await ShAsync($"pid=$(systemctl show -p MainPID --value {unit}); [ \"$pid\" -gt 0 ] && tr '\\0' ' ' < /proc/$pid/cmdline")).Trim();

    public async Task DisposeAsync()
    {
        if (Binary.Length > 0) await ProcessRunner.RunAsync("docker", ["rm", "-f", Name]);
        Work.Dispose();
    }

    private static async Task Must(string file, params string[] args)
    {
        var run = await ProcessRunner.RunAsync(file, args, timeout: TimeSpan.FromMinutes(15));
        Assert.True(run.ExitCode == 0, $"{file} {string.Join(' ', args)}: {run}");
    }
}
