using System.Text;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Artifact.Tests;

public sealed class ContractTests
{
    private static Manifest SampleManifest() => new()
    {
        Service = "nova",
        Tag = "31.0.0",
        Platform = new ManifestPlatform
        {
            Id = "debian-12-x86_64-py3.11", Distro = "debian", DistroVersion = "12", Arch = "x86_64",
            PythonVersion = "3.11", PythonPath = "/usr/bin/python3.11", Glibc = "2.36",
        },
        InstallPath = "/openstack/venvs/nova-31.0.0",
        BuildImage = new BuildImage("osva/debian-12:abc", "sha256:0123"),
        BuildInputsHash = "sha256:beef",
        Packages = [new PackageEntry("nova", "31.0.0", new string('a', 64))],
        ConsoleScripts = ["nova-manage"],
        Archive = new ArchiveInfo { FileName = "nova-31.0.0-debian-12-x86_64-py3.11.tar.gz", Sha256 = new string('b', 64), TarSha256 = new string('c', 64) },
        TreeHash = "sha256:dead",
        Systemd = new SystemdHints { Units = [new SystemdUnit("nova-compute", "nova-compute")] },
        Tool = new ToolInfo("osva-build", "0.1.0"),
    };

    [Fact]
    public async Task Manifest_round_trips_through_source_generated_json_in_camel_case()
    {
        var bytes = ArtifactJson.Serialize(SampleManifest());
        var text = Encoding.UTF8.GetString(bytes);
        Assert.Contains("\"schemaVersion\": 1", text, StringComparison.Ordinal);
        Assert.Contains("\"installPath\": \"/openstack/venvs/nova-31.0.0\"", text, StringComparison.Ordinal);

        var back = await ArtifactJson.ReadManifestAsync(new MemoryStream(bytes), "m.json", CancellationToken.None);

        Assert.Equal(SampleManifest().Archive, back.Archive);
        Assert.Equal("nova-compute", Assert.Single(back.Systemd!.Units).Name);
        Assert.Equal(new ArtifactId("nova", "31.0.0", PlatformId.Parse("debian-12-x86_64-py3.11")), back.Id);
    }

    [Fact]
    public async Task Manifest_from_a_newer_schema_is_refused_with_upgrade_hint()
    {
        var bytes = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(ArtifactJson.Serialize(SampleManifest()))
            .Replace("\"schemaVersion\": 1", "\"schemaVersion\": 9", StringComparison.Ordinal));

        var e = await Assert.ThrowsAsync<ArtifactFormatException>(() => ArtifactJson.ReadManifestAsync(new MemoryStream(bytes), "m.json", CancellationToken.None));

