namespace OsVenvArtifacts.Installer.Activation;

internal enum PlannedFileKind { DropIn, Sudoers, RootwrapConf, RootwrapFilter, Wrapper }

/// <summary>One host file as the activation wants it.</summary>
internal sealed record PlannedFile(string HostPath, string Content, UnixFileMode Mode, PlannedFileKind Kind);

/// <summary>Everything activating one tag writes, decided before anything is touched.</summary>
internal sealed record ActivationPlan(
    string Service,
    string Tag,
    string Venv,
    IReadOnlyList<string> Units,
    IReadOnlyList<PlannedFile> Files,
    IReadOnlyList<string> Removed);

/// <summary>How the operator wants a tag activated (from the command line).</summary>
internal sealed record ActivationSettings
{
    /// <summary>Extra units as <c>NAME</c> or <c>NAME=CONSOLE_SCRIPT [ARGS]</c>, besides the manifest's.</summary>
    public IReadOnlyList<string> Units { get; init; } = [];
    public string? ServiceUser { get; init; }
    public bool InstallRootwrapFilters { get; init; }
    public bool Restart { get; init; }
    public string? HealthCheck { get; init; }
    public TimeSpan HealthTimeout { get; init; } = TimeSpan.FromSeconds(30);
}
