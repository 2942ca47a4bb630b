using OsVenvArtifacts.Installer.Operations;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// A transfer from an HTTP mirror that breaks mid-file continues with <c>Range: bytes=N-</c>, against a real
/// HTTP server on loopback that cuts the connection after a number of body bytes.
/// </summary>
public sealed class HttpResumeTests
{
    private const long CutAt = 40_000;

    private static async Task<(ScratchHost Host, InstallArtifactFiles Files)> PublishedAsync()
    {
        var host = new ScratchHost();
        var b = ScratchHost.Demo("1.0.0");
        // Incompressible, so the archive is several cuts long.
        b.Entries.Add(InstallEntry.Noise("lib/blob.bin", 256 << 10, 7));
        var files = await host.PublishAsync(b);
        Assert.True(new FileInfo(files.Archive).Length > 5 * CutAt);
        return (host, files);
    }

    private static List<string?> ArchiveRanges(InstallRangeHttpServer server) =>
        server.Requests.Where(r => r.Path.EndsWith(".tar.gz", StringComparison.Ordinal)).Select(r => r.Range).ToList();

    private static string Partial(ScratchHost host, InstallArtifactFiles files) =>
        Path.Combine(host.OnDisk("/openstack/venvs/.staging"), Path.GetFileName(files.Archive) + ".partial");

    [Fact]
    public async Task A_transfer_broken_mid_file_resumes_with_a_range_request_and_installs_the_right_bytes()
    {
        var (host, files) = await PublishedAsync();
        using var _ = host;
        using var server = new InstallRangeHttpServer(host.Store);
        server.CutTransfers(CutAt);

        var result = await host.InstallAsync("demo", "1.0.0", store: server.Url);

        Assert.True(result.Changed);
        Assert.Equal([null, $"bytes={CutAt}-"], ArchiveRanges(server));
        Assert.Equal(files.Manifest.Archive.Sha256, (await host.StateAsync("demo")).Find("1.0.0")!.ArchiveSha256);
        Assert.True((await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", null), default)).Ok);
        Assert.False(File.Exists(Partial(host, files)));
    }

    [Fact]
    public async Task A_mirror_that_keeps_breaking_fails_with_I016_and_the_next_run_continues_with_a_range_request()
    {
        var (host, files) = await PublishedAsync();
        using var _ = host;
        using var server = new InstallRangeHttpServer(host.Store);
        server.CutTransfers(CutAt, times: int.MaxValue);

        var broken = await Cli.RunAsync("install", "demo", "1.0.0", "--store", server.Url, "--root", host.Root);

        Assert.True(broken.ExitCode == 6, broken.ToString());
        Assert.Contains("OSVA-I016", broken.Stderr, StringComparison.Ordinal);
        // Each attempt of the run continued where the previous one broke.
        Assert.Equal([null, $"bytes={CutAt}-", $"bytes={2 * CutAt}-", $"bytes={3 * CutAt}-"], ArchiveRanges(server));
        Assert.Equal(4 * CutAt, new FileInfo(Partial(host, files)).Length);

        server.CutTransfers(0, times: 0);
        var resumed = await Cli.RunAsync("install", "demo", "1.0.0", "--store", server.Url, "--root", host.Root);

        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Equal($"bytes={4 * CutAt}-", ArchiveRanges(server)[^1]);
        Assert.True((await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", null), default)).Ok);
        Assert.False(File.Exists(Partial(host, files)));
    }

    [Fact]
    public async Task A_transfer_that_stalls_is_cut_after_the_stall_timeout_reported_as_a_stall_and_resumed_by_the_next_run()
    {
        var (host, files) = await PublishedAsync();
        using var _ = host;
        using var server = new InstallRangeHttpServer(host.Store);
        server.StallTransfers(CutAt, times: int.MaxValue);

        var stalled = await Cli.RunAsync("install", "demo", "1.0.0", "--store", server.Url, "--root", host.Root, "--stall-timeout", "1");

        Assert.True(stalled.ExitCode == 6, stalled.ToString());
        Assert.Contains("OSVA-I017", stalled.Stderr, StringComparison.Ordinal);
        Assert.Contains("stalled: no byte for 1 s", stalled.Stderr, StringComparison.Ordinal);
        Assert.Equal(4 * CutAt, new FileInfo(Partial(host, files)).Length);

        server.CutTransfers(0, times: 0);
        var resumed = await Cli.RunAsync("install", "demo", "1.0.0", "--store", server.Url, "--root", host.Root);

        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Equal($"bytes={4 * CutAt}-", ArchiveRanges(server)[^1]);
    }

    [Theory]
    [InlineData(InstallRangeMode.Ignore, false, "no range support: the whole file comes again with 200 and the prefix on disk is read past")]
    [InlineData(InstallRangeMode.Refuse, true, "416: the partial file is no prefix of the mirror's file, so the download starts over")]
    [InlineData(InstallRangeMode.Misplace, true, "206 from another offset than asked: the bytes cannot be appended, so the download starts over")]
    public async Task A_broken_transfer_from_a_mirror_without_usable_ranges_still_installs(InstallRangeMode mode, bool startsOver, string reason)
    {
        var (host, files) = await PublishedAsync();
        using var _ = host;
        using var server = new InstallRangeHttpServer(host.Store, mode);
        server.CutTransfers(CutAt);

        var result = await host.InstallAsync("demo", "1.0.0", store: server.Url);

        Assert.True(result.Changed, reason);
        List<string?> expected = startsOver ? [null, $"bytes={CutAt}-", null] : [null, $"bytes={CutAt}-"];
        Assert.Equal(expected, ArchiveRanges(server));
        Assert.Equal(files.Manifest.Archive.Sha256, (await host.StateAsync("demo")).Find("1.0.0")!.ArchiveSha256);
        Assert.True((await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", null), default)).Ok);
    }
}