        Assert.Equal("OSVA-A011", e.Code);
        Assert.Contains("upgrade", e.Hint, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{", "truncated")]
    [InlineData("[]", "not an object")]
    [InlineData("{\"service\": \"nova\"}", "required members missing")]
    public async Task Manifest_that_is_damaged_names_the_file(string json, string reason)
    {
        var e = await Assert.ThrowsAsync<ArtifactFormatException>(() =>
            ArtifactJson.ReadManifestAsync(new MemoryStream(Encoding.UTF8.GetBytes(json)), "nova.manifest.json", CancellationToken.None));

        Assert.Contains("nova.manifest.json", e.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(reason));
    }

    [Fact]
    public void Index_resolves_aliases_and_tags()
    {
        var index = new StoreIndex
        {
            Service = "nova",
            Tags = [new IndexTag { Tag = "31.0.0" }, new IndexTag { Tag = "32.0.0" }],
            Aliases = new Dictionary<string, string> { ["stable"] = "31.0.0" },
        };

        Assert.Equal("31.0.0", index.Resolve("stable"));
        Assert.Equal("32.0.0", index.Resolve("32.0.0"));
        Assert.Null(index.Resolve("33.0.0"));
    }

    [Theory]
    [InlineData("s3://osva-releases/prod/eu", StoreKind.S3, "osva-releases", "prod/eu/")]
    [InlineData("s3://osva-releases", StoreKind.S3, "osva-releases", "")]
    [InlineData("https://repo.example/osva", StoreKind.Http, "", "")]
    [InlineData("/srv/osva", StoreKind.Directory, "", "")]
    [InlineData("file:///srv/osva", StoreKind.Directory, "", "")]
    public void Store_location_is_parsed(string text, StoreKind kind, string bucket, string prefix)
    {
        var location = StoreLocation.Parse(text);

        Assert.Equal(kind, location.Kind);
        Assert.Equal(bucket, location.Bucket);
        Assert.Equal(prefix, location.Prefix);
    }

    [Theory]
    [InlineData("s3://", "no bucket")]
    [InlineData("ftp://host/x", "unsupported scheme")]
    public void Store_location_that_is_not_supported_is_refused(string text, string reason)
    {
        Assert.Throws<OsvaException>(() => StoreLocation.Parse(text));
        Assert.False(string.IsNullOrEmpty(reason));
    }

    [Fact]
    public async Task Directory_reader_reports_a_missing_key_as_not_found()
    {
        using var dir = new TempDirectory("store");
        using var reader = new DirectoryStoreReader(StoreLocation.Parse(dir.Path));

        var e = await Assert.ThrowsAsync<StoreNotFoundException>(() => reader.OpenReadAsync("nova/index.json", CancellationToken.None));
        Assert.Equal(ExitCode.StoreError, e.ExitCode);
        Assert.Null(await reader.ReadIndexAsync("nova", CancellationToken.None));
    }

    [Fact]
    public async Task Atomic_write_leaves_the_old_file_and_no_temp_file_when_writing_fails()
    {
        using var dir = new TempDirectory("atomic");
        var path = dir.Combine("state.json");
        await File.WriteAllTextAsync(path, "old");

        await Assert.ThrowsAsync<IOException>(() => AtomicFile.WriteAsync(path, async (s, ct) =>
        {
            await s.WriteAsync("new-partial"u8.ToArray(), ct);
            throw new IOException("disk full");
        }, CancellationToken.None));

        Assert.Equal("old", await File.ReadAllTextAsync(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public async Task Atomic_write_sets_the_mode_before_the_file_appears()
    {
        using var dir = new TempDirectory("atomic");
        var path = dir.Combine("nova_osva");

        await AtomicFile.WriteAllTextAsync(path, "Defaults secure_path=\"/x\"\n", CancellationToken.None, UnixFileMode.UserRead | UnixFileMode.GroupRead);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead, File.GetUnixFileMode(path));
    }
}

public sealed class StoreErrorTests
{
    [Fact]
    public void Unreachable_endpoint_says_to_check_the_endpoint()
    {
        var e = Store.StoreErrors.FromS3(new HttpRequestException("Connection refused (127.0.0.1:1)"), "read", "osva", "nova/index.json");

        Assert.Equal("OSVA-S013", e.Code);
        Assert.Contains("Connection refused", e.Message, StringComparison.Ordinal);
        Assert.Contains("AWS_ENDPOINT_URL", e.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Access_denied_names_the_s3_actions_needed()
    {
        var denied = new Amazon.S3.AmazonS3Exception("Access Denied") { StatusCode = System.Net.HttpStatusCode.Forbidden, ErrorCode = "AccessDenied" };

        var e = Store.StoreErrors.FromS3(denied, "write", "osva", "nova/31.0.0/x.tar.gz");

        Assert.Equal("OSVA-S012", e.Code);
        Assert.Contains("s3:PutObject", e.Hint, StringComparison.Ordinal);
        Assert.Contains("arn:aws:s3:::osva/*", e.Hint, StringComparison.Ordinal);
    }
}

public sealed class ManifestCompatibilityTests
{
    [Fact]
    public async Task Manifest_written_before_distro_and_build_packages_were_recorded_reads_them_as_empty()
    {
        var json = """
            {
              "schemaVersion": 1, "service": "nova", "tag": "31.0.0",
              "platform": { "id": "debian-12-x86_64-py3.11", "distro": "debian", "distroVersion": "12", "arch": "x86_64",
                            "pythonVersion": "3.11", "pythonPath": "/usr/bin/python3.11", "glibc": "2.36" },
              "installPath": "/openstack/venvs/nova-31.0.0",
              "buildImage": { "name": "osva/debian-12:abc", "id": "sha256:0123" },
              "buildInputsHash": "sha256:beef",
              "archive": { "fileName": "nova-31.0.0-debian-12-x86_64-py3.11.tar.gz", "sha256": "b", "tarSha256": "c" },
              "treeHash": "sha256:dead",
              "tool": { "name": "osva-build", "version": "0.1.0" },
              "someFutureField": { "ignored": true }
            }
            """;

        var manifest = await ArtifactJson.ReadManifestAsync(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)), "old.json", CancellationToken.None);

        Assert.Empty(manifest.DistroPackages);
        Assert.Empty(manifest.BuildPackages);
        Assert.Equal("nova", manifest.Service);
    }

    [Fact]
    public async Task Index_with_only_a_service_reads_as_empty_tags_aliases_and_history()
    {
        var index = await ArtifactJson.ReadIndexAsync(new MemoryStream("{\"service\": \"nova\"}"u8.ToArray()), "index.json", CancellationToken.None);

        Assert.Empty(index.Tags);
        Assert.Empty(index.Aliases);
        Assert.Empty(index.History);
        Assert.Null(index.Resolve("stable"));
    }
}
