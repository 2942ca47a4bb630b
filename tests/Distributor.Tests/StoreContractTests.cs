using System.Text;
using System.Text.Json;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Distributor.Stores;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Distributor.Tests;

public sealed class DirectoryStoreContractTests(DirectoryStoreFixture fixture) : StoreContractTests(fixture), IClassFixture<DirectoryStoreFixture>;

public sealed class S3StoreContractTests(S3StoreFixture fixture) : StoreContractTests(fixture), IClassFixture<S3StoreFixture>, IUsesS3;

/// <summary>
/// What every store must do, run unchanged against a directory and the real s3rver on loopback. Store-level tests
/// call the store in process; publishing tests run the real osva-publish binary.
/// </summary>
public abstract class StoreContractTests(PublishStoreFixture fixture) : IDisposable
{
    private readonly TempDirectory _work = new("publish-work");
    private readonly string _location = fixture.NewLocation();

    // Small parts so a 12 MiB file goes through multipart (with parallel parts) on S3.
    private static readonly UploadSettings SmallParts = new(6L << 20, 5 << 20, 3);

    private IObjectStore OpenStore()
    {
        var location = StoreLocation.Parse(_location);
        return location.Kind == StoreKind.S3
            ? new S3ObjectStore(location, new S3Settings(fixture.Endpoint, null, true).CreateClient(), SmallParts)
            : new DirectoryObjectStore(location);
    }

    private Task<ProcessResult> RunAsync(params string[] args) =>
        PublishCli.RunAsync([.. args, .. PublishCli.StoreArgs(_location, fixture.Endpoint)], fixture.Environment);

