using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Operations;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>verify tells the truth whatever a file is called: only real drift is reported, and all of it.</summary>
public sealed class VerifyTests
{
    private const string Site = "lib/python3.11/site-packages";

    /// <summary>A venv with every kind of legal name that broke the old entry list, files, a directory and a symlink.</summary>
    private static InstallArtifactBuilder Awkward(string tag)
    {
        var b = ScratchHost.Demo(tag);
        // As osva-build writes it: System.Formats.Tar refuses a PAX path record holding a newline.
        b.Format = System.Formats.Tar.TarEntryFormat.Gnu;
        b.Entries.AddRange([
            InstallEntry.Dir($"{Site}/setuptools"),
            InstallEntry.Text($"{Site}/setuptools/script (dev).tmpl", "# EASY-INSTALL-DEV-SCRIPT\n"),
            InstallEntry.Text($"{Site}/tab\there.py", "TAB = 1\n"),
            InstallEntry.Text($"{Site}/new\nline.py", "NEWLINE = 1\n"),
            InstallEntry.Text($"{Site}/back\\slash.py", "BACKSLASH = 1\n"),
            InstallEntry.Text($"{Site}/ünïcødé-名前.py", "UNICODE = 1\n"),
            InstallEntry.Dir($"{Site}/dir with space"),
            InstallEntry.Text($"{Site}/dir with space/inner file.py", "INNER = 1\n"),
            InstallEntry.Link($"{Site}/link with space", "dir with space/inner file.py"),
        ]);
        return b;
    }

    [Fact]
    public async Task Names_with_a_space_tab_newline_backslash_and_unicode_verify_clean_then_each_drift_is_caught()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(Awkward("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");

        var clean = await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", null), default);

        Assert.True(clean.Ok, string.Join('\n', clean.Drift!));
        Assert.Empty(clean.Actions);
        var venv = host.OnDisk("/openstack/venvs/demo-1.0.0");
        await File.AppendAllTextAsync(Path.Combine(venv, $"{Site}/setuptools/script (dev).tmpl"), "# edited\n");
        File.Delete(Path.Combine(venv, $"{Site}/new\nline.py"));
        await File.WriteAllTextAsync(Path.Combine(venv, $"{Site}/added\tby hand\\x.py"), "");

        var drifted = await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", "1.0.0"), default);

        Assert.False(drifted.Ok);
        Assert.Equal([$"added {Site}/added\\tby hand\\\\x.py", $"missing {Site}/new\\nline.py", $"modified {Site}/setuptools/script (dev).tmpl"],
            drifted.Drift!.Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task The_real_program_prints_one_line_per_drifted_entry_and_exits_4()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(Awkward("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        var clean = await Cli.RunAsync("verify", "demo", "--root", host.Root);
        File.Delete(Path.Combine(host.OnDisk("/openstack/venvs/demo-1.0.0"), $"{Site}/new\nline.py"));

        var drifted = await Cli.RunAsync("verify", "demo", "--root", host.Root);

        Assert.True(clean.ExitCode == 0, clean.ToString());
        Assert.Equal("demo 1.0.0: no drift\n", clean.Stdout);
        Assert.True(drifted.ExitCode == 4, drifted.ToString());
        Assert.Equal($"missing {Site}/new\\nline.py\ndemo 1.0.0: 1 entries drifted\n", drifted.Stdout);
    }

    [Fact]
    public async Task An_entry_list_written_by_an_older_version_is_still_read_and_verify_says_how_to_rewrite_it()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(Awkward("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        var recorded = (await new State.StateStore(host.Environment).LoadTreeAsync("demo", "1.0.0", _ => null, default))!.Entries;
        // What osva-install wrote before: the tree-hash lines themselves, path last and unescaped.
        await File.WriteAllTextAsync(host.OnDisk("/var/lib/osva/demo/1.0.0.tree"),
            string.Concat(recorded.OrderBy(e => e.Path, StringComparer.Ordinal).Select(TreeHash.Line)));

        var clean = await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", "1.0.0"), default);
        File.Delete(Path.Combine(host.OnDisk("/openstack/venvs/demo-1.0.0"), $"{Site}/dir with space/inner file.py"));
        var drifted = await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", "1.0.0"), default);

        Assert.True(clean.Ok, string.Join('\n', clean.Drift!));
        Assert.Contains("osva-install repair demo 1.0.0 rewrites it", Assert.Single(clean.Actions), StringComparison.Ordinal);
        Assert.Equal([$"missing {Site}/dir with space/inner file.py"], drifted.Drift!.ToArray());
    }

    [Fact]
    public async Task A_file_whose_name_is_not_utf8_is_reported_as_added_not_a_crash()
    {
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        var venv = host.OnDisk("/openstack/venvs/demo-1.0.0");
        // .NET cannot even spell this name; python writes the raw bytes.
        var made = await ProcessRunner.RunAsync("python3", ["-c", "import os,sys; d=os.fsencode(sys.argv[1]); open(d+b'/lib/bad\\xffname.py','wb').write(b'x'); os.mkdir(d+b'/lib/dir\\xfe')", venv]);
        Assert.True(made.ExitCode == 0, made.ToString());

        var result = await host.Lifecycle.VerifyAsync(new VerifyOptions("demo", "1.0.0"), default);

        Assert.Equal(["added lib/bad\uFFFDname.py (name not valid UTF-8)", "added lib/dir\uFFFD (name not valid UTF-8)"],
            result.Drift!.Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task Unpacking_refuses_a_name_that_would_not_round_trip()
    {
        var e = Assert.Throws<InstallerException>(() => Unpack.SafeExtractor.Normalize("lib/bad\uFFFDname.py", "x.tar.gz"));

        Assert.Equal("OSVA-I030", e.Code);
        Assert.Contains("not valid UTF-8", e.Message, StringComparison.Ordinal);
    }
}
