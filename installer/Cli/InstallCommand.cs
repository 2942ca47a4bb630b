using System.CommandLine;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Installer.Host;
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
        command.Options.Add(InsecureSkipSignature);
        command.Options.Add(StallTimeout);
        CommonOptions.AddActivation(command);
        CommonOptions.AddOutput(command);
        CommonOptions.Bind(command, (r, ct) =>
        {
            var env = CommonOptions.Environment(r);
            return new InstallOperation(env).RunAsync(Options(r, env.Config), ct);
        });
        return command;
    }

    private static readonly Option<bool> InsecureSkipSignature = new("--insecure-skip-signature")
    {
        Description = "Install although the index or manifest is not signed by a trusted key (warned about and recorded in the state file)",
    };
    private static readonly Option<int?> StallTimeout = new("--stall-timeout")
    {
        Description = "Seconds a transfer may deliver no byte before it is cut (default: stall-timeout in /etc/osva/osva.conf, else 60)",
    };

    /// <summary>Options first, then the host's /etc/osva/osva.conf, then (for S3) the AWS environment variables.</summary>
    private static InstallRequest Options(ParseResult r, HostConfig config) => new()
    {
        Service = r.GetValue(CommonOptions.Service)!,
        TagOrAlias = r.GetValue(CommonOptions.Tag)!,
        Store = r.GetValue(CommonOptions.Store) is { } store ? StoreLocation.Parse(store) : null,
        S3 = S3Settings.FromEnvironment(r.GetValue(CommonOptions.S3Endpoint) ?? config.S3Endpoint,
            r.GetValue(CommonOptions.S3Region) ?? config.S3Region, r.GetValue(CommonOptions.S3PathStyle) ?? config.S3PathStyle),
        InsecureSkipSignature = r.GetValue(InsecureSkipSignature),
        StallTimeout = r.GetValue(StallTimeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
        Platform = r.GetValue(CommonOptions.Platform),
        InstallPath = r.GetValue(CommonOptions.InstallPath),
        NoActivate = r.GetValue(CommonOptions.NoActivate),
        TrustedKeys = r.GetValue(CommonOptions.TrustedKeys) ?? [],
        DryRun = r.GetValue(CommonOptions.DryRun),
        Activation = CommonOptions.Activation(r),
    };
}
