using OsVenvArtifacts.Installer.Operations;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// A real venv made on this machine with /usr/bin/python3.11, installed somewhere else than it was built for.
/// Its console script is then run in a chroot of the scratch root (a private mount namespace binds /usr into it),
/// so the rewritten shebang is exactly what the kernel executes.
/// </summary>
public sealed class RelocationTests
{
    [Fact]
    public async Task Relocated_venv_has_rewritten_shebangs_activate_and_pyvenv_cfg_and_its_console_script_runs_in_a_chroot()
    {
        using var host = new ScratchHost();
        var builtFor = Path.Combine(host.TempPath, "build", "venvs", "demo-1.0.0");
        var venv = await ProcessRunner.RunAsync("/usr/bin/python3.11", ["-m", "venv", "--without-pip", builtFor]);
        Assert.True(venv.ExitCode == 0, venv.ToString());
        await File.WriteAllTextAsync(Path.Combine(builtFor, "lib/python3.11/site-packages/osva_reloc.py"),
            "import sys\n\n\ndef main():\n    print('relocated hello from ' + sys.prefix)\n");
        var script = Path.Combine(builtFor, "bin", "osva-hello");
        await File.WriteAllTextAsync(script, $"#!{builtFor}/bin/python\nimport sys\nfrom osva_reloc import main\nsys.exit(main())\n");
        File.SetUnixFileMode(script, (UnixFileMode)0x1ED);
        var before = await ProcessRunner.RunAsync(script, []);
        Assert.Equal($"relocated hello from {builtFor}", before.Stdout.Trim());
        var builder = InstallArtifactBuilder.FromDirectory("demo", "1.0.0", builtFor, builtFor);
        builder.ConsoleScripts.Add("osva-hello");
        await host.PublishAsync(builder);

        host.Configure("venvs-root = /srv/relocated");
        var result = await host.InstallAsync("demo", "1.0.0", installPath: "/srv/relocated/demo");

        Assert.True(result.Changed);
        var installed = host.OnDisk("/srv/relocated/demo");
        Assert.StartsWith("#!/srv/relocated/demo/bin/python\n", await File.ReadAllTextAsync(Path.Combine(installed, "bin/osva-hello")), StringComparison.Ordinal);
        var activate = await File.ReadAllTextAsync(Path.Combine(installed, "bin/activate"));
        Assert.Contains("VIRTUAL_ENV=/srv/relocated/demo\n", activate, StringComparison.Ordinal);
        Assert.DoesNotContain(builtFor, activate, StringComparison.Ordinal);
        Assert.Contains("command = /usr/bin/python3.11 -m venv --without-pip /srv/relocated/demo\n", await File.ReadAllTextAsync(Path.Combine(installed, "pyvenv.cfg")), StringComparison.Ordinal);
        Assert.True((await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", null), default)).Ok);

        foreach (var (link, target) in new[] { ("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64") })
        {
            File.CreateSymbolicLink(host.OnDisk("/" + link), target);
        }
        Directory.CreateDirectory(host.OnDisk("/usr"));
        var run = await ProcessRunner.RunAsync("unshare", ["--mount", "--propagation", "private", "sh", "-c",
            $"mount --bind -o ro /usr '{host.OnDisk("/usr")}' && chroot '{host.Root}' /srv/relocated/demo/bin/osva-hello"]);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("relocated hello from /srv/relocated/demo", run.Stdout.Trim());
    }

    [Theory]
    [InlineData("#!/openstack/venvs/a-1/bin/python\n", "#!/srv/a/bin/python\n", "shebang")]
    [InlineData("VIRTUAL_ENV=\"/openstack/venvs/a-1\"\n", "VIRTUAL_ENV=\"/srv/a\"\n", "activate's quoted path")]
    [InlineData("#!/openstack/venvs/a-10/bin/python\n", "#!/openstack/venvs/a-10/bin/python\n", "a longer sibling path is not a match")]
    [InlineData("'''exec' \"/openstack/venvs/a-1/bin/python\" \"$0\" \"$@\"\n", "'''exec' \"/srv/a/bin/python\" \"$0\" \"$@\"\n", "pip's long-path trampoline")]
    public void Rewrite_replaces_the_old_venv_path_only_at_path_boundaries(string text, string expected, string why)
    {
        Assert.True(expected == Unpack.Relocator.Rewrite(text, "/openstack/venvs/a-1", "/srv/a"), why);
    }
}
