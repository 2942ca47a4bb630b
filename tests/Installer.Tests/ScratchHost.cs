using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Installer.Activation;
using OsVenvArtifacts.Installer.Host;
using OsVenvArtifacts.Installer.Operations;
using OsVenvArtifacts.Installer.State;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>A scratch root, a directory store and a work directory for one test; runs the installer in process against them.</summary>
internal sealed class ScratchHost : IDisposable
{
    private readonly TempDirectory _temp = new("installer");

    public ScratchHost()
    {
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Store);
    }

    public string Root => _temp.Combine("root");
    public string Store => _temp.Combine("store");
    public string Work => _temp.Combine("work");
    public string TempPath => _temp.Path;

    public InstallerEnvironment Env { get; set; } = null!;

    public InstallerEnvironment Environment => Env ?? new InstallerEnvironment(Root);

    public string OnDisk(string hostPath) => Path.Join(Root, hostPath.TrimStart('/'));

    /// <summary>Writes the host's /etc/osva/osva.conf, read by every operation that follows.</summary>
    public void Configure(params string[] lines)
    {
        var path = OnDisk(HostConfig.HostPath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, lines);
    }

    /// <summary>A demo venv with console scripts osva-hello and osva-hello-manage, a unit and rootwrap hints.</summary>
    public static InstallArtifactBuilder Demo(string tag, string service = "demo", string? builtFor = null)
    {
        var b = InstallArtifactBuilder.Venv(service, tag, builtFor, "osva-hello", "osva-hello-manage", $"{service}-rootwrap");
        b.Systemd = new SystemdHints { Units = [new SystemdUnit($"{service}-api", "osva-hello")] };
        b.Rootwrap = new RootwrapHints { ConfigPath = $"/etc/{service}/rootwrap.conf", Command = $"{service}-rootwrap" };
        return b;
    }

    /// <summary>Publishes the artifact; the scratch host has the unit files its manifest names, as a host with the service's packages would.</summary>
    public Task<InstallArtifactFiles> PublishAsync(InstallArtifactBuilder builder)
    {
        foreach (var unit in builder.Systemd?.Units ?? []) AddUnit(unit.Name);
        return InstallStore.AddAsync(Store, builder, Work);
    }

    /// <summary>A packaged unit file in /lib/systemd/system, which makes the unit one this host has.</summary>
    public void AddUnit(string name)
    {
        var path = OnDisk($"/lib/systemd/system/{name}.service");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!File.Exists(path)) File.WriteAllText(path, $"[Unit]\nDescription={name}\n[Service]\nExecStart=/usr/bin/{name}\n");
    }

    public Task<CommandResult> InstallAsync(string service, string tag, bool dryRun = false, string? installPath = null, ActivationSettings? activation = null,
        IReadOnlyList<string>? trustedKeys = null, string? store = null, bool insecureSkipSignature = false, TimeSpan? stallTimeout = null) =>
        new InstallOperation(Environment).RunAsync(new InstallRequest
        {
            Service = service,
            TagOrAlias = tag,
            Store = StoreLocation.Parse(store ?? Store),
            S3 = S3Settings.FromEnvironment(),
            DryRun = dryRun,
            InstallPath = installPath,
            Activation = activation ?? new ActivationSettings(),
            TrustedKeys = trustedKeys ?? [],
            InsecureSkipSignature = insecureSkipSignature,
            StallTimeout = stallTimeout,
        }, CancellationToken.None);

    public LifecycleOperations Lifecycle => new(Environment);

    public Task<ServiceState> StateAsync(string service) => new StateStore(Environment).LoadAsync(service, CancellationToken.None);

    public string Read(string hostPath) => File.ReadAllText(OnDisk(hostPath));

    /// <summary>Every file under the root outside the venvs, with its content: the "service files" that must not change on failure.</summary>
    public Dictionary<string, string> ServiceFiles() =>
        Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/openstack/venvs/", StringComparison.Ordinal) && !f.EndsWith(".lock", StringComparison.Ordinal))
            .ToDictionary(f => f, f => Sha256.Of(File.ReadAllBytes(f)));

    public void Dispose() => _temp.Dispose();
}
