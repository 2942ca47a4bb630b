using System.CommandLine;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Installer.Activation;
using OsVenvArtifacts.Installer.Host;

namespace OsVenvArtifacts.Installer.Cli;

/// <summary>Options shared by several verbs, declared once and added to each command by hand.</summary>
internal static class CommonOptions
{
    public static readonly Argument<string> Service = new("service") { Description = "Service name, such as nova" };
    public static readonly Argument<string> Tag = new("tag") { Description = "Tag (or, for install, an alias such as stable)" };
    public static readonly Argument<string?> OptionalService = new("service") { Description = "Service name; all services when omitted", Arity = ArgumentArity.ZeroOrOne };
    public static readonly Argument<string?> OptionalTag = new("tag") { Description = "Tag; the active one when omitted", Arity = ArgumentArity.ZeroOrOne };

    public static readonly Option<string> Root = new("--root") { Description = "File system root every host path is under (a scratch directory for tests and image builds)", DefaultValueFactory = _ => "/" };
    public static readonly Option<bool> Json = new("--json") { Description = "Print the result as JSON, with changed true or false" };
    public static readonly Option<bool> Verbose = new("--verbose") { Description = "Print stack traces with errors" };
    public static readonly Option<int> LockTimeout = new("--lock-timeout")
    {
        Description = "Seconds to wait for another osva-install working on the same service (default: 60)",
        DefaultValueFactory = _ => 60,
    };
    public static readonly Option<bool> DryRun = new("--dry-run") { Description = "Show what would change and change nothing" };
    public static readonly Option<string?> Store = new("--store") { Description = "Directory, s3://bucket/prefix or http(s):// mirror (default: store in /etc/osva/osva.conf)" };
    public static readonly Option<string?> S3Endpoint = new("--s3-endpoint") { Description = "S3 endpoint URL (else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL)" };
    public static readonly Option<string?> S3Region = new("--s3-region") { Description = "S3 region (else AWS_REGION)" };
    public static readonly Option<bool?> S3PathStyle = new("--s3-path-style") { Description = "Path-style S3 addressing (automatic for IP and localhost endpoints)" };
    public static readonly Option<string?> Platform = new("--platform") { Description = "Platform to install, such as debian-12-x86_64-py3.11 (default: this host's)" };
    public static readonly Option<string?> InstallPath = new("--install-path") { Description = "Install the venv here instead of the path it was built for (relocates it)" };
    public static readonly Option<string[]> Units = new("--unit") { Description = "Extra systemd unit, NAME or NAME=CONSOLE_SCRIPT [ARGS]; gets its drop-in even without a unit file on this host" };
    public static readonly Option<string[]> TrustedKeys = new("--trusted-key") { Description = "PEM public key (ECDSA P-256) trusted besides trusted-key in /etc/osva/osva.conf; index and manifest must then be signed" };
    public static readonly Option<bool> NoActivate = new("--no-activate") { Description = "Unpack and record only; switch to it later" };
    public static readonly Option<bool> Restart = new("--restart") { Description = "Restart the units even when nothing changed, then run the health check" };
    public static readonly Option<string?> HealthCheck = new("--health-check") { Description = "Command (exit 0) or http(s) URL (2xx) that must pass after activation, else the previous tag is restored" };
    public static readonly Option<int> HealthTimeout = new("--health-timeout") { Description = "Seconds to wait for the health check", DefaultValueFactory = _ => 30 };
    public static readonly Option<string?> ServiceUser = new("--service-user") { Description = "User the sudoers rules are for (default: the service name)" };
    public static readonly Option<bool> RootwrapFilters = new("--install-rootwrap-filters") { Description = "Add the venv's own rootwrap filter directory to filters_path, after the packaged ones (no filter file is copied)" };
    public static readonly Option<int> Keep = new("--keep") { Description = "Newest tags to keep besides the active and previous ones", Required = true };

    public static readonly Option<bool> InsecureSkipSignature = new("--insecure-skip-signature")
    {
        Description = "Go on although the index or manifest is not signed by a trusted key (warned about and recorded in the state file)",
    };
    public static readonly Option<int?> StallTimeout = new("--stall-timeout")
    {
        Description = "Seconds a transfer may deliver no byte before it is cut (default: stall-timeout in /etc/osva/osva.conf, else 60)",
    };

    /// <summary>The store options install and repair share: where to fetch from, and whose signatures to trust.</summary>
    public static void AddStore(Command command)
    {
        command.Options.Add(Store);
        command.Options.Add(S3Endpoint);
        command.Options.Add(S3Region);
        command.Options.Add(S3PathStyle);
        command.Options.Add(TrustedKeys);
        command.Options.Add(InsecureSkipSignature);
        command.Options.Add(StallTimeout);
    }

    public static StoreLocation? StoreOf(ParseResult r) => r.GetValue(Store) is { } store ? StoreLocation.Parse(store) : null;

    /// <summary>Options first, then the host's /etc/osva/osva.conf, then the AWS environment variables.</summary>
    public static S3Settings S3(ParseResult r, HostConfig config) =>
        S3Settings.FromEnvironment(r.GetValue(S3Endpoint) ?? config.S3Endpoint, r.GetValue(S3Region) ?? config.S3Region, r.GetValue(S3PathStyle) ?? config.S3PathStyle);

    public static TimeSpan? StallTimeoutOf(ParseResult r) => r.GetValue(StallTimeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : null;

    public static void AddOutput(Command command)
    {
        command.Options.Add(Root);
        command.Options.Add(Json);
        command.Options.Add(Verbose);
        command.Options.Add(LockTimeout);
    }

    public static void AddActivation(Command command)
    {
        command.Options.Add(Units);
        command.Options.Add(Restart);
        command.Options.Add(HealthCheck);
        command.Options.Add(HealthTimeout);
        command.Options.Add(ServiceUser);
        command.Options.Add(RootwrapFilters);
        command.Options.Add(DryRun);
    }

    public static InstallerEnvironment Environment(ParseResult r) =>
        new(r.GetValue(Root)!) { LockTimeout = TimeSpan.FromSeconds(Math.Max(0, r.GetValue(LockTimeout))) };

    public static ActivationSettings Activation(ParseResult r) => new()
    {
        Units = r.GetValue(Units) ?? [],
        Restart = r.GetValue(Restart),
        HealthCheck = r.GetValue(HealthCheck),
        HealthTimeout = TimeSpan.FromSeconds(r.GetValue(HealthTimeout)),
        ServiceUser = r.GetValue(ServiceUser),
        InstallRootwrapFilters = r.GetValue(RootwrapFilters),
    };

    /// <summary>Runs a verb inside the shared error handler and prints its result.</summary>
    public static void Bind(Command command, Func<ParseResult, CancellationToken, Task<Operations.CommandResult>> run)
    {
        command.SetAction((r, ct) => Artifact.CommandGuard.RunAsync("osva-install", r.GetValue(Verbose), r.GetValue(Json), async c =>
        {
            Operations.CommandResult result;
            try
            {
                result = await run(r, c);
            }
            catch (IOException e) when (DiskSpace.IsFull(e))
            {
                // Where a full disk needs a tailored answer the operation gives it; anywhere else it is still named, never a bug.
                throw new InstallerException("OSVA-I040", $"out of disk space: {e.Message}",
                    "free space on that file system and run the command again; osva-install doctor tells whether anything needs repair",
                    Artifact.ExitCode.HostMismatch, e);
            }
            await ResultPrinter.PrintAsync(result, r.GetValue(Json), Console.Out, c);
            return result.Ok ? 0 : (int)Artifact.ExitCode.VerificationFailed;
        }, ct));
    }
}