    private async Task<StoreIndex> ListJsonAsync(string service)
    {
        var result = await RunAsync("list", service, "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        return JsonSerializer.Deserialize(result.Stdout, ArtifactJsonContext.Default.StoreIndex)!;
    }

    private string NewFile(string name, long size)
    {
        var path = _work.Combine(name);
        using var file = File.Create(path);
        var buffer = new byte[1 << 20];
        for (var left = size; left > 0; left -= buffer.Length)
        {
            Random.Shared.NextBytes(buffer);
            file.Write(buffer, 0, (int)Math.Min(buffer.Length, left));
        }
        return path;
    }

    [StoreFact]
    public async Task Put_file_then_read_returns_the_same_bytes_even_through_multipart()
    {
        using var store = OpenStore();
        var path = NewFile("big.bin", (12L << 20) + 12345);
        var sha = await Sha256.OfFileAsync(path, default);
        await store.PutFileAsync("svc/1.0/big.bin", path, sha, null, default);

        await using var read = await store.OpenReadAsync("svc/1.0/big.bin", default);
        Assert.Equal(sha, await Sha256.OfStreamAsync(read, default));
    }

    [StoreFact]
    public async Task HasContent_is_true_only_for_the_same_size_and_sha256()
    {
        using var store = OpenStore();
        var path = NewFile("a.bin", 1000);
        var sha = await Sha256.OfFileAsync(path, default);
        Assert.False(await store.HasContentAsync("svc/a.bin", 1000, sha, default));
        await store.PutFileAsync("svc/a.bin", path, sha, null, default);

        Assert.True(await store.HasContentAsync("svc/a.bin", 1000, sha, default));
        Assert.False(await store.HasContentAsync("svc/a.bin", 999, sha, default));
        Assert.False(await store.HasContentAsync("svc/a.bin", 1000, new string('0', 64), default));
    }

    [StoreFact]
    public async Task List_returns_every_key_under_a_prefix_with_its_size_and_nothing_outside_it()
    {
        using var store = OpenStore();
        foreach (var key in new[] { "svc/1.0/b.json", "svc/1.0/a.json", "svc/1.0/deep/c.json", "svc/1.1/a.json", "other/x.json" })
        {
            await store.PutSmallAsync(key, Encoding.UTF8.GetBytes(key), null, default);
        }

        var listed = new List<StoredObject>();
        await foreach (var o in store.ListAsync("svc/1.0/", default)) listed.Add(o);

        Assert.Equal(["svc/1.0/a.json", "svc/1.0/b.json", "svc/1.0/deep/c.json"], listed.Select(o => o.Key));
        Assert.Equal("svc/1.0/deep/c.json".Length, listed[2].Size);
    }

    // Folders as ListFolders is used: each holds an object of its own (a service its index.json). s3rver only reports a
    // common prefix for a folder with a direct child; real S3 reports every one.
    [StoreFact]
    public async Task ListFolders_names_only_the_immediate_children()
    {
        using var store = OpenStore();
        foreach (var key in new[] { "nova/index.json", "nova/1.0/x", "glance/index.json", "glance/1.0/y", "glance/1.0/w", "glance/2.0/z" })
        {
            await store.PutSmallAsync(key, [1], null, default);
        }

        var top = new List<string>();
        await foreach (var f in store.ListFoldersAsync("", default)) top.Add(f);
        var glance = new List<string>();
        await foreach (var f in store.ListFoldersAsync("glance/", default)) glance.Add(f);

        Assert.Equal(["glance", "nova"], top);
        Assert.Equal(["1.0", "2.0"], glance);
    }

    [StoreFact]
    public async Task Delete_removes_a_key_and_deleting_it_again_is_not_an_error()
    {
        using var store = OpenStore();
        await store.PutSmallAsync("svc/k.json", [1, 2, 3], null, default);
        await store.DeleteAsync("svc/k.json", default);
        await store.DeleteAsync("svc/k.json", default);

        Assert.False(await store.ExistsAsync("svc/k.json", default));
        Assert.Null(await store.GetSmallAsync("svc/k.json", default));
        await Assert.ThrowsAsync<StoreNotFoundException>(() => store.OpenReadAsync("svc/k.json", default));
    }

    [StoreFact]
    public async Task GetSmall_returns_the_bytes_written_and_an_etag_that_changes_with_them()
    {
        using var store = OpenStore();
        await store.PutSmallAsync("svc/k.json", [1], null, default);
        var first = await store.GetSmallAsync("svc/k.json", default);
        await store.PutSmallAsync("svc/k.json", [2], null, default);
        var second = await store.GetSmallAsync("svc/k.json", default);

        Assert.Equal([2], second!.Value.Data);
        Assert.NotEqual(first!.Value.ETag, second.Value.ETag);
    }

    [StoreFact]
    public async Task Publish_uploads_the_files_then_lists_the_tag_in_the_index()
    {
        var artifact = await PublishTestArtifacts.WriteSmallAsync(_work.Combine("out"), "nova", "31.0.0");

        var result = await RunAsync("publish", artifact.Directory);

        Assert.True(result.ExitCode == 0, result.ToString());
        // A new directory store says first that it was created; the artifact's line follows.
        Assert.StartsWith("published", PublishCli.Lines(result.Stdout).Last());
        var index = await ListJsonAsync("nova");
        var entry = Assert.Single(index.Tags).Artifacts.Single();
        Assert.Equal(("31.0.0", PublishTestArtifacts.DefaultPlatform, artifact.ArchiveSha256, artifact.ArchiveSize),
            (index.Tags[0].Tag, entry.Platform, entry.ArchiveSha256, entry.ArchiveSize));
        using var store = OpenStore();
        foreach (var file in artifact.Files)
        {
            Assert.True(await store.ExistsAsync(artifact.Id.StoreKey(Path.GetFileName(file)), default), file);
        }
    }

    [StoreFact]
    public async Task List_without_a_service_names_each_service_with_its_tags_and_aliases()
    {
        var nova = await PublishTestArtifacts.WriteSmallAsync(_work.Combine("n"), "nova", "31.0.0");
        var glance = await PublishTestArtifacts.WriteSmallAsync(_work.Combine("g"), "glance", "29.0.0");
        Assert.Equal(0, (await RunAsync("publish", nova.Directory, glance.Directory, "--alias", "stable")).ExitCode);

        var result = await RunAsync("list");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["glance\t1 tags\tstable -> 29.0.0", "nova\t1 tags\tstable -> 31.0.0"], PublishCli.Lines(result.Stdout));
    }

