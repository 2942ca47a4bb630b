using System.Security.Cryptography;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Artifact.Tests;

public sealed class HashingTests
{
    [Fact]
    public async Task Checksum_line_is_accepted_by_sha256sum()
    {
        using var dir = new TempDirectory("sha");
        var file = dir.Combine("a.tar.gz");
        await File.WriteAllBytesAsync(file, RandomNumberGenerator.GetBytes(4096));
        var hash = await Sha256.OfFileAsync(file, CancellationToken.None);
        await File.WriteAllTextAsync(file + ".sha256", Sha256.ChecksumLine(hash, "a.tar.gz"));

        var result = await ProcessRunner.RunAsync("sha256sum", ["-c", "a.tar.gz.sha256"], workingDirectory: dir.Path);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(hash, Sha256.ParseChecksumLine(await File.ReadAllTextAsync(file + ".sha256"), "a.tar.gz", "test"));
    }

    [Theory]
    [InlineData("abc  a.tar.gz\n", "hash too short")]
    [InlineData("", "empty file")]
    public void Checksum_line_that_is_malformed_is_refused(string text, string reason)
    {
        Assert.Throws<ArtifactFormatException>(() => Sha256.ParseChecksumLine(text, "a.tar.gz", "test"));
        Assert.False(string.IsNullOrEmpty(reason));
    }

    [Fact]
    public void Checksum_line_for_another_file_is_refused()
    {
        var line = Sha256.ChecksumLine(new string('a', 64), "b.tar.gz");

        var e = Assert.Throws<ArtifactFormatException>(() => Sha256.ParseChecksumLine(line, "a.tar.gz", "a.tar.gz.sha256"));
        Assert.Contains("a.tar.gz", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hashing_stream_hashes_what_is_read_in_small_and_large_reads()
    {
        var data = RandomNumberGenerator.GetBytes(300_000);
        await using var hashing = new HashingStream(new MemoryStream(data));
        var buffer = new byte[7919];
        int n;
        while ((n = await hashing.ReadAsync(buffer)) > 0) { }
        Assert.Equal(0, n);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), hashing.Finish());
        Assert.Equal(data.Length, hashing.BytesHashed);
    }

    [Fact]
    public async Task Hashing_stream_hashes_what_is_written()
    {
        var data = RandomNumberGenerator.GetBytes(100_000);
        var sink = new MemoryStream();
        await using var hashing = new HashingStream(sink, leaveOpen: true);
        await hashing.WriteAsync(data.AsMemory(0, 1000));
        await hashing.WriteAsync(data.AsMemory(1000));

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), hashing.Finish());
        Assert.Equal(data, sink.ToArray());
    }

    [Fact]
    public void Tree_hash_does_not_depend_on_entry_order_but_on_every_field()
    {
        TreeEntry[] entries =
        [
            new("bin", TreeEntryKind.Directory, 0x1ED, 0, null, null),
            new("bin/python", TreeEntryKind.Symlink, 0x1FF, 0, null, "/usr/bin/python3.11"),
            new("bin/nova-manage", TreeEntryKind.File, 0x1ED, 120, new string('1', 64), null),
        ];
        var forward = new TreeHash();
        var backward = new TreeHash();
        foreach (var e in entries) forward.Add(e);
        foreach (var e in entries.Reverse()) backward.Add(e);
        Assert.Equal(forward.Compute(), backward.Compute());

        var modeChanged = new TreeHash();
        foreach (var e in entries) modeChanged.Add(e.Path == "bin/nova-manage" ? e with { Mode = 0x1A4 } : e);
        Assert.NotEqual(forward.Compute(), modeChanged.Compute());

        var targetChanged = new TreeHash();
        foreach (var e in entries) targetChanged.Add(e.Kind == TreeEntryKind.Symlink ? e with { LinkTarget = "/usr/bin/python3.12" } : e);
        Assert.NotEqual(forward.Compute(), targetChanged.Compute());
        Assert.StartsWith("sha256:", forward.Compute(), StringComparison.Ordinal);
    }
}
