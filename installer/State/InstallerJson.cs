using System.Text.Json.Serialization;
using OsVenvArtifacts.Installer.Operations;

namespace OsVenvArtifacts.Installer.State;

/// <summary>Source-generated JSON for the host state and the --json results: no reflection in the native binary.</summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    // A state or journal with "tag": null must be refused as damaged, not read as a null tag (found by make fuzz).
    RespectNullableAnnotations = true)]
[JsonSerializable(typeof(ServiceState))]
[JsonSerializable(typeof(CommandResult))]
[JsonSerializable(typeof(Activation.ActivationJournal))]
internal sealed partial class InstallerJsonContext : JsonSerializerContext;