    [StoreFact]
    public async Task Republishing_identical_content_is_reported_unchanged_and_uploads_nothing()
    {
        var artifact = await PublishTestArtifacts.WriteSmallAsync(_work.Combine("out"), "nova", "31.0.0");
        Assert.Equal(0, (await RunAsync("publish", artifact.Directory)).ExitCode);

        var again = await RunAsync("publish", artifact.Directory, "--json");

        Assert.True(again.ExitCode == 0, again.ToString());
        var report = Assert.Single(JsonSerializer.Deserialize(again.Stdout, PublishJsonContext.Default.ListPublishReport)!);
        Assert.Equal(("unchanged", 0L, 3), (report.Status, report.BytesUploaded, report.FilesSkipped));
        Assert.Single((await ListJsonAsync("nova")).History);
    }

    [StoreFact]
    public async Task Publishing_different_content_under_a_published_tag_is_refused_naming_both_hashes()
    {
        var first = await PublishTestArtifacts.WriteSmallAsync(_work.Combine("a"), "nova", "31.0.0");
        var second = await PublishTestArtifacts.WriteSmallAsync(_work.Combine("b"), "nova", "31.0.0", flavour: "rebuilt");
        Assert.Equal(0, (await RunAsync("publish", first.Directory)).ExitCode);

        var result = await RunAsync("publish", second.Directory);

        Assert.Equal((int)ExitCode.Conflict, result.ExitCode);
        var line = Assert.Single(PublishCli.Lines(result.Stderr));
        Assert.Contains("OSVA-P020", line);
        Assert.Contains("31.0.0", line);
        Assert.Contains(first.ArchiveSha256, line);
        Assert.Contains(second.ArchiveSha256, line);
        Assert.Contains("--force", line);
        Assert.Equal(first.ArchiveSha256, (await ListJsonAsync("nova")).Tags[0].Artifacts[0].ArchiveSha256);
    }

    [StoreFact]
    public async Task Force_replaces_the_artifact_and_records_both_hashes_in_the_index_history()
    {
        var first = await PublishTestArtifacts.WriteSmallAsync(_work.Combine("a"), "nova", "31.0.0");
        var second = await PublishTestArtifacts.WriteSmallAsync(_work.Combine("b"), "nova", "31.0.0", flavour: "rebuilt");
        Assert.Equal(0, (await RunAsync("publish", first.Directory)).ExitCode);

        var result = await RunAsync("publish", second.Directory, "--force");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("forced", result.Stdout);
        var index = await ListJsonAsync("nova");
        Assert.Equal(second.ArchiveSha256, index.Tags.Single().Artifacts.Single().ArchiveSha256);
        var forced = Assert.Single(index.History, e => e.Action == "force-publish");
        Assert.Contains(first.ArchiveSha256, forced.Detail);
        Assert.Contains(second.ArchiveSha256, forced.Detail);
        Assert.Equal(0, (await RunAsync("verify", "nova", "31.0.0")).ExitCode);
    }

