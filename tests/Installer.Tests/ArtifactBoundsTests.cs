using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// What a compromised build states about sizes, and how its gzip and tar are framed. Every hash matches (the
/// build computed them over what it wrote), so only the host's own rules stand between the artifact and the disk.
/// Each case is refused with nothing installed and the previous tag active.
/// </summary>
public sealed class ArtifactBoundsTests
{
    [Theory]
    [InlineData("unpacked size 0", "states unpacked size 0; it must be positive")]
    [InlineData("file count 0", "states file count 0; it must be positive")]
    [InlineData("archive size 0", "states archive size 0; it must be positive")]
    [InlineData("tar size 0", "states tar size 0; it must be positive")]
    [InlineData("tar smaller than its files", "bytes holding")]
    [InlineData("unpacked size over the host limit", "over this host's limit of 65536 bytes")]
    [InlineData("archive size over the host limit", "over this host's limit of 4096 bytes")]
    [InlineData("more files than the host allows", "over this host's limit of 5 files")]
    [InlineData("index and manifest disagree on the archive size", "the index says the archive has")]
    public async Task Sizes_outside_the_host_rules_are_refused_before_anything_is_downloaded(string attack, string reason)
    {
        using var outcome = TrustLog.Hostile(nameof(ArtifactBoundsTests), attack);
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        var hostile = ScratchHost.Demo("6.6.6");
        hostile.Entries.Add(InstallEntry.Noise("lib/big.bin", 100_000, 7));
        hostile.EditManifest = attack switch
        {
            "unpacked size 0" => m => m with { UnpackedSize = 0 },
            "file count 0" => m => m with { FileCount = 0 },
            "archive size 0" => m => m with { Archive = m.Archive with { Size = 0 } },
            "tar size 0" => m => m with { Archive = m.Archive with { TarSize = 0 } },
            "tar smaller than its files" => m => m with { Archive = m.Archive with { TarSize = m.UnpackedSize - 1 } },
            _ => null,
        };
        host.Configure(attack switch
        {
            "unpacked size over the host limit" => "max-unpacked-size = 64K",
            "archive size over the host limit" => "max-archive-size = 4K",
            "more files than the host allows" => "max-entries = 5",
            _ => "# defaults",
        });
        await host.PublishAsync(hostile);
        if (attack == "index and manifest disagree on the archive size") await EditIndexAsync(host, a => a with { ArchiveSize = a.ArchiveSize + 1 });

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "6.6.6"));

        Assert.Equal("OSVA-I044", e.Code);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        var staging = host.OnDisk("/openstack/venvs/.staging");
        Assert.True(!Directory.Exists(staging) || !Directory.EnumerateFileSystemEntries(staging).Any(), "nothing may be downloaded");
        Assert.False(Directory.Exists(host.OnDisk("/openstack/venvs/demo-6.6.6")));
        Assert.Equal("1.0.0", (await host.StateAsync("demo")).Active);
        outcome.Refused();
    }

    [Fact]
    public async Task An_entry_over_the_host_entry_limit_is_refused_before_its_file_is_created()
    {
        using var host = new ScratchHost();
        var hostile = ScratchHost.Demo("6.6.6");
        hostile.Entries.Add(InstallEntry.Noise("lib/big.bin", 100_000, 7));
        await host.PublishAsync(hostile);
        host.Configure("max-entry-size = 64K");

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "6.6.6"));

        Assert.Equal("OSVA-I030", e.Code);
        Assert.Contains("size 100000 is over the 65536-byte entry limit", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(host.OnDisk("/openstack/venvs/.staging")));
    }

    [Theory]
    [InlineData("gzip trailer cut off", "gzip trailer")]
    [InlineData("gzip stream cut in the middle", "gzip trailer")]
    [InlineData("garbage after the gzip member", "gzip trailer")]
    [InlineData("two gzip members", "more than one gzip member")]
    [InlineData("tar without end blocks", "is not a readable tar.gz")]
    [InlineData("tar with one end block", "without its two end-of-archive blocks")]
    [InlineData("data after the end blocks", "data follows the tar's end-of-archive blocks")]
    [InlineData("more tar than the manifest states", "gzip trailer states a length")]
    [InlineData("less tar than the manifest states", "gzip trailer states a length")]
    public async Task An_archive_that_other_tools_would_read_differently_is_refused(string attack, string reason)
    {
        using var outcome = TrustLog.Hostile(nameof(ArtifactBoundsTests), attack);
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        var files = await ScratchHost.Demo("6.6.6").WriteAsync(Path.Combine(host.Work, "6.6.6"));
        var tar = GzipBytes.Decompress(await File.ReadAllBytesAsync(files.Archive));
        var end = tar.Length - 1024;
        Assert.True(tar.AsSpan(end).IndexOfAnyExcept((byte)0) < 0, "the test's tar ends with two zero blocks");
        var gz = attack switch
        {
            "gzip trailer cut off" => GzipBytes.Compress(tar)[..^8],
            "gzip stream cut in the middle" => GzipBytes.Compress(tar)[..^20],
            "garbage after the gzip member" => [.. GzipBytes.Compress(tar), .. "garbage!"u8.ToArray()],
            "two gzip members" => [.. GzipBytes.Compress(tar[..4096]), .. GzipBytes.Compress(tar[4096..])],
            "tar without end blocks" => GzipBytes.Compress(tar[..end]),
            "tar with one end block" => GzipBytes.Compress(tar[..(end + 512)]),
            "data after the end blocks" => GzipBytes.Compress([.. tar, .. Block((byte)'x')]),
            _ => GzipBytes.Compress(tar),
        };
        long? tarSize = attack switch
        {
            "more tar than the manifest states" => tar.Length - 512,
            "less tar than the manifest states" => tar.Length + 512,
            _ => null,
        };
        await PublishReframedAsync(host, files, gz, tarSize);

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "6.6.6"));

        Assert.Equal("OSVA-I033", e.Code);
        Assert.True(e.Message.Contains(reason, StringComparison.Ordinal), e.Message);
        Assert.False(Directory.Exists(host.OnDisk("/openstack/venvs/demo-6.6.6")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(host.OnDisk("/openstack/venvs/.staging")));
        Assert.Equal("1.0.0", (await host.StateAsync("demo")).Active);
        outcome.Refused();
    }

    [Fact]
    public async Task A_download_stops_at_the_size_the_manifest_states()
    {
        using var host = new ScratchHost();
        var files = await host.PublishAsync(ScratchHost.Demo("6.6.6"));
        var stored = Path.Combine(host.Store, "demo/6.6.6", Path.GetFileName(files.Archive));
        await using (var append = new FileStream(stored, FileMode.Append)) await new NoiseStream(4 << 20, 5).CopyToAsync(append);

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "6.6.6"));

        Assert.Equal("OSVA-I014", e.Code);
        Assert.Contains($"is larger than the {files.Manifest.Archive.Size} bytes its manifest states", e.Message, StringComparison.Ordinal);
        var partial = Directory.EnumerateFiles(host.OnDisk("/openstack/venvs/.staging")).Select(f => new FileInfo(f).Length);
        Assert.All(partial, length => Assert.True(length <= files.Manifest.Archive.Size));
    }

    [Fact]
    public async Task An_endless_index_is_cut_at_its_cap()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("6.6.6"));
        await using (var index = new FileStream(Path.Combine(host.Store, "demo/index.json"), FileMode.Append)) await new NoiseStream(17 << 20, 5).CopyToAsync(index);

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "6.6.6"));

        Assert.Equal("OSVA-I014", e.Code);
        Assert.Contains("demo/index.json in", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decompressed_data_past_the_stated_tar_size_is_refused_while_it_streams()
    {
        using var guard = new Unpack.TarStreamGuard(new NoiseStream(1 << 20, 3), 4096, "x.tar.gz");

        var e = Assert.Throws<InstallerException>(() => guard.CopyTo(Stream.Null));

        Assert.Contains("decompresses to more than the 4096 bytes of tar its manifest states", e.Message, StringComparison.Ordinal);
    }

    /// <summary>What a compromised build would publish: hashes and sizes of what .NET's lenient GZipStream reads.</summary>
    private static async Task PublishReframedAsync(ScratchHost host, InstallArtifactFiles files, byte[] gz, long? tarSize)
    {
        var tar = GzipBytes.Decompress(gz);
        await File.WriteAllBytesAsync(files.Archive, gz);
        var gzSha = Sha256.Of(gz);
        await File.WriteAllTextAsync(files.Checksum, Sha256.ChecksumLine(gzSha, Path.GetFileName(files.Archive)));
        var manifest = files.Manifest with
        {
            Archive = files.Manifest.Archive with { Sha256 = gzSha, Size = gz.Length, TarSha256 = Sha256.Of(tar), TarSize = tarSize ?? tar.Length },
        };
        var bytes = ArtifactJson.Serialize(manifest);
        await File.WriteAllBytesAsync(files.ManifestFile, bytes);
        await InstallStore.PublishAsync(host.Store, files with { Manifest = manifest, ManifestBytes = bytes });
    }

    private static async Task EditIndexAsync(ScratchHost host, Func<IndexArtifact, IndexArtifact> edit)
    {
        var path = Path.Combine(host.Store, "demo", "index.json");
        await using var read = File.OpenRead(path);
        var index = await ArtifactJson.ReadIndexAsync(read, path, default);
        read.Close();
        var tags = index.Tags.Select(t => t with { Artifacts = t.Artifacts.Select(edit).ToList() }).ToList();
        await File.WriteAllBytesAsync(path, ArtifactJson.Serialize(index with { Tags = tags }));
    }

    private static byte[] Block(byte fill) => Enumerable.Repeat(fill, 512).ToArray();

}
