namespace OsVenvArtifacts.Artifact.Tests;

public sealed class NamesTests
{
    [Theory]
    [InlineData("31.0.0")]
    [InlineData("2025.1-rc1")]
    [InlineData("stable_2024")]
    public void Tag_accepts_release_names(string tag) => Assert.Equal(tag, Names.Tag(tag));

    [Theory]
    [InlineData("..", "climbs out of the service directory")]
    [InlineData(".hidden", "hidden entries are not tags")]
    [InlineData("31.0.0/../../etc", "a path, not a name")]
    [InlineData("a b", "white space breaks unit files and sudoers")]
    [InlineData("", "empty")]
    [InlineData("tag;rm", "shell metacharacter")]
    public void Tag_refuses_names_that_are_not_safe_path_parts(string tag, string reason)
    {
        var e = Assert.Throws<OsvaException>(() => Names.Tag(tag));
        Assert.Equal("OSVA-A002", e.Code);
        Assert.False(string.IsNullOrEmpty(reason));
    }

    [Theory]
    [InlineData("Nova", "upper case")]
    [InlineData("-nova", "leading dash reads as an option")]
    [InlineData("nova/compute", "slash")]
    [InlineData("nova.compute", "dot")]
    public void Service_refuses_names_that_are_not_lower_case_words(string service, string reason)
    {
        Assert.Throws<OsvaException>(() => Names.Service(service));
        Assert.False(string.IsNullOrEmpty(reason));
    }

    [Fact]
    public void Artifact_file_names_follow_the_contract()
    {
        var id = new ArtifactId("nova", "31.0.0", PlatformId.Parse("debian-12-x86_64-py3.11"));

        Assert.Equal("nova-31.0.0-debian-12-x86_64-py3.11.tar.gz", id.ArchiveFileName);
        Assert.Equal("nova-31.0.0-debian-12-x86_64-py3.11.tar.gz.sha256", id.ChecksumFileName);
        Assert.Equal("nova-31.0.0-debian-12-x86_64-py3.11.manifest.json", id.ManifestFileName);
        Assert.Equal("nova-31.0.0-debian-12-x86_64-py3.11.manifest.json.sig", id.SignatureFileName);
        Assert.Equal("nova/31.0.0/nova-31.0.0-debian-12-x86_64-py3.11.tar.gz", id.StoreKey(id.ArchiveFileName));
        Assert.Equal("/openstack/venvs/nova-31.0.0", id.DefaultInstallPath);
        Assert.Equal("nova/index.json", StoreKeys.Index("nova"));
    }

    [Theory]
    [InlineData("debian-12-x86_64-py3.11", "debian", "12", "x86_64", "3.11")]
    [InlineData("ubuntu-24.04-aarch64-py3.12", "ubuntu", "24.04", "aarch64", "3.12")]
    [InlineData("rocky-9-x86_64-py3.9", "rocky", "9", "x86_64", "3.9")]
    public void Platform_round_trips(string text, string distro, string version, string arch, string python)
    {
        var platform = PlatformId.Parse(text);

        Assert.Equal(new PlatformId(distro, version, arch, python), platform);
        Assert.Equal(text, platform.ToString());
    }

    [Theory]
    [InlineData("debian-12-x86_64", "no python")]
    [InlineData("debian-12-amd64-py3.11", "Debian's arch name, not the kernel's")]
    [InlineData("debian-x86_64-py3.11", "no version")]
    [InlineData("../12-x86_64-py3.11", "path")]
    public void Platform_refuses_malformed_ids_with_the_expected_form_in_the_hint(string text, string reason)
    {
        var e = Assert.Throws<OsvaException>(() => PlatformId.Parse(text));
        Assert.Contains("debian-12-x86_64-py3.11", e.Hint, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(reason));
    }
}
