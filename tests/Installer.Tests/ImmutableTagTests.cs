using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// A tag is immutable on a host: when the store's bytes for an installed tag change, the host says which bytes it
/// holds, which the store has, whether the store's index records a forced republish, and what to do.
/// </summary>
public sealed class ImmutableTagTests
{
    [Theory]
    [InlineData(true, "republished with --force at")]
    [InlineData(false, "records no republish of it")]
    public async Task A_host_holding_other_bytes_of_a_tag_says_so_and_keeps_them(bool recorded, string says)
    {
        using var host = new ScratchHost();
        var first = await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        var other = ScratchHost.Demo("1.0.0");
        other.Entries.Add(InstallEntry.Text("lib/patched.py", "x"));
        var second = await host.PublishAsync(other);
        if (recorded)
        {
            var path = Path.Combine(host.Store, "demo", "index.json");
            await using var read = File.OpenRead(path);
            var index = await ArtifactJson.ReadIndexAsync(read, path, default);
            read.Close();
            index.History = [.. index.History, new IndexEvent(DateTimeOffset.UtcNow, "force-publish", "1.0.0", InstallArtifactBuilder.PlatformId,
                $"replaced sha256 {first.Manifest.Archive.Sha256} with {second.Manifest.Archive.Sha256}")];
            await File.WriteAllBytesAsync(path, ArtifactJson.Serialize(index));
        }

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "1.0.0"));

        Assert.Equal(("OSVA-I042", ExitCode.Conflict), (e.Code, e.ExitCode));
        Assert.Contains($"on this host is archive {first.Manifest.Archive.Sha256}, the store now has {second.Manifest.Archive.Sha256}", e.Message, StringComparison.Ordinal);
        Assert.Contains(says, e.Message, StringComparison.Ordinal);
        Assert.Contains("osva-install uninstall demo 1.0.0 and install it again", e.Hint, StringComparison.Ordinal);
        Assert.Equal(first.Manifest.Archive.Sha256, (await host.StateAsync("demo")).Find("1.0.0")!.ArchiveSha256);
        Assert.False(File.Exists(host.OnDisk("/openstack/venvs/demo-1.0.0/lib/patched.py")));
    }
}
