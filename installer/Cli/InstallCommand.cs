using System.CommandLine;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Installer.Operations;

namespace OsVenvArtifacts.Installer.Cli;

/// <summary>install SERVICE TAG_OR_ALIAS --store LOCATION: fetch, verify, unpack and activate.</summary>
internal static class InstallCommand
{
    public static Command Create()
    {
        var command = new Command("install", "Fetch, verify, unpack and activate a tag");
        command.Arguments.Add(CommonOptions.Service);
        command.Arguments.Add(CommonOptions.Tag);
        command.Options.Add(CommonOptions.Store);
        command.Options.Add(CommonOptions.S3Endpoint);
        command.Options.Add(CommonOptions.S3Region);
        command.Options.Add(CommonOptions.S3PathStyle);
        command.Options.Add(CommonOptions.Platform);
        command.Options.Add(CommonOptions.InstallPath);
        command.Options.Add(CommonOptions.NoActivate);
        command.Options.Add(CommonOptions.TrustedKeys);
        CommonOptions.AddActivation(command);
        CommonOptions.AddOutput(command);
        CommonOptions.Bind(command, (r, ct) => new InstallOperation(CommonOptions.Environment(r)).RunAsync(Options(r), ct));
        return command;
    }

    private static InstallRequest Options(ParseResult r) => new()
    {
        Service = r.GetValue(CommonOptions.Service)!,
        TagOrAlias = r.GetValue(CommonOptions.Tag)!,
        Store = StoreLocation.Parse(r.GetValue(CommonOptions.Store)!),
        S3 = CommonOptions.S3(r),
        Platform = r.GetValue(CommonOptions.Platform),
        InstallPath = r.GetValue(CommonOptions.InstallPath),
        NoActivate = r.GetValue(CommonOptions.NoActivate),
        TrustedKeys = r.GetValue(CommonOptions.TrustedKeys) ?? [],
        DryRun = r.GetValue(CommonOptions.DryRun),
        Activation = CommonOptions.Activation(r),
    };
}
