using System.Formats.Tar;
using System.Text;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Fuzz.Tests;

/// <summary>A well-formed venv tar the installer accepts, and the sizes a manifest would state for it.</summary>
internal sealed record TarSeed(string Name, byte[] Tar, byte[] Gzip, long UnpackedSize, long FileCount)
{
    public static TarSeed From(string name, byte[] tar)
    {
        long size = 0, files = 0;
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        using var reader = new TarReader(new MemoryStream(tar));
        while (reader.GetNextEntry() is { } entry)
        {
            if (entry.EntryType == TarEntryType.Directory) continue;
            files++;
            var length = entry.EntryType == TarEntryType.HardLink ? sizes[entry.LinkName] : entry.EntryType == TarEntryType.SymbolicLink ? 0 : entry.Length;
            sizes[entry.Name] = length;
            size += length;
        }
        return new TarSeed(name, tar, GzipBytes.Compress(tar), size, files);
    }
}

/// <summary>The starting inputs every target mutates: real small artifacts and the files osva writes for them.</summary>
internal static class Seeds
{
    public const string Interpreter = "/usr/bin/python3.11";

    public static IReadOnlyList<TarSeed> Tars { get; } =
    [
        TarSeed.From("venv", new RawTar()
            .Dir("./").Dir("bin/")
            .Symlink("bin/python", Interpreter).Symlink("bin/python3", "python")
            .File("bin/nova-api", "#!/openstack/venvs/nova-1/bin/python\nimport nova\n", 0x1ED)
            .Entry("bin/nova-api-copy", '1', 0x1ED, linkName: "bin/nova-api")
            .Dir("lib/").Dir("lib/python3.11/").File("lib/python3.11/a.py", "x = 1\n")
            .Symlink("lib64", "lib")
            .File("pyvenv.cfg", "home = /usr/bin\nversion = 3.11.2\n")
            .End().ToArray()),
        TarSeed.From("long-names", new RawTar()
            .Dir("lib/")
            .Pax(new Dictionary<string, string> { ["path"] = "lib/" + new string('p', 150) + ".py", ["mtime"] = "1700000000.5" })
            .File("lib/short.py", "pax = True\n")
            .GnuLong('L', "lib/" + new string('g', 120) + "/script (dev).tmpl").File("lib/placeholder", "gnu = True\n")
            .GnuLong('K', new string('k', 110)).Symlink("lib/long-link", "ignored")
            .File("lib/space name.txt", "a file with a space\n")
            .End().ToArray()),
        TarSeed.From("sharpziplib", SmallArtifactTar()),
    ];

    /// <summary>The tar inside the small artifact the distributor's tests publish (SharpZipLib writes it, as osva-build does).</summary>
    private static byte[] SmallArtifactTar()
    {
        using var dir = new TempDirectory("fuzz-seed");
        var artifact = PublishTestArtifacts.WriteSmallAsync(dir.Path, "nova", "31.0.0").GetAwaiter().GetResult();
        return GzipBytes.Decompress(File.ReadAllBytes(artifact.ArchivePath));
    }

    /// <summary>A manifest as osva-build writes one, with rootwrap and systemd hints so every member has a value.</summary>
    public static Manifest Manifest(string service = "nova", string tag = "31.0.0")
    {
        var id = new ArtifactId(service, tag, PlatformId.Parse(PublishTestArtifacts.DefaultPlatform));
        return new Manifest
        {
            Service = service,
            Tag = tag,
            Platform = new ManifestPlatform
            {
                Id = id.Platform.ToString(), Distro = "debian", DistroVersion = "12", Arch = "x86_64", PythonVersion = "3.11",
                PythonPath = Interpreter, Glibc = "2.36",
            },
            InstallPath = id.DefaultInstallPath,
            BuildImage = new BuildImage("osva/debian-12:test", "sha256:" + new string('0', 64)),
            BuildInputsHash = "sha256:" + new string('1', 64),
            SourceDateEpoch = 1_700_000_000,
            Packages = [new PackageEntry("nova", tag, "sha256:" + new string('2', 64)), new PackageEntry("oslo.rootwrap", "7.0.1", null)],
            ConsoleScripts = [$"{service}-api", $"{service}-manage", $"{service}-rootwrap", $"{service}-rootwrap-daemon"],
            DistroPackages = ["libvirt"],
            FileCount = 3,
            UnpackedSize = 120,
            Archive = new ArchiveInfo
            {
                FileName = id.ArchiveFileName, Sha256 = new string('3', 64), Size = 4096, TarSha256 = new string('4', 64), TarSize = 10240,
            },
            TreeHash = "sha256:" + new string('5', 64),
            Rootwrap = new RootwrapHints
            {
                ConfigPath = $"/etc/{service}/rootwrap.conf", Command = $"{service}-rootwrap", DaemonCommand = $"{service}-rootwrap-daemon",
                FiltersDir = "etc/rootwrap.d",
            },
            Systemd = new SystemdHints { Units = [new SystemdUnit($"{service}-api", $"{service}-api --config-file /etc/{service}/{service}.conf")] },
            Tool = new ToolInfo("osva-build", "0.1.0"),
        };
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
