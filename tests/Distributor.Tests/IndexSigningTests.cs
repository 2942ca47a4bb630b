using System.Text;
using System.Text.Json;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Distributor.Stores;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Distributor.Tests;

public sealed class DirectoryIndexSigningTests(DirectoryStoreFixture fixture) : IndexSigningTests(fixture), IClassFixture<DirectoryStoreFixture>;

public sealed class S3IndexSigningTests(S3StoreFixture fixture) : IndexSigningTests(fixture), IClassFixture<S3StoreFixture>, IUsesS3;

/// <summary>
/// The signed, versioned index as osva-publish writes it, run against a directory and the real s3rver: the real binary,
/// keys from its own keygen, signatures checked with the real openssl as an operator would.
/// </summary>
public abstract class IndexSigningTests(PublishStoreFixture fixture) : IDisposable
{
    private readonly TempDirectory _work = new("index-signing");
    private readonly string _location = fixture.NewLocation();

    private IObjectStore OpenStore()
    {
        var location = StoreLocation.Parse(_location);
        return location.Kind == StoreKind.S3
            ? new S3ObjectStore(location, new S3Settings(fixture.Endpoint, null, true).CreateClient(), UploadSettings.Default)
            : new DirectoryObjectStore(location);
    }

    /// <summary>The real binary, with OSVA_SIGNING_KEY empty: a key comes only from the arguments.</summary>
    private Task<ProcessResult> RunAsync(params string[] args) => RunWithEnvironmentKeyAsync("", args);

    private Task<ProcessResult> RunWithEnvironmentKeyAsync(string signingKey, params string[] args) =>
        PublishCli.RunAsync([.. args, .. PublishCli.StoreArgs(_location, fixture.Endpoint)],
            new Dictionary<string, string>(fixture.Environment) { ["OSVA_SIGNING_KEY"] = signingKey });

    private static void Ok(ProcessResult result) => Assert.True(result.ExitCode == 0, result.ToString());

    private async Task<(string Key, string Pub)> KeygenAsync(string name)
    {
        var prefix = _work.Combine(name);
        Ok(await PublishCli.RunAsync(["keygen", "--out", prefix], fixture.Environment));
        return (prefix + ".key", prefix + ".pub");
    }

    private async Task<PublishTestArtifact> ArtifactAsync(string tag, string flavour = "") =>
        await PublishTestArtifacts.WriteSmallAsync(_work.Combine($"{tag}-{flavour}-{Guid.NewGuid():N}"), "nova", tag, flavour: flavour);

    /// <summary>An artifact whose manifest is signed as osva-build --signing-key signs it, so verify --public-key passes.</summary>
    private async Task<PublishTestArtifact> SignedArtifactAsync(string tag, string key)
    {
        var artifact = await ArtifactAsync(tag);
        using var signer = Signatures.LoadKey(key);
        await File.WriteAllTextAsync(artifact.ManifestPath + ".sig", Signatures.Sign(await File.ReadAllBytesAsync(artifact.ManifestPath), signer));
        return artifact;
    }

    private async Task<byte[]> ReadAsync(string key)
    {
        using var store = OpenStore();
        return (await store.GetSmallAsync(key, default))?.Data ?? throw new Xunit.Sdk.XunitException($"{key} is not in the store");
    }

    private async Task PutAsync(string key, byte[] data)
    {
        using var store = OpenStore();
        await store.PutSmallAsync(key, data, null, default);
    }

    private async Task<StoreIndex> IndexAsync() => JsonSerializer.Deserialize(await ReadAsync(StoreKeys.Index("nova")), ArtifactJsonContext.Default.StoreIndex)!;

