using System.Text;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// Hand-made archives from a compromised build: every hash and size in the store matches them, so only the
/// installer's reading of the tar stands in the way. Each is installed by the real osva-install program (the
/// NativeAOT binary under make test) and must be refused with its reason, exit 4, nothing written outside
/// staging, staging emptied, and the active tag untouched.
/// </summary>
public sealed class HostileCorpusTests
{
    [Theory]
    [InlineData("pax path renaming an entry to a parent path", "OSVA-I030", "'..' in the path")]
    [InlineData("pax path renaming an entry to an absolute path", "OSVA-I030", "absolute path")]
    [InlineData("pax linkpath leaving the venv", "OSVA-I030", "escapes the venv")]
    [InlineData("pax path with a NUL byte", "OSVA-I030", "NUL byte")]
    [InlineData("pax global header", "OSVA-I030", "unsupported entry type")]
    [InlineData("gnu long name with a parent path", "OSVA-I030", "'..' in the path")]
    [InlineData("gnu long link target leaving the venv", "OSVA-I030", "escapes the venv")]
    [InlineData("gnu long name whose size cuts it short", "OSVA-I033", "goes on past the size its header states")]
    [InlineData("gnu long name going on past a NUL", "OSVA-I033", "goes on past a NUL")]
    [InlineData("pax records hidden past the stated size", "OSVA-I033", "goes on past the size its header states")]
    [InlineData("name over PATH_MAX", "OSVA-I030", "name longer than the file system allows")]
    [InlineData("name component over NAME_MAX", "OSVA-I030", "name longer than the file system allows")]
    [InlineData("name that is not UTF-8", "OSVA-I030", "name is not valid UTF-8")]
    [InlineData("gnu sparse entry", "OSVA-I033", "Entry type 'SparseFile' not supported")]
    [InlineData("hardlink to a file a later entry overwrites", "OSVA-I030", "duplicate entry")]
    [InlineData("symlink loop", "OSVA-I030", "symlink loop")]
    [InlineData("links each inside the venv chaining out of it", "OSVA-I030", "leaves the venv through other links")]
    [InlineData("write through lib64 -> lib", "OSVA-I030", "path goes through the symlink 'lib64'")]
    [InlineData("symlink replacing a directory made for an earlier entry", "OSVA-I030", "replaces a directory unpacked earlier")]
    [InlineData("gzip bomb past the host's entry limit", "OSVA-I030", "over the 67108864-byte entry limit")]
    [InlineData("gzip stream cut short", "OSVA-I033", "gzip trailer")]
    [InlineData("trailing garbage after the end blocks", "OSVA-I033", "data follows the tar's end-of-archive blocks")]
    [InlineData("concatenated gzip members with a hostile second member", "OSVA-I033", "is not one well-formed tar.gz")]
    public async Task The_real_installer_refuses_a_hostile_archive_whose_hashes_all_match(string attack, string code, string reason)
    {
        using var outcome = TrustLog.Hostile(nameof(HostileCorpusTests), attack);
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        host.Configure("max-entry-size = 64M");
        var before = host.ServiceFiles();
        var escaped = Path.Combine(host.TempPath, "escaped");
        var (tar, reframe) = Archive(attack, escaped);
        await InstallStore.PublishRawAsync(host.Store, "demo", "6.6.6", tar, host.Work, reframe);

        var result = await Cli.RunAsync("install", "demo", "6.6.6", "--store", host.Store, "--root", host.Root);

        Assert.True(result.ExitCode == 4, result.ToString());
        var error = result.Stderr.Trim();
        Assert.DoesNotContain('\n', error);
        Assert.Contains(code, error, StringComparison.Ordinal);
        Assert.True(error.Contains(reason, StringComparison.Ordinal), error);
        Assert.False(Path.Exists(escaped), "nothing may be written outside staging");
        Assert.False(Directory.Exists(host.OnDisk("/openstack/venvs/demo-6.6.6")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(host.OnDisk("/openstack/venvs/.staging")));
        Assert.Equal("1.0.0", (await host.StateAsync("demo")).Active);
        Assert.Equal(before, host.ServiceFiles());
        outcome.Refused();
    }

    private static (byte[] Tar, Func<byte[], byte[]>? Reframe) Archive(string attack, string escaped)
    {
        var t = new RawTar().Dir("bin").Dir("lib").File("pyvenv.cfg", "home = /usr/bin\n");
        Func<byte[], byte[]>? reframe = null;
        switch (attack)
        {
            case "pax path renaming an entry to a parent path":
                t.Pax(new Dictionary<string, string> { ["path"] = "../../../../escaped" }).File("lib/harmless.py", "x");
                break;
            case "pax path renaming an entry to an absolute path":
                t.Pax(new Dictionary<string, string> { ["path"] = escaped }).File("lib/harmless.py", "x");
                break;
            case "pax linkpath leaving the venv":
                t.Pax(new Dictionary<string, string> { ["linkpath"] = "../../../../../../etc" }).Symlink("lib/conf", "harmless");
                break;
            case "pax path with a NUL byte":
                t.Pax(new Dictionary<string, string> { ["path"] = "lib/a.py\0/../../../escaped" }).File("lib/harmless.py", "x");
                break;
            case "pax global header":
                t.Pax(new Dictionary<string, string> { ["path"] = "../escaped" }, type: 'g').File("lib/harmless.py", "x");
                break;
            case "gnu long name with a parent path":
                t.GnuLong('L', "lib/" + new string('a', 120) + "/../../../../../escaped").File("lib/short.py", "x");
                break;
            case "gnu long link target leaving the venv":
                t.GnuLong('K', "../../../../../../" + new string('a', 120)).Symlink("lib/evil", "harmless");
                break;
            // GNU tar and Python read a long name up to its NUL in whole blocks, and Python PAX records from whole
            // blocks; .NET and bsdtar read the stated size: "lib/aaaa" for them, a path out of the venv for the others.
            case "gnu long name whose size cuts it short":
                t.Entry("././@LongLink", 'L', data: [.. Encoding.UTF8.GetBytes("lib/aaaa/../../../../escaped"), 0], size: 8).File("lib/short.py", "x");
                break;
            case "gnu long name going on past a NUL":
                t.GnuLong('L', "lib/aaaa\0/../../../../escaped").File("lib/short.py", "x");
                break;
            case "pax records hidden past the stated size":
                t.Entry("PaxHeaders/x", 'x', data: "16 mtime=170000\n28 path=../../../../escaped\n"u8.ToArray(), size: 16).File("lib/harmless.py", "x");
                break;
            case "name over PATH_MAX":
                t.GnuLong('L', string.Join('/', Enumerable.Repeat(new string('d', 200), 25)) + "/f.py").File("lib/short.py", "x");
                break;
            case "name that is not UTF-8":
                // Unpacked through .NET's lossy decoding it would land as "lib/bad\uFFFD.py", a name the archive does not hold.
                t.GnuLong('L', [.. "lib/bad"u8, 0xFF, .. ".py"u8]).File("lib/short.py", "x");
                break;
            case "name component over NAME_MAX":
                t.GnuLong('L', "lib/" + new string('n', 300)).File("lib/short.py", "x");
                break;
            case "gnu sparse entry":
                t.Entry("lib/sparse.bin", 'S', data: new byte[512]);
                break;
            case "hardlink to a file a later entry overwrites":
                t.File("lib/a.py", "x").Entry("lib/b.py", '1', linkName: "lib/a.py").File("lib/a.py", "import os; os.system('id')\n");
                break;
            case "symlink loop":
                t.Symlink("lib/a", "b").Symlink("lib/b", "a");
                break;
            case "links each inside the venv chaining out of it":
                t.Dir("lib/a").Symlink("lib/a/b", "..").Symlink("lib/x", "a/b/../../..");
                break;
            case "write through lib64 -> lib":
                t.Symlink("lib64", "lib").File("lib64/python3.11/evil.py", "x");
                break;
            case "symlink replacing a directory made for an earlier entry":
                t.File("lib/x/y.py", "x").Symlink("lib/x", "..");
                break;
            case "gzip bomb past the host's entry limit":
                t.Entry("lib/bomb.bin", '0', data: new byte[100 << 20]);
                break;
            case "gzip stream cut short":
                t.File("lib/a.py", "x");
                reframe = gz => gz[..^20];
                break;
            case "trailing garbage after the end blocks":
                t.File("lib/a.py", "x").End().Data("garbage"u8.ToArray());
                return (t.ToArray(), null);
            case "concatenated gzip members with a hostile second member":
                var hostile = new RawTar().File("../../../escaped", "x").End().ToArray();
                reframe = gz => [.. gz, .. GzipBytes.Compress(hostile)];
                return (t.ToArray(), reframe);
            default:
                throw new ArgumentOutOfRangeException(nameof(attack));
        }
        return (t.End().ToArray(), reframe);
    }
}
