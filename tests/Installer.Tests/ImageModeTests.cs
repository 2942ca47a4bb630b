using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Installer.Activation;
using OsVenvArtifacts.Installer.Image;
using OsVenvArtifacts.Installer.Operations;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// Image mode: a tag installed as its squashfs mounted read-only at the venv path (real loop mounts: this machine is root
/// with loop devices), with a systemd mount unit; switch, rollback, gc and verify over it; the refusal where mounting is
/// impossible. Every mount under the scratch root is taken down when the test ends.
/// </summary>
public sealed class ImageModeTests : IDisposable
{
    private readonly ScratchHost _host = new();

    private const string Venv1 = "/openstack/venvs/demo-1.0.0";

    private Task<CommandResult> InstallAsync(string tag, string format) =>
        new InstallOperation(_host.Environment).RunAsync(new InstallRequest
        {
            Service = "demo", TagOrAlias = tag, Store = StoreLocation.Parse(_host.Store), S3 = S3Settings.FromEnvironment(),
            Activation = new ActivationSettings(), Format = format,
        }, CancellationToken.None);

    private Task<InstallArtifactFiles> PublishAsync(string tag, bool image)
    {
        var b = ScratchHost.Demo(tag);
        b.Image = image;
        return _host.PublishAsync(b);
    }

    [Fact]
    public async Task Install_an_image_tag_mounts_it_read_only_with_a_mount_unit_systemd_analyze_accepts_and_verify_checks_the_image()
    {
        await PublishAsync("1.0.0", image: true);

        var result = await InstallAsync("1.0.0", InstallFormats.Image);

        var venv = _host.OnDisk(Venv1);
        Assert.True(ImageMount.IsMounted(venv), string.Join("\n", result.Actions));
        Assert.Equal("1.0.0", result.Active);
        Assert.StartsWith("#!/openstack/venvs/demo-1.0.0/bin/python", await File.ReadAllTextAsync(Path.Combine(venv, "bin", "osva-hello")), StringComparison.Ordinal);
        var write = Record.Exception(() => File.WriteAllText(Path.Combine(venv, "pyvenv.cfg"), "changed"));
        Assert.True(write is IOException or UnauthorizedAccessException, $"writing into the image: {write}");
        var image = _host.OnDisk("/var/lib/osva/images/demo/1.0.0.squashfs");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(image));
        var state = await _host.StateAsync("demo");
        Assert.Equal("image", state.Find("1.0.0")!.Format);
        Assert.Contains("ExecStart=/openstack/venvs/demo-1.0.0/bin/osva-hello", _host.Read("/etc/systemd/system/demo-api.service.d/osva-venv.conf"), StringComparison.Ordinal);

        // The unit's name is what systemd-escape gives, and systemd-analyze accepts the unit (it refuses a Where= that does not match).
        var escaped = await ProcessRunner.RunAsync("systemd-escape", ["--path", "--suffix=mount", Venv1]);
        var unitName = escaped.Stdout.Trim();
        Assert.Equal(unitName, ImageMount.UnitName(Venv1));
        var unit = _host.OnDisk($"/etc/systemd/system/{unitName}");
        Assert.Equal("""
            # Written by osva-install: demo 1.0.0 as a read-only image (docs/osva-install.md, "Image mode"). Removed by gc and uninstall.
            [Unit]
            Description=osva venv demo 1.0.0 (read-only image)

            [Mount]
            What=/var/lib/osva/images/demo/1.0.0.squashfs
            Where=/openstack/venvs/demo-1.0.0
            Type=squashfs
            Options=ro,loop,nodev,nosuid

            [Install]
            WantedBy=local-fs.target

            """, await File.ReadAllTextAsync(unit));
        Assert.Equal($"../{unitName}", new FileInfo(_host.OnDisk($"/etc/systemd/system/local-fs.target.wants/{unitName}")).LinkTarget);
        var analyze = await ProcessRunner.RunAsync("systemd-analyze", ["verify", "--man=no", unit]);
        Assert.True(analyze.ExitCode == 0, analyze.ToString());

