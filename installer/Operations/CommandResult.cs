namespace OsVenvArtifacts.Installer.Operations;

/// <summary>What a command did, printed as text or, with --json, for Ansible (<c>changed</c> says whether the host changed).</summary>
internal sealed record CommandResult
{
    public required string Command { get; init; }
    public string? Service { get; init; }
    public string? Tag { get; init; }
    public bool Changed { get; init; }
    public bool DryRun { get; init; }
    public bool Ok { get; init; } = true;
    public string? Active { get; init; }
    public string? Previous { get; init; }
    public IReadOnlyList<string> Actions { get; init; } = [];
    /// <summary>Host files the activation writes or removes (or, with --dry-run, would), with the content it writes: Ansible's diff mode shows them.</summary>
    public IReadOnlyList<FileChange>? Files { get; init; }
    public IReadOnlyList<TagStatus>? Tags { get; init; }
    public IReadOnlyList<string>? Drift { get; init; }
    public IReadOnlyList<Finding>? Findings { get; init; }
    /// <summary>list and status: the services that are disabled (run from their distro packages, their venvs kept).</summary>
    public IReadOnlyList<string>? Disabled { get; init; }
}

internal sealed record TagStatus(string Service, string Tag, string Platform, string InstallPath, bool Active, bool Previous,
    long Size, long Files, DateTimeOffset InstalledAt, bool Relocated);

/// <summary>One host file an activation writes (<c>Change</c> "write", with its new <c>Content</c>) or removes ("remove").</summary>
internal sealed record FileChange(string Path, string Change, string? Content);

/// <summary>A problem doctor found on the host and the command that fixes it.</summary>
internal sealed record Finding(string Service, string Tag, string Problem, string Fix);