    [StoreFact]
    public async Task Twenty_concurrent_publishes_of_different_tags_all_end_up_in_the_index()
    {
        var artifacts = await Task.WhenAll(Enumerable.Range(1, 20).Select(i =>
            PublishTestArtifacts.WriteSmallAsync(_work.Combine($"t{i}"), "neutron", $"1.0.{i}")));

        var results = await Task.WhenAll(artifacts.Select(a => RunAsync("publish", a.Directory)));

        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.ToString()));
        var index = await ListJsonAsync("neutron");
        Assert.Equal(Enumerable.Range(1, 20).Select(i => $"1.0.{i}").Order(), index.Tags.Select(t => t.Tag).Order());
        Assert.Equal(20, index.History.Count);
    }

    [StoreFact]
    public async Task Promote_points_an_alias_at_a_tag_and_show_resolves_it()
    {
        foreach (var tag in new[] { "1.0.0", "2.0.0" })
        {
            var a = await PublishTestArtifacts.WriteSmallAsync(_work.Combine(tag), "glance", tag);
            Assert.Equal(0, (await RunAsync("publish", a.Directory)).ExitCode);
        }

        Assert.Equal(0, (await RunAsync("promote", "glance", "stable", "1.0.0")).ExitCode);
        var moved = await RunAsync("promote", "glance", "stable", "2.0.0");
        var shown = await RunAsync("show", "glance", "stable", "--json");

        Assert.True(moved.ExitCode == 0, moved.ToString());
        Assert.Equal("2.0.0", JsonSerializer.Deserialize(shown.Stdout, PublishJsonContext.Default.IndexTag)!.Tag);
        var index = await ListJsonAsync("glance");
        Assert.Equal("2.0.0", index.Aliases["stable"]);
        Assert.Contains(index.History, e => e.Action == "promote" && e.Detail == "stable -> 2.0.0 (was 1.0.0)");
    }

    [StoreFact]
    public async Task Promote_refuses_a_tag_that_is_not_published()
    {
        var a = await PublishTestArtifacts.WriteSmallAsync(_work.Combine("a"), "glance", "1.0.0");
        Assert.Equal(0, (await RunAsync("publish", a.Directory)).ExitCode);

        var result = await RunAsync("promote", "glance", "stable", "9.9.9");

        Assert.Equal((int)ExitCode.InvalidInput, result.ExitCode);
        Assert.Contains("OSVA-P041", Assert.Single(PublishCli.Lines(result.Stderr)));
    }

    [StoreFact]
    public async Task Verify_refuses_an_archive_changed_in_the_store_naming_both_hashes()
    {
        var a = await PublishTestArtifacts.WriteSmallAsync(_work.Combine("a"), "nova", "31.0.0");
        Assert.Equal(0, (await RunAsync("publish", a.Directory)).ExitCode);
        Assert.Equal(0, (await RunAsync("verify", "nova", "31.0.0")).ExitCode);
        var tampered = _work.Combine("tampered.tar.gz");
        var bytes = await File.ReadAllBytesAsync(a.ArchivePath);
        bytes[^10] ^= 0xff;
        await File.WriteAllBytesAsync(tampered, bytes);
        using (var store = OpenStore())
        {
            await store.PutFileAsync(a.Id.StoreKey(a.Id.ArchiveFileName), tampered, Sha256.Of(bytes), null, default);
        }

        var result = await RunAsync("verify", "nova", "31.0.0");

        Assert.Equal((int)ExitCode.VerificationFailed, result.ExitCode);
        var line = Assert.Single(PublishCli.Lines(result.Stderr));
        Assert.Contains(Sha256.Of(bytes), line);
        Assert.Contains(a.ArchiveSha256, line);
    }

    [StoreFact]
    public async Task Signed_artifact_is_published_with_its_sig_and_verify_checks_it_with_the_public_key()
    {
        var a = await PublishTestArtifacts.WriteSmallAsync(_work.Combine("a"), "nova", "31.0.0");
        using var release = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        using var other = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var releasePub = _work.Combine("release.pub.pem");
        var otherPub = _work.Combine("other.pub.pem");
        await File.WriteAllTextAsync(releasePub, release.ExportSubjectPublicKeyInfoPem());
        await File.WriteAllTextAsync(otherPub, other.ExportSubjectPublicKeyInfoPem());
        await File.WriteAllTextAsync(a.ManifestPath + ".sig", Signatures.Sign(await File.ReadAllBytesAsync(a.ManifestPath), release));
        var releaseKey = _work.Combine("release.key");
        await File.WriteAllTextAsync(releaseKey, release.ExportECPrivateKeyPem());

        // The index is signed too: verify --public-key checks both.
        Assert.Equal(0, (await RunAsync("publish", a.Directory, "--signing-key", releaseKey)).ExitCode);
        var valid = await RunAsync("verify", "nova", "31.0.0", "--public-key", releasePub);
        Assert.True(valid.ExitCode == 0 && valid.Stdout.Contains("signature valid", StringComparison.Ordinal), valid.ToString());

        // The index is checked first, so another key fails there.
        var wrongKey = await RunAsync("verify", "nova", "31.0.0", "--public-key", otherPub);
        Assert.Equal((int)ExitCode.VerificationFailed, wrongKey.ExitCode);
        Assert.Contains("OSVA-P067", Assert.Single(PublishCli.Lines(wrongKey.Stderr)));

        // A .sig that is not even base64 is the same one-line refusal, not a crash.
        var garbled = _work.Combine("garbled.sig");
        await File.WriteAllTextAsync(garbled, "not base64 at all\n");
        using (var store = OpenStore())
        {
            await store.PutFileAsync(a.Id.StoreKey(a.Id.SignatureFileName), garbled, await Sha256.OfFileAsync(garbled, default), null, default);
        }
        var broken = await RunAsync("verify", "nova", "31.0.0", "--public-key", releasePub);
        Assert.Equal((int)ExitCode.VerificationFailed, broken.ExitCode);
        Assert.Contains("OSVA-P064", Assert.Single(PublishCli.Lines(broken.Stderr)));
    }

    [StoreFact]
    public async Task Yank_takes_the_tag_out_of_the_index_and_deletes_its_files_and_aliases()
    {
        foreach (var tag in new[] { "1.0.0", "2.0.0" })
        {
            var a = await PublishTestArtifacts.WriteSmallAsync(_work.Combine(tag), "nova", tag);
            Assert.Equal(0, (await RunAsync("publish", a.Directory, "--alias", tag == "1.0.0" ? "stable" : "candidate")).ExitCode);
        }

        var dry = await RunAsync("yank", "nova", "1.0.0", "--dry-run");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        Assert.Matches(@"^would yank nova 1\.0\.0 \([^)]+\), its aliases stable and [1-9][0-9]* files$", dry.Stdout.Trim());
        Assert.Equal(["1.0.0", "2.0.0"], (await ListJsonAsync("nova")).Tags.Select(t => t.Tag));
        // Not from a terminal (the test's stdin is a pipe): it needs --yes, and changes nothing without it.
        var unconfirmed = await RunAsync("yank", "nova", "1.0.0");
        Assert.True(unconfirmed.ExitCode == 2 && unconfirmed.Stderr.Contains("OSVA-P085", StringComparison.Ordinal), unconfirmed.ToString());
        Assert.Equal(["1.0.0", "2.0.0"], (await ListJsonAsync("nova")).Tags.Select(t => t.Tag));

        var result = await RunAsync("yank", "nova", "1.0.0", "--yes");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("yanked nova 1.0.0 (", result.Stdout, StringComparison.Ordinal);
        Assert.Contains(", its aliases stable and ", result.Stdout, StringComparison.Ordinal);
        var index = await ListJsonAsync("nova");
        Assert.Equal(["2.0.0"], index.Tags.Select(t => t.Tag));
        Assert.Equal(["candidate"], index.Aliases.Keys);
        Assert.Contains(index.History, e => e.Action == "yank" && e.Tag == "1.0.0" && e.Detail!.EndsWith("; dropped aliases stable", StringComparison.Ordinal));
        using var store = OpenStore();
        await foreach (var o in store.ListAsync("nova/1.0.0/", default)) Assert.Fail($"{o.Key} survived the yank");
    }

    [StoreFact]
    public async Task Mirror_writes_a_plain_directory_that_verifies_over_http()
    {
        var a = await PublishTestArtifacts.WriteSmallAsync(_work.Combine("a"), "nova", "31.0.0");
        var b = await PublishTestArtifacts.WriteSmallAsync(_work.Combine("b"), "nova", "32.0.0");
        Assert.Equal(0, (await RunAsync("publish", a.Directory, b.Directory)).ExitCode);
        var mirror = _work.Combine("mirror");

        var first = await RunAsync("mirror", "--to", mirror);
        Assert.Equal(0, (await RunAsync("yank", "nova", "31.0.0", "--yes")).ExitCode);
        var second = await RunAsync("mirror", "--to", mirror, "--json");

        Assert.True(first.ExitCode == 0, first.ToString());
        var report = JsonSerializer.Deserialize(second.Stdout, PublishJsonContext.Default.MirrorReport)!;
        Assert.Equal((0, 3), (report.FilesCopied, report.FilesRemoved));
        Assert.False(Directory.Exists(Path.Combine(mirror, "nova", ".osva")));
        Assert.False(Directory.Exists(Path.Combine(mirror, "nova", "31.0.0")));
        using var http = new PublishStaticHttpServer(mirror);
        var verify = await PublishCli.RunAsync(["verify", "nova", "32.0.0", "--store", http.Url], fixture.Environment);
        Assert.True(verify.ExitCode == 0, verify.ToString());
    }

    public void Dispose()
    {
        _work.Dispose();
        GC.SuppressFinalize(this);
    }
}
