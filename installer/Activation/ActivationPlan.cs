using System.Text;

namespace OsVenvArtifacts.Installer.Activation;

/// <summary>
/// What a planned file is. <c>Original</c>: a packaged file kept under <c>/var/lib/osva/&lt;service&gt;/originals/</c>
/// before its first edit or removal; <c>Restore</c>: such a file put back (by disable, or by a switch to a tag that no
/// longer edits or takes it over).
/// </summary>
internal enum PlannedFileKind { DropIn, Sudoers, RootwrapConf, Wrapper, Original, Restore }

/// <summary>
/// One host file as the transaction wants it. <see cref="Bytes"/>, when set, are written exactly (a packaged file kept
/// or put back, whatever its encoding) and <see cref="Content"/> only describes them; <see cref="Owner"/> is then
/// applied too. Files osva writes itself are root's.
/// </summary>
internal sealed record PlannedFile(string HostPath, string Content, UnixFileMode Mode, PlannedFileKind Kind)
{
    public byte[]? Bytes { get; init; }
    public (int Uid, int Gid)? Owner { get; init; }

    public byte[] Data => Bytes ?? Encoding.UTF8.GetBytes(Content);
}

/// <summary>
/// Everything one activation (or a disable) writes and removes, decided before anything is touched. <see cref="Venv"/>
/// is where the units must run from afterwards; null for a disable, when they must run from anywhere but a venv.
/// </summary>
internal sealed record ActivationPlan(
    string Service,
    string Tag,
    string? Venv,
    IReadOnlyList<string> Units,
    IReadOnlyList<PlannedFile> Files,
    IReadOnlyList<string> Removed)
{
    /// <summary>Units the manifest names that this host does not have (and --unit did not name): no drop-in, reported.</summary>
    public IReadOnlyList<string> Skipped { get; init; } = [];

    /// <summary>What the plan leaves alone that the operator should know about, worded as report lines.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>How the operator wants a tag activated (from the command line).</summary>
internal sealed record ActivationSettings
{
    /// <summary>Extra units as <c>NAME</c> or <c>NAME=CONSOLE_SCRIPT [ARGS]</c>, besides the manifest's; a unit named here gets its drop-in even when its unit file is not found.</summary>
    public IReadOnlyList<string> Units { get; init; } = [];
    public string? ServiceUser { get; init; }
    /// <summary>Adds the venv's own filter directory (the manifest's Rootwrap.FiltersDir) to filters_path; packaged filters stay as they are.</summary>
    public bool InstallRootwrapFilters { get; init; }
    public bool Restart { get; init; }
    public string? HealthCheck { get; init; }
    public TimeSpan HealthTimeout { get; init; } = TimeSpan.FromSeconds(30);
}
