using OsVenvArtifacts.Installer.Activation;

namespace OsVenvArtifacts.Installer.Operations;

/// <summary>switch SERVICE TAG: activate an installed tag.</summary>
internal sealed record SwitchOptions(string Service, string Tag, ActivationSettings Activation, bool DryRun);

/// <summary>rollback SERVICE: activate the previous tag.</summary>
internal sealed record RollbackOptions(string Service, ActivationSettings Activation, bool DryRun);

/// <summary>list [SERVICE]: installed tags of one service, or of all when null.</summary>
internal sealed record ListOptions(string? Service);

/// <summary>status SERVICE: tags plus what the activation wrote.</summary>
internal sealed record StatusOptions(string Service);

/// <summary>gc SERVICE --keep N.</summary>
internal sealed record GcOptions(string Service, int Keep, bool DryRun);

/// <summary>verify SERVICE [TAG]: the active tag when <paramref name="Tag"/> is null.</summary>
internal sealed record VerifyOptions(string Service, string? Tag);

/// <summary>uninstall SERVICE TAG.</summary>
internal sealed record UninstallOptions(string Service, string Tag, bool DryRun);

/// <summary>disable SERVICE: back to the distro's packaged files and units.</summary>
internal sealed record DisableOptions(string Service, bool DryRun);

/// <summary>doctor [SERVICE]: one service, or all when null.</summary>
internal sealed record DoctorOptions(string? Service);
