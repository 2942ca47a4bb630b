using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Operations;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>A real, small tmpfs mounted at the scratch root's /openstack/venvs (this host runs tests as root).</summary>
public sealed class DiskFullTests
{
    [Fact]
    public async Task Running_out_of_inodes_while_unpacking_leaves_the_previous_tag_active_and_nothing_behind()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        var big = ScratchHost.Demo("2.0.0");
        for (var i = 0; i < 200; i++) big.Entries.Add(InstallEntry.Text($"lib/python3.11/site-packages/many_{i}.py", $"X = {i}\n"));
        await host.PublishAsync(big);
        await using var mount = await Tmpfs.MountAsync(host.OnDisk("/openstack/venvs"), "size=16m,nr_inodes=120");
        await host.InstallAsync("demo", "1.0.0");
        var before = host.ServiceFiles();

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "2.0.0"));

        Assert.Equal("OSVA-I040", e.Code);
        Assert.Contains("ran out of space", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, host.ServiceFiles());
        Assert.Equal("1.0.0", (await host.StateAsync("demo")).Active);
        Assert.False(Directory.Exists(host.OnDisk("/openstack/venvs/demo-2.0.0")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(host.OnDisk("/openstack/venvs/.staging")));
        Assert.True((await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", "1.0.0"), default)).Ok);
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

    private sealed class Tmpfs(string path) : IAsyncDisposable
    {
        public static async Task<Tmpfs> MountAsync(string path, string options)
        {
            Directory.CreateDirectory(path);
            var run = await ProcessRunner.RunAsync("mount", ["-t", "tmpfs", "-o", options, "osva-it-tmpfs", path]);
            Assert.True(run.ExitCode == 0, $"mounting a tmpfs needs root: {run}");
            return new Tmpfs(path);
        }

        public async ValueTask DisposeAsync() => await ProcessRunner.RunAsync("umount", [path]);
    }
}
