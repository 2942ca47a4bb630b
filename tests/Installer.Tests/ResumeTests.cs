using OsVenvArtifacts.Installer.Operations;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>A download broken in an earlier run leaves <c>.partial</c> in staging; the next run continues from it.</summary>
public sealed class ResumeTests
{
    private static async Task<(ScratchHost Host, string Archive, string Partial)> BrokenDownloadAsync()
    {
        var host = new ScratchHost();
        var b = ScratchHost.Demo("1.0.0");
        b.Entries.Add(InstallEntry.Noise("lib/blob.bin", 256 << 10, 3));
        var files = await host.PublishAsync(b);
        var staging = host.OnDisk("/openstack/venvs/.staging");
        Directory.CreateDirectory(staging);
        return (host, files.Archive, Path.Combine(staging, Path.GetFileName(files.Archive) + ".partial"));
    }

    [Fact]
    public async Task Install_continues_a_partial_download_left_by_a_broken_run()
    {
        var (host, archive, partial) = await BrokenDownloadAsync();
        using var _ = host;
        var bytes = await File.ReadAllBytesAsync(archive);
        await File.WriteAllBytesAsync(partial, bytes[..(bytes.Length / 2)]);

        var result = await host.InstallAsync("demo", "1.0.0");

        Assert.True(result.Changed);
        Assert.False(File.Exists(partial));
        Assert.True((await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", null), default)).Ok);
    }

    [Fact]
    public async Task A_damaged_partial_download_is_caught_by_the_hash_and_discarded_so_the_next_run_succeeds()
    {
        var (host, archive, partial) = await BrokenDownloadAsync();
        using var _ = host;
        var bytes = await File.ReadAllBytesAsync(archive);
        var prefix = bytes[..(bytes.Length / 2)];
        prefix[100] ^= 0xFF;
        await File.WriteAllBytesAsync(partial, prefix);

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "1.0.0"));
        Assert.Equal("OSVA-I010", e.Code);
        Assert.False(File.Exists(partial));

        Assert.True((await host.InstallAsync("demo", "1.0.0")).Changed);
    }
}
