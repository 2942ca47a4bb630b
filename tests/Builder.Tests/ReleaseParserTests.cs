using OsVenvArtifacts.Builder.Release;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Builder.Tests;

public sealed class ReleaseParserTests : IDisposable
{
    private readonly TempDirectory _dir = new("bt-release");

    public ReleaseParserTests() => Directory.CreateDirectory(_dir.Combine("wheels"));

    private string PathOf => _dir.Combine("release.yaml");

    private const string Valid = """
        release: 2025.1
        defaults:
          platforms: [debian-12]
          wheelhouse: ./wheels
          sourceDateEpoch: 1700000000
        services:
          - name: demo
            tag: 1.0.0
            requirements: [osva-demo-hello==1.0.0]
            consoleScripts: [osva-hello]
            managementScripts: [osva-hello-manage]
            runtimePackages: [libvirt0]
            systemd: { units: [ { name: demo-api, execStart: osva-hello } ] }
            rootwrap: { configPath: /etc/demo/rootwrap.conf, command: demo-rootwrap, filtersDir: etc/demo/rootwrap.d }
          - name: other
            tag: "2.0"
            installPath: /opt/{service}/{tag}
            requirements: [osva-demo-hello]
        """;

    [Fact]
    public void Release_file_applies_defaults_and_expands_the_install_path()
    {
        var release = ReleaseParser.Parse(Valid, PathOf);

        Assert.Equal("2025.1", release.Label);
        var demo = release.Services[0];
        Assert.Equal("/openstack/venvs/demo-1.0.0", demo.InstallPath);
        Assert.Equal(_dir.Combine("wheels"), demo.Wheelhouse);
        Assert.Equal(1700000000, demo.SourceDateEpoch);
        Assert.Equal(["debian-12"], demo.Platforms);
        Assert.Equal("demo-api", Assert.Single(demo.Systemd!.Units).Name);
        Assert.Equal("etc/demo/rootwrap.d", demo.Rootwrap!.FiltersDir);
        Assert.Equal(["osva-hello-manage"], demo.ManagementScripts);
        Assert.Empty(release.Services[1].ManagementScripts);
        Assert.Equal("/opt/other/2.0", release.Services[1].InstallPath);
    }

    [Theory]
    [InlineData("unknown key at top level", "releas: x\nservices: []", ":1: releas: unknown key 'releas'")]
    [InlineData("unknown key in a service", "defaults: { wheelhouse: ./wheels }\nservices:\n  - name: a\n    tag: '1'\n    requirements: [x]\n    colour: red", ":6: services[0].colour: unknown key 'colour'")]
    [InlineData("requirements must be a list", "defaults: { wheelhouse: ./wheels }\nservices:\n  - name: a\n    tag: '1'\n    requirements: x==1", ":5: services[0] (a).requirements: expected a list, found 'x==1'")]
    [InlineData("name is required", "defaults: { wheelhouse: ./wheels }\nservices:\n  - tag: '1'\n    requirements: [x]", ":3: services[0].name: missing required key 'name'")]
    [InlineData("service names are lower case", "defaults: { wheelhouse: ./wheels }\nservices:\n  - name: Nova\n    tag: '1'\n    requirements: [x]", ":3: services[0].name: service name 'Nova' is not valid")]
    [InlineData("a tag cannot climb out of a directory", "defaults: { wheelhouse: ./wheels }\nservices:\n  - name: a\n    tag: ..\n    requirements: [x]", ":4: services[0].tag: tag '..' is not valid")]
    [InlineData("the wheelhouse must exist", "defaults: { wheelhouse: ./nowhere }\nservices:\n  - name: a\n    tag: '1'\n    requirements: [x]", ":1: defaults.wheelhouse: wheelhouse")]
    [InlineData("sourceDateEpoch is a number", "defaults: { wheelhouse: ./wheels, sourceDateEpoch: yesterday }\nservices:\n  - name: a\n    tag: '1'\n    requirements: [x]", ":1: defaults.sourceDateEpoch: expected seconds")]
    [InlineData("install path must be absolute", "defaults: { wheelhouse: ./wheels, installPath: 'venvs/{service}' }\nservices:\n  - name: a\n    tag: '1'\n    requirements: [x]", "defaults.installPath: install path 'venvs/a' must be absolute")]
    [InlineData("services listed twice", "defaults: { wheelhouse: ./wheels }\nservices:\n  - name: a\n    tag: '1'\n    requirements: [x]\n  - name: a\n    tag: '2'\n    requirements: [x]", ":6: services[1].name: service 'a' is listed twice")]
    [InlineData("broken YAML", "services: [", "not valid YAML")]
    [InlineData("privsep-helper is run through sudo, never wrapped on the PATH", "defaults: { wheelhouse: ./wheels }\nservices:\n  - name: a\n    tag: '1'\n    requirements: [x]\n    managementScripts: [a-manage, privsep-helper]", ":6: services[0] (a).managementScripts[1]: 'privsep-helper' is a rootwrap or privsep program")]
    [InlineData("a rootwrap daemon is run through sudo, never wrapped on the PATH", "defaults: { wheelhouse: ./wheels }\nservices:\n  - name: a\n    tag: '1'\n    requirements: [x]\n    managementScripts: [a-rootwrap-daemon]", "managementScripts[0]: 'a-rootwrap-daemon' is a rootwrap or privsep program")]
    public void Bad_release_files_name_file_line_and_key(string reason, string yaml, string expected)
    {
        var e = Assert.Throws<BuilderException>(() => ReleaseParser.Parse(yaml, PathOf));

        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{reason}: '{e.Message}' should contain '{expected}'");
        Assert.StartsWith(PathOf, e.Message, StringComparison.Ordinal);
        Assert.Contains(e.Code, (string[])["OSVA-B010", "OSVA-B011"]);
    }

    public void Dispose() => _dir.Dispose();
}
