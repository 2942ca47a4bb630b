using System.Text.RegularExpressions;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Builder.Tests;

/// <summary>
/// A clone must run its tests, scripts and Makefile with nothing beside it: no reads from the machine the code was
/// written on (<c>/work/…</c>, a home folder, <c>../shared</c>). Absolute paths of two or more segments are allowed
/// only below the system's own folders, the product's install roots (used inside test containers) and the caches;
/// <see cref="Exceptions"/> lists what is read only where it exists, each with its reason.
/// </summary>
public sealed partial class RepositoryPathsTests
{
    private static readonly string[] Scanned = ["tests", "setup", "Makefile", "builder/bench", "installer/bench"];

    /// <summary>First segments that are the system's (FHS), the product's (/openstack) or the never-existing /nonexistent.</summary>
    private static readonly HashSet<string> AllowedRoots = new(StringComparer.Ordinal)
    {
        "usr", "etc", "proc", "dev", "run", "tmp", "bin", "sbin", "lib", "lib64", "sys", "opt", "srv", "openstack", "nonexistent",
    };

    /// <summary>Below /var only the caches, the installer's state and what apt, dpkg and docker own.</summary>
    private static readonly string[] AllowedVar =
    [
        "/var/cache/osva", "/var/lib/osva", "/var/lib/docker", "/var/run/docker.sock", "/var/lib/dpkg", "/var/lib/apt", "/var/cache/apt",
        "/var/lib/nova", "/var/log", "/var/tmp", "/var/run",
    ];

    /// <summary>Paths read only when present, never required.</summary>
    private static readonly string[] Exceptions =
    [
        // ArchiveListings adds pyenv's Python 3.12 as one more tar reader on machines that have it.
        "/root/.pyenv/versions/3.12.1/bin/python3",
        // setup/second-engine.sh: the test engine's data root, /var/lib/$name.
        "/var/lib",
    ];

    /// <summary>An absolute path of at least two segments, not the tail of $(VAR)/x, ${x}/y, a URL or base64.</summary>
    [GeneratedRegex(@"(?<![\w.$})\]\-;+*~/\\])/([A-Za-z][\w.-]*)(/[\w.-]+)+")]
    private static partial Regex AbsolutePath();

    /// <summary>Climbs out of the repository to a folder beside it.</summary>
    [GeneratedRegex(@"\.\./shared\b|""\.\.""\s*,\s*""shared""|RepoRoot\s*,\s*""\.\.""")]
    private static partial Regex ClimbOut();

    public static IEnumerable<string> Offences(string text)
    {
        foreach (Match m in AbsolutePath().Matches(text))
        {
            var path = m.Value;
            if (AllowedRoots.Contains(m.Groups[1].Value) || Exceptions.Contains(path)) continue;
            if (m.Groups[1].Value == "var" && AllowedVar.Any(a => path.StartsWith(a, StringComparison.Ordinal))) continue;
            yield return path;
        }
        foreach (Match m in ClimbOut().Matches(text)) yield return m.Value;
    }

    [Fact]
    public void Tests_scripts_and_the_Makefile_read_nothing_outside_the_repository_but_system_folders_and_caches()
    {
        var offences = new List<string>();
        foreach (var file in Files())
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                offences.AddRange(Offences(lines[i]).Select(o => $"{Path.GetRelativePath(TestEnvironment.RepoRoot, file)}:{i + 1}: {o}"));
            }
        }
        Assert.True(offences.Count == 0, "paths outside the repository:\n" + string.Join('\n', offences));
    }

    [Theory]
    [InlineData("public const string DefaultTool = \"/work/shared/tools/debian-wheelhouse.py\";", "/work/shared/tools/debian-wheelhouse.py")]
    [InlineData("var tool = Path.Combine(TestEnvironment.RepoRoot, \"..\", \"shared\", \"tools\");", "RepoRoot, \"..\"")]
    [InlineData("python3 ../shared/tools/x.py", "../shared")]
    [InlineData("cp /home/me/key.pem .", "/home/me/key.pem")]
    [InlineData("ls /var/backups/osva", "/var/backups/osva")]
    public void A_path_outside_the_repository_is_found(string line, string offence) => Assert.Contains(offence, Offences(line));

    [Theory]
    [InlineData("wheels=$(ls -dt /var/cache/osva/wheelhouse/nova-* | head -1)")]
    [InlineData("FAULTS_LOG := $(CURDIR)/TestResults/faults/trust.jsonl")]
    [InlineData("docker run -v /var/run/docker.sock:/var/run/docker.sock -v \"$dir:/tmp/x\" http://127.0.0.1:8080/simple/pkg")]
    [InlineData("mkdir -p /openstack/venvs/nova-1 /usr/local/sbin /etc/sudoers.d")]
    public void System_folders_caches_and_relative_paths_pass(string line) => Assert.Empty(Offences(line));

    private static bool IsBinary(string file)
    {
        using var stream = File.OpenRead(file);
        var head = new byte[4096];
        return head.AsSpan(0, stream.Read(head)).Contains((byte)0);
    }

    private static IEnumerable<string> Files()
    {
        foreach (var entry in Scanned.Select(s => Path.Combine(TestEnvironment.RepoRoot, s)))
        {
            if (File.Exists(entry))
            {
                yield return entry;
                continue;
            }
            if (!Directory.Exists(entry)) continue;
            foreach (var file in Directory.EnumerateFiles(entry, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var relative = Path.GetRelativePath(TestEnvironment.RepoRoot, file).Replace('\\', '/');
                if (relative.Split('/').Any(part => part is "bin" or "obj" or "node_modules" or "TestResults")) continue;
                if (file.EndsWith("package-lock.json", StringComparison.Ordinal)) continue; // integrity hashes are base64, not paths
                if (Path.GetFileName(file) == $"{nameof(RepositoryPathsTests)}.cs") continue; // its own examples of offences
                if (IsBinary(file)) continue;
                yield return file;
            }
        }
    }
}
