using System.CommandLine;
using OsVenvArtifacts.Installer.Host;
using OsVenvArtifacts.Installer.Operations;

namespace OsVenvArtifacts.Installer.Cli;

/// <summary>install SERVICE TAG_OR_ALIAS --store LOCATION: fetch, verify, unpack and activate.</summary>
internal static class InstallCommand
{
    private static readonly Option<string> Format = CreateFormat();

    private static Option<string> CreateFormat()
    {
        var option = new Option<string>("--format")
        {
            Description = "tarball: unpack (default); image: mount the tag's read-only image at the venv path; auto: the image where this host can mount it, else the tarball",
            DefaultValueFactory = _ => InstallFormats.Tarball,
        };
        option.AcceptOnlyFromAmong(InstallFormats.Tarball, InstallFormats.Image, InstallFormats.Auto);
        return option;
    }

    public static Command Create()
    {
        var command = new Command("install", "Fetch, verify, unpack and activate a tag");
        command.Arguments.Add(CommonOptions.Service);
        command.Arguments.Add(CommonOptions.Tag);
        CommonOptions.AddStore(command);
        command.Options.Add(CommonOptions.Platform);
        command.Options.Add(CommonOptions.InstallPath);
        command.Options.Add(CommonOptions.NoActivate);
        command.Options.Add(Format);
        CommonOptions.AddActivation(command);
        CommonOptions.AddOutput(command);
        CommonOptions.Bind(command, (r, ct) =>
        {
            var env = CommonOptions.Environment(r);
            return new InstallOperation(env).RunAsync(Options(r, env.Config), ct);
        });
        return command;
    }

    /// <summary>Options first, then the host's /etc/osva/osva.conf, then (for S3) the AWS environment variables.</summary>
    private static InstallRequest Options(ParseResult r, HostConfig config) => new()
    {
        Service = r.GetValue(CommonOptions.Service)!,
        TagOrAlias = r.GetValue(CommonOptions.Tag)!,
        Store = CommonOptions.StoreOf(r),
        S3 = CommonOptions.S3(r, config),
        InsecureSkipSignature = r.GetValue(CommonOptions.InsecureSkipSignature),
        StallTimeout = CommonOptions.StallTimeoutOf(r),
        Platform = r.GetValue(CommonOptions.Platform),
        InstallPath = r.GetValue(CommonOptions.InstallPath),
        NoActivate = r.GetValue(CommonOptions.NoActivate),
        TrustedKeys = r.GetValue(CommonOptions.TrustedKeys) ?? [],
        DryRun = r.GetValue(CommonOptions.DryRun),
        Format = r.GetValue(Format)!,
        Activation = CommonOptions.Activation(r),
    };
}