        Assert.True((await _host.Lifecycle.VerifyAsync(new VerifyOptions("demo", "1.0.0"), default)).Ok);
        Assert.True((await _host.Lifecycle.DoctorAsync(new DoctorOptions("demo"), default)).Ok);
        // Unmounted behind osva's back: doctor names the mount and the command that brings it back; verify fails.
        Assert.Equal(0, (await ProcessRunner.RunAsync("umount", [venv])).ExitCode);
        var doctor = await _host.Lifecycle.DoctorAsync(new DoctorOptions("demo"), default);
        var finding = Assert.Single(doctor.Findings!);
        Assert.Contains("is not mounted", finding.Problem, StringComparison.Ordinal);
        Assert.Contains("mount -o ro,loop,nodev,nosuid", finding.Fix, StringComparison.Ordinal);
        Assert.False((await _host.Lifecycle.VerifyAsync(new VerifyOptions("demo", "1.0.0"), default)).Ok);
    }

    [Fact]
    public async Task Switch_between_an_image_tag_and_a_tarball_tag_and_roll_back()
    {
        await PublishAsync("1.0.0", image: true);
        await PublishAsync("2.0.0", image: false);
        await InstallAsync("1.0.0", InstallFormats.Image);

        var up = await InstallAsync("2.0.0", InstallFormats.Tarball);
        Assert.Equal(("2.0.0", "1.0.0"), (up.Active, up.Previous));
        Assert.Contains("/openstack/venvs/demo-2.0.0/bin/osva-hello", _host.Read("/etc/systemd/system/demo-api.service.d/osva-venv.conf"), StringComparison.Ordinal);
        Assert.False(ImageMount.IsMounted(_host.OnDisk("/openstack/venvs/demo-2.0.0")));

        var back = await _host.Lifecycle.RollbackAsync(new RollbackOptions("demo", new ActivationSettings(), false), default);
        Assert.Equal(("1.0.0", "2.0.0"), (back.Active, back.Previous));
        Assert.Contains("ExecStart=/openstack/venvs/demo-1.0.0/bin/osva-hello", _host.Read("/etc/systemd/system/demo-api.service.d/osva-venv.conf"), StringComparison.Ordinal);
        Assert.Contains("/openstack/venvs/demo-1.0.0/bin/demo-rootwrap", _host.Read("/etc/sudoers.d/demo_osva"), StringComparison.Ordinal);
        Assert.True(ImageMount.IsMounted(_host.OnDisk(Venv1)));

        var forward = await _host.Lifecycle.SwitchAsync(new SwitchOptions("demo", "2.0.0", new ActivationSettings(), false), default);
        Assert.Equal("2.0.0", forward.Active);
    }

    [Fact]
    public async Task Gc_unmounts_the_image_tag_and_removes_its_unit_and_image()
    {
        await PublishAsync("1.0.0", image: true);
        await PublishAsync("2.0.0", image: false);
        await PublishAsync("3.0.0", image: false);
        await InstallAsync("1.0.0", InstallFormats.Image);
        await InstallAsync("2.0.0", InstallFormats.Tarball);
        await InstallAsync("3.0.0", InstallFormats.Tarball);
        var unit = _host.OnDisk($"/etc/systemd/system/{ImageMount.UnitName(Venv1)}");
        Assert.True(File.Exists(unit));

        var gc = await _host.Lifecycle.GcAsync(new GcOptions("demo", 0, false), default);

        Assert.Contains(gc.Actions, a => a.Contains("1.0.0", StringComparison.Ordinal));
        Assert.False(ImageMount.IsMounted(_host.OnDisk(Venv1)));
        Assert.False(Directory.Exists(_host.OnDisk(Venv1)));
        Assert.False(File.Exists(unit));
        Assert.False(File.Exists(_host.OnDisk($"/etc/systemd/system/local-fs.target.wants/{ImageMount.UnitName(Venv1)}")));
        Assert.False(File.Exists(_host.OnDisk("/var/lib/osva/images/demo/1.0.0.squashfs")));
        Assert.Null((await _host.StateAsync("demo")).Find("1.0.0"));
    }

    [Fact]
    public async Task Format_image_refuses_in_one_line_when_the_cannot_mount_probe_is_forced_and_auto_falls_back_to_the_tarball()
    {
        await PublishAsync("1.0.0", image: true);
        var env = new Dictionary<string, string> { [ImageMount.ForceCannotMountVariable] = "1" };
        string[] common = ["install", "demo", "1.0.0", "--store", _host.Store, "--root", _host.Root];

        var refused = await Cli.RunWithEnvAsync(env, [.. common, "--format", "image"]);

        Assert.Equal((int)ExitCode.HostMismatch, refused.ExitCode);
        var line = Assert.Single(refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("OSVA-I080", line, StringComparison.Ordinal);
        Assert.Contains("--format tarball", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_host.OnDisk(Venv1)));

        var auto = await Cli.RunWithEnvAsync(env, [.. common, "--format", "auto"]);

        Assert.True(auto.ExitCode == 0, auto.ToString());
        Assert.Contains("installing the tarball", auto.Stderr, StringComparison.Ordinal);
        Assert.True(File.Exists(_host.OnDisk($"{Venv1}/bin/osva-hello")));
        Assert.False(ImageMount.IsMounted(_host.OnDisk(Venv1)));
        Assert.Null((await _host.StateAsync("demo")).Find("1.0.0")!.Format);
    }

    [Fact]
    public async Task Format_image_refuses_a_tag_built_without_an_image()
    {
        await PublishAsync("1.0.0", image: false);

        var e = await Assert.ThrowsAsync<InstallerException>(() => InstallAsync("1.0.0", InstallFormats.Image));

        Assert.Equal("OSVA-I080", e.Code);
        Assert.Contains("built without a squashfs image", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_host.OnDisk(Venv1)));
    }

    [Fact]
    public async Task A_tampered_image_in_the_store_is_refused_and_nothing_is_left_behind()
    {
        await PublishAsync("1.0.0", image: true);
        var stored = Path.Combine(_host.Store, "demo", "1.0.0", "demo-1.0.0-debian-12-x86_64-py3.11.squashfs");
        var bytes = await File.ReadAllBytesAsync(stored);
        bytes[^1] ^= 0xff;
        await File.WriteAllBytesAsync(stored, bytes);

        var e = await Assert.ThrowsAsync<InstallerException>(() => InstallAsync("1.0.0", InstallFormats.Image));

        Assert.Equal("OSVA-I010", e.Code);
        Assert.False(Directory.Exists(_host.OnDisk(Venv1)));
        Assert.False(File.Exists(_host.OnDisk("/var/lib/osva/images/demo/1.0.0.squashfs")));
        Assert.False(File.Exists(_host.OnDisk($"/etc/systemd/system/{ImageMount.UnitName(Venv1)}")));
    }

    /// <summary>Found by review: the image's name became a path and its size a bound, so a manifest could name any host file.</summary>
    [Theory]
    [InlineData("absolute-name")]
    [InlineData("zero-size")]
    [InlineData("size-past-the-host-limit")]
    public async Task An_image_name_or_size_breaking_the_host_rules_is_refused_before_anything_is_downloaded(string attack)
    {
        var victim = _host.OnDisk("/etc/osva-victim");
        Directory.CreateDirectory(Path.GetDirectoryName(victim)!);
        await File.WriteAllTextAsync(victim, "keep me\n");
        var b = ScratchHost.Demo("1.0.0");
        b.Image = true;
        b.EditManifest = m =>
        {
            m.Image = attack switch
            {
                "absolute-name" => m.Image! with { FileName = victim },
                "zero-size" => m.Image! with { Size = 0, Sha256 = Sha256.Of([]) },
                _ => m.Image! with { Size = long.MaxValue },
            };
            return m;
        };
        await _host.PublishAsync(b);

        var e = await Assert.ThrowsAsync<InstallerException>(() => InstallAsync("1.0.0", InstallFormats.Image));

        Assert.Equal("OSVA-I044", e.Code);
        Assert.Equal("keep me\n", await File.ReadAllTextAsync(victim));
        Assert.False(ImageMount.IsMounted(_host.OnDisk(Venv1)));
        Assert.Null((await _host.StateAsync("demo")).Find("1.0.0"));
    }

    public void Dispose()
    {
        // Deepest first, so nothing is left mounted under the scratch root it deletes.
        var root = _host.Root + "/";
        var mounts = File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4]).Where(m => m.StartsWith(root, StringComparison.Ordinal))
            .OrderByDescending(m => m.Length).ToList();
        foreach (var m in mounts) ProcessRunner.RunAsync("umount", [m]).GetAwaiter().GetResult();
        _host.Dispose();
    }
}
