using OsVenvArtifacts.Installer.Host;

namespace OsVenvArtifacts.Installer.Tests;

public sealed class HostConfigTests
{
    [Fact]
    public void Host_config_reads_every_setting_and_repeats_keys()
    {
        var config = HostConfig.Parse([
            "# osva on this host",
            "store = s3://releases/osva   # the release bucket",
            "s3-endpoint = https://rgw.example:8443",
            "s3-region = eu-1",
            "s3-path-style = true",
            "trusted-key = /etc/osva/keys/2026.pem",
            "trusted-key = /etc/osva/keys/2027.pem",
            "retired-key = sha256:" + new string('a', 64),
            "require-signatures = no",
            "venvs-root = /srv/venvs/",
            "max-archive-size = 2G",
            "max-unpacked-size = 10G",
            "max-entry-size = 512M",
            "max-entries = 500000",
            "stall-timeout = 15",
        ], "osva.conf");
        Assert.Equal("s3://releases/osva", config.Store);
        Assert.Equal("https://rgw.example:8443", config.S3Endpoint);
        Assert.Equal("eu-1", config.S3Region);
        Assert.True(config.S3PathStyle);
        Assert.Equal(["/etc/osva/keys/2026.pem", "/etc/osva/keys/2027.pem"], config.TrustedKeys);
        Assert.Single(config.RetiredKeys);
        Assert.False(config.SignaturesRequired);
        Assert.Equal("/srv/venvs", config.VenvsRoot);
        Assert.Equal(2L << 30, config.MaxArchiveSize);
        Assert.Equal(10L << 30, config.MaxUnpackedSize);
        Assert.Equal(512L << 20, config.MaxEntrySize);
        Assert.Equal(500_000, config.MaxEntries);
        Assert.Equal(TimeSpan.FromSeconds(15), config.StallTimeout);
    }

    [Fact]
    public void Host_config_requires_signatures_once_a_key_is_trusted()
    {
        Assert.False(HostConfig.Parse([], "osva.conf").SignaturesRequired);
        Assert.True(HostConfig.Parse(["trusted-key = /k.pem"], "osva.conf").SignaturesRequired);
    }

    [Fact]
    public void Host_config_is_defaults_when_the_file_is_absent()
    {
        var config = HostConfig.Load("/nonexistent/osva.conf");
        Assert.Equal("/openstack/venvs", config.VenvsRoot);
        Assert.Null(config.Store);
    }

    [Theory]
    [InlineData("stor = /srv/osva", "unknown setting 'stor'", "a typo must not silently drop a rule")]
    [InlineData("store", "is not 'key = value'", "no equals sign")]
    [InlineData("store =", "has no value", "empty value")]
    [InlineData("require-signatures = maybe", "is not true or false", "not a boolean")]
    [InlineData("max-unpacked-size = -1", "is not a positive size", "negative size")]
    [InlineData("max-unpacked-size = 0", "is not a positive size", "zero would switch the bound off")]
    [InlineData("max-entries = lots", "is not a positive whole number", "not a number")]
    [InlineData("venvs-root = openstack/venvs", "is not an absolute path", "relative venvs root")]
    [InlineData("venvs-root = /openstack/../etc", "is not an absolute path", "'..' in the venvs root")]
    [InlineData("venvs-root = /", "is not an absolute path", "the whole file system as venvs root")]
    public void Host_config_refuses_a_bad_line_naming_file_and_line(string line, string problem, string reason)
    {
        var e = Assert.Throws<InstallerException>(() => HostConfig.Parse(["# first", line], "/etc/osva/osva.conf"));
        Assert.Equal("OSVA-I006", e.Code);
        Assert.Contains("/etc/osva/osva.conf:2", e.Message, StringComparison.Ordinal);
        Assert.True(e.Message.Contains(problem, StringComparison.Ordinal), $"{reason}: {e.Message}");
    }
}
