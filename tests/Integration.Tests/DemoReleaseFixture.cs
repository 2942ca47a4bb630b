using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Integration.Tests;

/// <summary>
/// Builds the demo service once for the whole class with the real osva-build on the real Docker engine:
/// a wheelhouse made from a generated project (no PyPI), then tags 1.0.0 and 2.0.0, signed with a key made by
/// the real openssl. Installs without --trusted-key ignore the signature, so one build serves every test.
/// </summary>
public sealed class DemoReleaseFixture : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _work = new("integration");

    public string Wheelhouse => _work.Combine("wheels");
    public string OutDir => _work.Combine("out");
    public string SigningKey => _work.Combine("release-key.pem");
    public string PublicKey => _work.Combine("release-pub.pem");
    /// <summary>A key the release was not signed with, for a forged signature.</summary>
    public string OtherKey => _work.Combine("other-key.pem");
    public ProcessResult? Failure { get; private set; }

    public async Task InitializeAsync()
    {
        if (!TestEnvironment.InCi && !TestEnvironment.DockerAnswers()) return;
        foreach (var args in new[]
        {
            new[] { "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", SigningKey },
            ["ec", "-in", SigningKey, "-pubout", "-out", PublicKey],
            ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", OtherKey],
        })
        {
            if (!await SucceedsAsync(ProcessRunner.RunAsync("openssl", args))) return;
        }

        var src = _work.Combine("src");
        // demo-rootwrap: the release names it as the rootwrap command, and the installer writes no sudoers rule for a program the venv lacks.
        string[] projects = [PythonProjects.WriteHello(src, version: "1.0.0", rootwrapScript: "demo-rootwrap"), PythonProjects.WriteHello(src, version: "2.0.0", rootwrapScript: "demo-rootwrap")];
        if (!await SucceedsAsync(OsvaPrograms.BuildAsync(["wheels", .. projects, "--out", Wheelhouse]))) return;

        // A release lists each service once: the two tags are two releases built into one output directory.
        foreach (var tag in new[] { "1.0.0", "2.0.0" })
        {
            var release = _work.Combine($"release-{tag}.yaml");
            await File.WriteAllTextAsync(release, $$"""
                release: demo-{{tag}}
                defaults:
                  platforms: [debian-12]
                  wheelhouse: ./wheels
                  sourceDateEpoch: 1700000000
                services:
                  - name: demo
                    tag: {{tag}}
                    requirements: [osva-demo-hello=={{tag}}]
                    consoleScripts: [osva-hello, osva-hello-manage]
                    systemd: { units: [ { name: demo-api, execStart: osva-hello } ] }
                    rootwrap: { configPath: /etc/demo/rootwrap.conf, command: demo-rootwrap }
                """);
            if (!await SucceedsAsync(OsvaPrograms.BuildAsync(["build", release, "--out", OutDir, "--signing-key", SigningKey]))) return;
        }
    }

    private async Task<bool> SucceedsAsync(Task<ProcessResult> run)
    {
        var result = await run;
        if (result.ExitCode != 0) Failure = result;
        return result.ExitCode == 0;
    }

    /// <summary>Fails the calling test with the tool's own output when the shared build did not succeed.</summary>
    public void EnsureBuilt() =>
        Assert.True(Failure is null && File.Exists(ArtifactFile("2.0.0", ".manifest.json.sig")), $"the shared demo build failed: {Failure}");

    public string ArtifactFile(string tag, string suffix) =>
        Path.Combine(OutDir, $"demo-{tag}-debian-12-x86_64-py3.11{suffix}");

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _work.Dispose();
}

/// <summary>One demo build shared by every class that needs it.</summary>
[CollectionDefinition(Name)]
public sealed class SharedDemoRelease : ICollectionFixture<DemoReleaseFixture>
{
    public const string Name = "demo release";
}