    /// <summary>What an operator runs: base64-decode the .sig and let openssl check it against the file.</summary>
    private async Task<ProcessResult> OpensslVerifyAsync(string pub, byte[] file, byte[] signature)
    {
        var dir = _work.Combine($"openssl-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        await File.WriteAllBytesAsync(Path.Combine(dir, "index.json"), file);
        await File.WriteAllBytesAsync(Path.Combine(dir, "sig.der"), Convert.FromBase64String(Encoding.ASCII.GetString(signature)));
        return await ProcessRunner.RunAsync("openssl", ["dgst", "-sha256", "-verify", pub, "-signature", Path.Combine(dir, "sig.der"), Path.Combine(dir, "index.json")]);
    }

    private async Task AssertOpensslVerifiesIndexAsync(string pub)
    {
        var verified = await OpensslVerifyAsync(pub, await ReadAsync(StoreKeys.Index("nova")), await ReadAsync(StoreKeys.IndexSignature("nova")));
        Assert.True(verified.ExitCode == 0 && verified.Stdout.Contains("Verified OK", StringComparison.Ordinal), verified.ToString());
    }

    /// <summary>Every key in the store with the sha256 of its content, to show a refused command changed nothing.</summary>
    private async Task<Dictionary<string, string>> SnapshotAsync()
    {
        using var store = OpenStore();
        var snapshot = new Dictionary<string, string>();
        await foreach (var o in store.ListAsync("", default)) snapshot[o.Key] = Sha256.Of((await store.GetSmallAsync(o.Key, default))!.Value.Data);
        return snapshot;
    }

    private static void AssertExpiresIn(TimeSpan expected, StoreIndex index)
    {
        var expires = Assert.NotNull(index.Expires);
        var actual = expires - DateTimeOffset.UtcNow;
        Assert.True(Math.Abs((actual - expected).TotalMinutes) < 5, $"expires {expires:O}, {actual} from now, expected {expected}");
    }

    [StoreFact]
    public async Task Version_grows_by_one_per_change_and_not_on_a_no_op_and_each_change_sets_the_expiry()
    {
        var first = await ArtifactAsync("1.0.0");
        var second = await ArtifactAsync("2.0.0");
        var versions = new List<long>();

        Ok(await RunAsync("publish", first.Directory));
        versions.Add((await IndexAsync()).Version);
        AssertExpiresIn(TimeSpan.FromDays(90), await IndexAsync());
        Ok(await RunAsync("publish", first.Directory));
        versions.Add((await IndexAsync()).Version);
        Ok(await RunAsync("publish", second.Directory, "--index-expires", "12h"));
        versions.Add((await IndexAsync()).Version);
        AssertExpiresIn(TimeSpan.FromHours(12), await IndexAsync());
        Ok(await RunAsync("promote", "nova", "stable", "2.0.0"));
        versions.Add((await IndexAsync()).Version);
        Ok(await RunAsync("promote", "nova", "stable", "2.0.0"));
        versions.Add((await IndexAsync()).Version);
        Ok(await RunAsync("yank", "nova", "1.0.0", "--yes", "--index-expires", "7d"));
        versions.Add((await IndexAsync()).Version);
        AssertExpiresIn(TimeSpan.FromDays(7), await IndexAsync());

        Assert.Equal([1L, 1, 2, 3, 3, 4], versions);
        Assert.False(await OpenStore().ExistsAsync(StoreKeys.IndexSignature("nova"), default), "an unsigned store gained a signature");
    }

    [StoreFact]
    public async Task A_late_write_of_an_older_index_is_outgrown_by_the_next_version()
    {
        Ok(await RunAsync("publish", (await ArtifactAsync("1.0.0")).Directory));
        var old = await ReadAsync(StoreKeys.Index("nova"));
        Ok(await RunAsync("publish", (await ArtifactAsync("2.0.0")).Directory));
        Ok(await RunAsync("publish", (await ArtifactAsync("3.0.0")).Directory));
        // A slow publisher on a server that ignores If-Match puts its version 1 over version 3.
        await PutAsync(StoreKeys.Index("nova"), old);

        Ok(await RunAsync("promote", "nova", "stable", "1.0.0"));

        var index = await IndexAsync();
        Assert.Equal(4, index.Version);
        Assert.Equal(["1.0.0", "2.0.0", "3.0.0"], index.Tags.Select(t => t.Tag));
    }

    [StoreFact]
    public async Task Signed_changes_write_an_index_signature_that_openssl_verifies()
    {
        var (key, pub) = await KeygenAsync("release");

        var published = await RunAsync("publish", (await ArtifactAsync("1.0.0")).Directory, "--signing-key", key);
        Ok(published);
        await AssertOpensslVerifiesIndexAsync(pub);
        // OSVA_SIGNING_KEY names the key as well as the option does.
        Ok(await RunWithEnvironmentKeyAsync(key, "promote", "nova", "stable", "1.0.0"));
        await AssertOpensslVerifiesIndexAsync(pub);

        Assert.Equal(2, (await IndexAsync()).Version);
        Assert.Empty(published.Stderr);
    }

    [StoreFact]
    public async Task Concurrent_signed_publishes_all_end_up_in_an_index_whose_signature_verifies()
    {
        var (key, pub) = await KeygenAsync("release");
        var artifacts = await Task.WhenAll(Enumerable.Range(1, 6).Select(i => ArtifactAsync($"1.0.{i}")));

        var results = await Task.WhenAll(artifacts.Select(a => RunAsync("publish", a.Directory, "--signing-key", key)));

        Assert.All(results, Ok);
        var index = await IndexAsync();
        Assert.Equal(Enumerable.Range(1, 6).Select(i => $"1.0.{i}"), index.Tags.Select(t => t.Tag).Order());
        Assert.InRange(index.Version, 1, 100);
        await AssertOpensslVerifiesIndexAsync(pub);
    }

    [StoreFact]
    public async Task A_change_without_a_key_to_a_signed_index_is_refused_and_leaves_the_store_unchanged()
    {
        var (key, _) = await KeygenAsync("release");
        Ok(await RunAsync("publish", (await ArtifactAsync("1.0.0")).Directory, "--signing-key", key));
        var before = await SnapshotAsync();
        var other = await ArtifactAsync("2.0.0");

        var results = new[]
        {
            await RunAsync("publish", other.Directory),
            await RunAsync("promote", "nova", "stable", "1.0.0"),
            await RunAsync("yank", "nova", "1.0.0", "--yes"),
        };

        foreach (var result in results)
        {
            Assert.True(result.ExitCode == (int)ExitCode.Conflict, result.ToString());
            var line = Assert.Single(PublishCli.Lines(result.Stderr));
            Assert.Contains("OSVA-P081", line);
            Assert.Contains("--signing-key", line);
        }
        Assert.Equal(before, await SnapshotAsync());
    }

    [StoreFact]
    public async Task A_signature_left_stale_by_an_interrupted_change_is_repaired_by_the_next_signed_change_and_reported()
    {
        var (key, pub) = await KeygenAsync("release");
        Ok(await RunAsync("publish", (await ArtifactAsync("1.0.0")).Directory, "--signing-key", key));
        var oldSignature = await ReadAsync(StoreKeys.IndexSignature("nova"));
        Ok(await RunAsync("publish", (await ArtifactAsync("2.0.0")).Directory, "--signing-key", key));
        // The crash: version 2's index.json written, its signature not.
        await PutAsync(StoreKeys.IndexSignature("nova"), oldSignature);
        Assert.NotEqual(0, (await OpensslVerifyAsync(pub, await ReadAsync(StoreKeys.Index("nova")), oldSignature)).ExitCode);

        var repaired = await RunAsync("promote", "nova", "stable", "2.0.0", "--signing-key", key);

        Ok(repaired);
        Assert.Contains("repaired nova/index.json.sig", repaired.Stderr);
        await AssertOpensslVerifiesIndexAsync(pub);
        Assert.Equal(3, (await IndexAsync()).Version);
    }

    [StoreFact]
    public async Task Sign_index_renews_the_index_and_moves_index_and_manifests_to_a_new_key()
    {
        var (oldKey, oldPub) = await KeygenAsync("old");
        var (newKey, newPub) = await KeygenAsync("new");
        var artifact = await ArtifactAsync("1.0.0");
        Ok(await RunAsync("publish", artifact.Directory, "--signing-key", oldKey, "--index-expires", "1h"));

        var signed = await RunAsync("sign-index", "nova", "--signing-key", newKey, "--index-expires", "30d", "--resign-manifests", "--json");

        Ok(signed);
        var report = JsonSerializer.Deserialize(signed.Stdout, PublishJsonContext.Default.SignIndexReport)!;
        Assert.Equal((2L, 1), (report.Version, report.ManifestsSigned));
        var index = await IndexAsync();
        Assert.Equal(2, index.Version);
        AssertExpiresIn(TimeSpan.FromDays(30), index);
        await AssertOpensslVerifiesIndexAsync(newPub);
        var manifestKey = artifact.Id.StoreKey(artifact.Id.ManifestFileName);
        var manifestVerified = await OpensslVerifyAsync(newPub, await ReadAsync(manifestKey), await ReadAsync(manifestKey + ".sig"));
        Assert.True(manifestVerified.ExitCode == 0, manifestVerified.ToString());
        Ok(await RunAsync("verify", "nova", "1.0.0", "--public-key", newPub));
        var oldKeyOnly = await RunAsync("verify", "nova", "1.0.0", "--public-key", oldPub);
        Assert.Equal((int)ExitCode.VerificationFailed, oldKeyOnly.ExitCode);
        Assert.Contains("OSVA-P067", oldKeyOnly.Stderr);
    }

    [StoreFact]
    public async Task Sign_index_refuses_to_sign_a_manifest_changed_in_the_store()
    {
        var (key, _) = await KeygenAsync("release");
        var artifact = await ArtifactAsync("1.0.0");
        Ok(await RunAsync("publish", artifact.Directory, "--signing-key", key));
        var manifestKey = artifact.Id.StoreKey(artifact.Id.ManifestFileName);
        var manifest = await ReadAsync(manifestKey);
        await PutAsync(manifestKey, [.. manifest, .. " "u8]);

        var result = await RunAsync("sign-index", "nova", "--signing-key", key, "--resign-manifests");

        Assert.Equal((int)ExitCode.VerificationFailed, result.ExitCode);
        Assert.Contains("OSVA-P060", Assert.Single(PublishCli.Lines(result.Stderr)));
        Assert.False(await OpenStore().ExistsAsync(manifestKey + ".sig", default), "a changed manifest was signed");
        Assert.Equal(1, (await IndexAsync()).Version);
    }

    [StoreFact]
    public async Task Verify_reports_version_expiry_and_signer_and_refuses_a_tampered_or_expired_index()
    {
        var (key, pub) = await KeygenAsync("release");
        var (_, otherPub) = await KeygenAsync("other");
        Ok(await RunAsync("publish", (await SignedArtifactAsync("1.0.0", key)).Directory, "--signing-key", key));

        var good = await RunAsync("verify", "nova", "1.0.0", "--public-key", otherPub, "--public-key", pub);
        Ok(good);
        string keyId;
        using (var release = Signatures.LoadKey(pub)) keyId = Signatures.KeyId(release);
        Assert.Matches(@"^ok index nova/index\.json  version 1  expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  signature valid \(key sha256:[0-9a-f]{64}\)$", PublishCli.Lines(good.Stdout)[0]);
        Assert.EndsWith($"(key {keyId})", PublishCli.Lines(good.Stdout)[0]);

        // An alias added to the store's index.json by someone without the key.
        var index = await IndexAsync();
        index.Aliases = new Dictionary<string, string> { ["stable"] = "1.0.0" };
        await PutAsync(StoreKeys.Index("nova"), ArtifactJson.Serialize(index));
        var tampered = await RunAsync("verify", "nova", "1.0.0", "--public-key", pub);
        Assert.Equal((int)ExitCode.VerificationFailed, tampered.ExitCode);
        Assert.Contains("OSVA-P067", Assert.Single(PublishCli.Lines(tampered.Stderr)));

        Ok(await RunAsync("sign-index", "nova", "--signing-key", key, "--index-expires", "1s"));
        await Task.Delay(TimeSpan.FromSeconds(2));
        var expired = await RunAsync("verify", "nova", "1.0.0");
        Assert.Equal((int)ExitCode.VerificationFailed, expired.ExitCode);
        Assert.Contains("OSVA-P068", Assert.Single(PublishCli.Lines(expired.Stderr)));
    }

    [StoreFact]
    public async Task Mirror_carries_the_index_signature_and_verifies_over_http()
    {
        var (key, pub) = await KeygenAsync("release");
        Ok(await RunAsync("publish", (await SignedArtifactAsync("1.0.0", key)).Directory, "--signing-key", key));
        var mirror = _work.Combine("mirror");

        Ok(await RunAsync("mirror", "--to", mirror));

        Assert.Equal(await ReadAsync(StoreKeys.IndexSignature("nova")), await File.ReadAllBytesAsync(Path.Combine(mirror, "nova", "index.json.sig")));
        Assert.Equal(await ReadAsync(StoreKeys.Index("nova")), await File.ReadAllBytesAsync(Path.Combine(mirror, "nova", "index.json")));
        using var http = new PublishStaticHttpServer(mirror);
        var verify = await PublishCli.RunAsync(["verify", "nova", "1.0.0", "--store", http.Url, "--public-key", pub], fixture.Environment);
        Assert.True(verify.ExitCode == 0 && verify.Stdout.Contains("signature valid (key sha256:", StringComparison.Ordinal), verify.ToString());
    }

    [StoreFact]
    public async Task After_a_yank_other_bytes_under_the_same_tag_need_force_and_the_history_names_both_hashes()
    {
        var first = await ArtifactAsync("1.0.0");
        var rebuilt = await ArtifactAsync("1.0.0", flavour: "rebuilt");
        Ok(await RunAsync("publish", first.Directory));
        Ok(await RunAsync("yank", "nova", "1.0.0", "--yes"));

        var refused = await RunAsync("publish", rebuilt.Directory);
        Assert.Equal((int)ExitCode.Conflict, refused.ExitCode);
        var line = Assert.Single(PublishCli.Lines(refused.Stderr));
        Assert.Contains("OSVA-P020", line);
        Assert.Contains("yanked", line);
        Assert.Contains(first.ArchiveSha256, line);
        Assert.Contains(rebuilt.ArchiveSha256, line);
        Assert.Empty((await IndexAsync()).Tags);

        var forced = await RunAsync("publish", rebuilt.Directory, "--force");
        Ok(forced);
        Assert.StartsWith("forced", forced.Stdout);
        var index = await IndexAsync();
        Assert.Equal(rebuilt.ArchiveSha256, index.Tags.Single().Artifacts.Single().ArchiveSha256);
        var history = Assert.Single(index.History, e => e.Action == "force-publish");
        Assert.Equal($"replaced sha256 {first.ArchiveSha256} (yanked) with {rebuilt.ArchiveSha256}", history.Detail);
    }

    [StoreFact]
    public async Task After_a_yank_the_same_bytes_come_back_only_with_force_and_the_history_says_so()
    {
        var first = await ArtifactAsync("1.0.0");
        Ok(await RunAsync("publish", first.Directory));
        Ok(await RunAsync("yank", "nova", "1.0.0", "--yes"));

        var refused = await RunAsync("publish", first.Directory);
        Assert.Equal((int)ExitCode.Conflict, refused.ExitCode);
        Assert.Contains("was published and yanked", Assert.Single(PublishCli.Lines(refused.Stderr)));
        var again = await RunAsync("publish", first.Directory, "--force");

        Ok(again);
        Assert.StartsWith("forced", again.Stdout);
        var index = await IndexAsync();
        Assert.Equal(first.ArchiveSha256, index.Tags.Single().Artifacts.Single().ArchiveSha256);
        Assert.Equal($"republished sha256 {first.ArchiveSha256} after its yank", Assert.Single(index.History, e => e.Action == "force-publish").Detail);
    }

    public void Dispose()
    {
        _work.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary><c>osva-publish keygen</c>: the files an operator gets, checked with the real openssl.</summary>
public sealed class KeygenTests : IDisposable
{
    private readonly TempDirectory _work = new("keygen");

    [Fact]
    public async Task Keygen_writes_a_private_key_only_its_owner_reads_and_a_public_key_and_prints_the_openssl_key_id()
    {
        var prefix = _work.Combine("keys/release");

        var result = await PublishCli.RunAsync(["keygen", "--out", prefix], new Dictionary<string, string>());

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(prefix + ".key"));
        Assert.True(File.GetUnixFileMode(prefix + ".pub").HasFlag(UnixFileMode.OtherRead));
        var der = await ProcessRunner.RunAsync("sh", ["-c", $"openssl pkey -pubin -in '{prefix}.pub' -outform DER | sha256sum"]);
        Assert.True(der.ExitCode == 0, der.ToString());
        Assert.Contains($"key id sha256:{der.Stdout.Split(' ')[0]}", result.Stdout);
        // The private key is what openssl derives the public one from.
        var derived = await ProcessRunner.RunAsync("openssl", ["ec", "-in", prefix + ".key", "-pubout"]);
        Assert.Equal(await File.ReadAllTextAsync(prefix + ".pub"), derived.Stdout);
    }

    [Fact]
    public async Task Keygen_refuses_to_overwrite_either_file()
    {
        var prefix = _work.Combine("release");
        Assert.Equal(0, (await PublishCli.RunAsync(["keygen", "--out", prefix], new Dictionary<string, string>())).ExitCode);
        var key = await File.ReadAllBytesAsync(prefix + ".key");
        File.Delete(prefix + ".pub");
        var pub = _work.Combine("other");
        await File.WriteAllTextAsync(pub + ".pub", "kept");

        var again = await PublishCli.RunAsync(["keygen", "--out", prefix], new Dictionary<string, string>());
        var pubTaken = await PublishCli.RunAsync(["keygen", "--out", pub], new Dictionary<string, string>());

        foreach (var result in new[] { again, pubTaken })
        {
            Assert.True(result.ExitCode == (int)ExitCode.Conflict, result.ToString());
            Assert.Contains("OSVA-P083", Assert.Single(PublishCli.Lines(result.Stderr)));
        }
        Assert.Equal(key, await File.ReadAllBytesAsync(prefix + ".key"));
        Assert.Equal("kept", await File.ReadAllTextAsync(pub + ".pub"));
        Assert.False(File.Exists(pub + ".key"), "keygen wrote a private key beside a public key it refused to replace");
    }

    [Fact]
    public async Task Index_expires_that_is_not_a_duration_is_a_usage_error()
    {
        foreach (var bad in new[] { "90", "0d", "12y", "-1h", "3651d" })
        {
            var result = await PublishCli.RunAsync(["promote", "nova", "stable", "1.0.0", "--store", _work.Combine("store"), "--index-expires", bad],
                new Dictionary<string, string>());
            Assert.True(result.ExitCode == (int)ExitCode.Usage, $"{bad}: {result}");
            Assert.Contains("--index-expires", result.Stderr);
        }
    }

    public void Dispose()
    {
        _work.Dispose();
        GC.SuppressFinalize(this);
    }
}
