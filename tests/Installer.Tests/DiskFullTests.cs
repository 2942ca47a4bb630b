using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Activation;
using OsVenvArtifacts.Installer.Operations;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>A real, small tmpfs or loop-mounted ext4 under the scratch root (this host runs tests as root), unmounted after each test.</summary>
public sealed class DiskFullTests
{
    [Fact]
    public async Task Running_out_of_inodes_while_unpacking_leaves_the_previous_tag_active_and_nothing_behind()
    {
        using var run = new Run("unpack");
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        var big = ScratchHost.Demo("2.0.0");
        for (var i = 0; i < 200; i++) big.Entries.Add(InstallEntry.Text($"lib/python3.11/site-packages/many_{i}.py", $"X = {i}\n"));
        await host.PublishAsync(big);
        await using var mount = await Tmpfs.MountAsync(host.OnDisk("/openstack/venvs"), "size=16m,nr_inodes=120");
        await host.InstallAsync("demo", "1.0.0");
        var before = host.ServiceFiles();
        var free = new DriveInfo(host.OnDisk("/openstack/venvs")).AvailableFreeSpace;

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "2.0.0"));

        Assert.Equal("OSVA-I040", e.Code);
        Assert.Contains("ran out of space", e.Message, StringComparison.Ordinal);
        await AssertNothingInstalledAsync(host, before);
        Assert.True((await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", "1.0.0"), default)).Ok);
        Assert.Equal(free, new DriveInfo(host.OnDisk("/openstack/venvs")).AvailableFreeSpace);
        run.Held();
    }

    [Fact]
    public async Task Running_out_of_inodes_while_downloading_leaves_the_previous_tag_active_and_the_space_freed()
    {
        using var run = new Run("download");
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.PublishAsync(ScratchHost.Demo("2.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        // Two inodes: the mount's root and the service's unpack folder, so the download's .partial file is the first refused.
        await using var mount = await Tmpfs.MountAsync(host.OnDisk("/openstack/venvs/.staging"), "size=16m,nr_inodes=2");
        var before = host.ServiceFiles();
        var free = new DriveInfo(host.OnDisk("/openstack/venvs/.staging")).AvailableFreeSpace;

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "2.0.0"));

        Assert.Equal("OSVA-I040", e.Code);
        Assert.Contains("nothing was installed", e.Hint, StringComparison.Ordinal);
        Assert.Contains(".partial", e.InnerException?.Message, StringComparison.Ordinal);
        await AssertNothingInstalledAsync(host, before);
        Assert.Equal(free, new DriveInfo(host.OnDisk("/openstack/venvs/.staging")).AvailableFreeSpace);
        run.Held();
    }

    [Fact]
    public async Task A_full_state_disk_before_the_rename_leaves_the_previous_tag_active_and_nothing_behind()
    {
        using var run = new Run("rename");
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.PublishAsync(ScratchHost.Demo("2.0.0"));
        await using var mount = await Tmpfs.MountAsync(host.OnDisk("/var/lib/osva"), "size=1m");
        await host.InstallAsync("demo", "1.0.0");
        // No page left: the intent file written just before the rename is the install's first write there.
        await Tmpfs.FillAsync(host.OnDisk("/var/lib/osva"), leave: 0);
        var before = host.ServiceFiles();

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "2.0.0"));

        Assert.Equal("OSVA-I040", e.Code);
        Assert.Contains("nothing was installed", e.Hint, StringComparison.Ordinal);
        await AssertNothingInstalledAsync(host, before);
        Assert.Empty(Directory.EnumerateFiles(host.OnDisk("/var/lib/osva"), "*.tmp", SearchOption.AllDirectories));
        Assert.Equal(0, new DriveInfo(host.OnDisk("/var/lib/osva")).AvailableFreeSpace);
        run.Held();
    }

    [Fact]
    public async Task Too_little_free_space_is_refused_before_downloading()
    {
        using var host = new ScratchHost();
        var big = ScratchHost.Demo("1.0.0");
        big.Entries.Add(InstallEntry.Noise("lib/blob.bin", 3 << 20, 7));
        await host.PublishAsync(big);
        await using var mount = await Tmpfs.MountAsync(host.OnDisk("/openstack/venvs"), "size=4m");

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "1.0.0"));

        Assert.Equal("OSVA-I040", e.Code);
        Assert.Equal(ExitCode.HostMismatch, e.ExitCode);
        Assert.Empty(Directory.EnumerateFileSystemEntries(host.OnDisk("/openstack/venvs/.staging")));
    }

    [Fact]
    public async Task A_full_disk_past_the_free_space_check_is_named_at_every_size_tried()
    {
        // ext4 gives every directory a block, which the manifest's sizes cannot foresee: on a real host the pre-check
        // passes and unpacking still meets a full disk, in mkdir or in a file's preallocation, whichever comes first.
        var outcomes = new List<string>();
        using var run = new Run("unpack");
        foreach (var directories in new[] { 3000, 3600, 4200, 4800, 5400, 6000 })
        {
            using var host = new ScratchHost();
            await host.PublishAsync(ScratchHost.Demo("1.0.0"));
            var big = ScratchHost.Demo("2.0.0");
            for (var i = 0; i < directories; i++) big.Entries.Add(InstallEntry.Dir($"lib/d{i:D5}"));
            big.Entries.Add(InstallEntry.Dir("share"));
            big.Entries.Add(InstallEntry.Noise("share/blob.bin", 6 << 20, directories));
            await host.PublishAsync(big);
            await using var mount = await Ext4.MountAsync(host.OnDisk("/openstack/venvs"), Path.Combine(host.TempPath, "venvs.img"), 36 << 20);
            await host.InstallAsync("demo", "1.0.0");
            var before = host.ServiceFiles();

            try
            {
                await host.InstallAsync("demo", "2.0.0");
                outcomes.Add($"{directories}: installed");
                continue;
            }
            catch (InstallerException e)
            {
                outcomes.Add($"{directories}: {e.Code} {e.InnerException?.Message}");
                Assert.Equal("OSVA-I040", e.Code);
                Assert.Contains("nothing was installed", e.Hint, StringComparison.Ordinal);
            }
            await AssertNothingInstalledAsync(host, before);
        }
        Assert.True(outcomes.Count(o => o.Contains("OSVA-I040", StringComparison.Ordinal)) >= 2, string.Join('\n', outcomes));
        Assert.True(outcomes.Any(o => o.Contains("because the disk was full", StringComparison.Ordinal)), "no size reached a file's preallocation:\n" + string.Join('\n', outcomes));
        run.Held(outcomes.Count);
    }

    [Fact]
    public async Task A_full_disk_when_recording_takes_the_renamed_venv_out_again_so_nothing_was_installed_holds()
    {
        using var run = new Run("record");
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.PublishAsync(ScratchHost.Demo("2.0.0"));
        await using var mount = await Tmpfs.MountAsync(host.OnDisk("/var/lib/osva"), "size=1m");
        await host.InstallAsync("demo", "1.0.0");
        // One page left: the intent file takes it, so the venv is renamed into place and recording its manifest fails.
        await Tmpfs.FillAsync(host.OnDisk("/var/lib/osva"), leave: 4096);
        var state = host.Read("/var/lib/osva/demo.json");

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "2.0.0"));

        Assert.Equal("OSVA-I040", e.Code);
        Assert.Contains("nothing was installed", e.Hint, StringComparison.Ordinal);
        Assert.False(Directory.Exists(host.OnDisk("/openstack/venvs/demo-2.0.0")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(host.OnDisk("/openstack/venvs/.staging")));
        Assert.False(File.Exists(host.OnDisk("/var/lib/osva/demo/2.0.0.manifest.json")));
        Assert.False(File.Exists(host.OnDisk("/var/lib/osva/demo/2.0.0.installing")));
        Assert.Equal(state, host.Read("/var/lib/osva/demo.json"));
        Assert.Equal(4096, new DriveInfo(host.OnDisk("/var/lib/osva")).AvailableFreeSpace);
        run.Held();
    }

    [Fact]
    public async Task A_full_state_disk_anywhere_else_is_still_named_by_the_real_program()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await using var mount = await Tmpfs.MountAsync(host.OnDisk("/var/lib/osva"), "size=1m");
        await Tmpfs.FillAsync(host.OnDisk("/var/lib/osva"), leave: 0);

        var result = await Cli.RunAsync("install", "demo", "1.0.0", "--store", host.Store, "--root", host.Root);

        Assert.True(result.ExitCode == 5, result.ToString());
        Assert.StartsWith("osva-install: error OSVA-I040: ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, "before sudoers is checked")]
    [InlineData(4096, "after sudoers is checked, writing the drop-in")]
    public async Task A_full_disk_during_switch_restores_every_file_and_exits_9_naming_it(int leave, string when)
    {
        using var run = new Run("activation");
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.PublishAsync(ScratchHost.Demo("2.0.0"));
        await using var mount = await Tmpfs.MountAsync(host.OnDisk("/etc"), "size=1m");
        await host.InstallAsync("demo", "1.0.0");
        await host.InstallAsync("demo", "2.0.0");
        await Tmpfs.FillAsync(host.OnDisk("/etc"), leave);
        var before = host.ServiceFiles();

        var result = await Cli.RunAsync("rollback", "demo", "--root", host.Root);

        Assert.True(result.ExitCode == 9, $"{when}: {result}");
        Assert.StartsWith("osva-install: error OSVA-I040: ", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, host.ServiceFiles());
        Assert.Equal("2.0.0", (await host.StateAsync("demo")).Active);
        Assert.Equal(leave, new DriveInfo(host.OnDisk("/etc")).AvailableFreeSpace);
        run.Held();
    }

    [Fact]
    public async Task A_full_state_disk_during_a_switch_never_leaves_files_and_state_apart()
    {
        // Page by page more room on the state's file system: first the journal does not fit (nothing changes), then it
        // does but the new state does not (the files are put back), then the switch goes through.
        var outcomes = new List<string>();
        using var run = new Run("activation");
        for (var pages = 0; pages <= 8; pages++)
        {
            using var host = new ScratchHost();
            await host.PublishAsync(ScratchHost.Demo("1.0.0"));
            await host.PublishAsync(ScratchHost.Demo("2.0.0"));
            await using var mount = await Tmpfs.MountAsync(host.OnDisk("/var/lib/osva"), "size=1m");
            await host.InstallAsync("demo", "1.0.0");
            await host.InstallAsync("demo", "2.0.0");
            await Tmpfs.FillAsync(host.OnDisk("/var/lib/osva"), leave: pages * 4096L);
            var before = host.ServiceFiles();
            try
            {
                await host.Lifecycle.SwitchAsync(new SwitchOptions("demo", "1.0.0", new ActivationSettings(), false), default);
                outcomes.Add($"{pages}: switched");
                Assert.Equal("1.0.0", (await host.StateAsync("demo")).Active);
                Assert.Contains("/openstack/venvs/demo-1.0.0/", host.Read("/etc/systemd/system/demo-api.service.d/osva-venv.conf"), StringComparison.Ordinal);
                break;
            }
            catch (InstallerException e)
            {
                outcomes.Add($"{pages}: {e.Code} {e.Hint}");
                Assert.Equal("OSVA-I040", e.Code);
                Assert.Equal(ExitCode.ActivationFailed, e.ExitCode);
                Assert.Equal(before, host.ServiceFiles());
                Assert.Equal("2.0.0", (await host.StateAsync("demo")).Active);
            }
        }
        Assert.Contains(outcomes, o => o.Contains("nothing was changed", StringComparison.Ordinal));
        Assert.Contains(outcomes, o => o.Contains("previous activation was restored", StringComparison.Ordinal));
        Assert.EndsWith("switched", outcomes[^1], StringComparison.Ordinal);
        run.Held(outcomes.Count);
    }

    [Fact]
    public async Task A_failed_preallocation_is_recognised_as_a_full_disk()
    {
        using var temp = new TempDirectory("prealloc");
        await using var mount = await Tmpfs.MountAsync(temp.Combine("small"), "size=1m");

        var e = Assert.ThrowsAny<IOException>(() => new FileStream(temp.Combine("small/big"), new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, PreallocationSize = 4 << 20,
        }));

        Assert.True(Host.DiskSpace.IsFull(e), e.Message);
    }

    /// <summary>
    /// One full-disk case in the trust log: counted broken unless <see cref="Held"/> is reached, that is unless every
    /// assertion (old tag active, files as before, nothing left in staging, the space given back) passed.
    /// </summary>
    private sealed class Run(string stage) : IDisposable
    {
        private int? _held;

        /// <summary>Every assertion passed over <paramref name="runs"/> disk sizes tried.</summary>
        public void Held(int runs = 1) => _held = runs;

        public void Dispose() => TrustLog.Append(new { kind = "diskfull", stage, runs = _held ?? 1, broken = _held is null ? 1 : 0, leftovers = 0 });
    }

    private sealed class Ext4(string path) : IAsyncDisposable
    {
        /// <summary>A loop-mounted ext4 image with 4 KiB blocks and inodes to spare, so space runs out before inodes.</summary>
        public static async Task<Ext4> MountAsync(string path, string image, long size)
        {
            Directory.CreateDirectory(path);
            await using (var file = File.Create(image)) file.SetLength(size);
            var mkfs = await ProcessRunner.RunAsync("mkfs.ext4", ["-q", "-F", "-b", "4096", "-N", "16384", image]);
            Assert.True(mkfs.ExitCode == 0, mkfs.ToString());
            var run = await ProcessRunner.RunAsync("mount", ["-o", "loop", image, path]);
            Assert.True(run.ExitCode == 0, $"mounting a loop device needs root: {run}");
            return new Ext4(path);
        }

        public async ValueTask DisposeAsync() => await ProcessRunner.RunAsync("umount", [path]);
    }

    private sealed class Tmpfs(string path) : IAsyncDisposable
    {
        public static async Task<Tmpfs> MountAsync(string path, string options)
        {
            Directory.CreateDirectory(path);
            var run = await ProcessRunner.RunAsync("mount", ["-t", "tmpfs", "-o", options, "osva-it-tmpfs", path]);
            Assert.True(run.ExitCode == 0, $"mounting a tmpfs needs root: {run}");
            return new Tmpfs(path);
        }

        /// <summary>Fills the file system until <paramref name="leave"/> bytes are free (tmpfs counts whole pages).</summary>
        public static async Task FillAsync(string path, long leave)
        {
            var free = new DriveInfo(path).AvailableFreeSpace;
            await using var filler = File.Create(Path.Combine(path, ".filler"));
            await filler.WriteAsync(new byte[free - leave]);
            Assert.Equal(leave, new DriveInfo(path).AvailableFreeSpace);
        }

        public async ValueTask DisposeAsync() => await ProcessRunner.RunAsync("umount", [path]);
    }

    /// <summary>The failed install of 2.0.0 left the host as it was: its files, 1.0.0 active, no 2.0.0 venv, nothing in staging.</summary>
    private static async Task AssertNothingInstalledAsync(ScratchHost host, Dictionary<string, string> before)
    {
        Assert.Equal(before, host.ServiceFiles());
        Assert.Equal("1.0.0", (await host.StateAsync("demo")).Active);
        Assert.False(Directory.Exists(host.OnDisk("/openstack/venvs/demo-2.0.0")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(host.OnDisk("/openstack/venvs/.staging")));
    }
}
