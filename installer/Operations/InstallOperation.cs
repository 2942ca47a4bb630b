using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Installer.Activation;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Installer.Fetch;
using OsVenvArtifacts.Installer.Host;
using OsVenvArtifacts.Installer.State;
using OsVenvArtifacts.Installer.Unpack;

namespace OsVenvArtifacts.Installer.Operations;

/// <summary>
/// install: resolve, read and check the manifest, check the host, download while hashing, verify, unpack safely
/// into staging, check tar and tree hashes, relocate if asked, sync, rename into place, record, then activate.
/// A failure before the rename leaves nothing behind; a failure in activation leaves the previous tag active.
/// </summary>
internal sealed class InstallOperation(InstallerEnvironment env)
{
    private readonly StateStore _states = new(env);
    private readonly InstallTarget _target = new(env);

    public async Task<CommandResult> RunAsync(InstallRequest request, CancellationToken ct)
    {
        var service = Names.Service(request.Service);
        using var serviceLock = await ServiceLock.AcquireAsync(env, service, ct);
        await ActivationJournal.RecoverAsync(env, service, ct);
        var state = await _states.LoadAsync(service, ct);
        var facts = HostFacts.Detect(env);
        var platform = request.Platform ?? facts.PlatformId ?? throw new InstallerException("OSVA-I021",
            "cannot tell this host's platform: no python3 in /usr/bin", "install python3, or pass --platform", ExitCode.HostMismatch);
        PlatformId.Parse(platform);

        var location = request.Store ?? (env.Config.Store is { } configured ? StoreLocation.Parse(configured) : throw new InstallerException("OSVA-I007",
            "no store given", $"pass --store LOCATION, or set store = LOCATION in {HostConfig.HostPath}"));
        using var trust = TrustPolicy.Load(env.Config, request.TrustedKeys, request.InsecureSkipSignature);
        if (trust.Skipped)
        {
            await Console.Error.WriteLineAsync($"osva-install: warning: --insecure-skip-signature: installing {service} from {location} without checking signatures this host requires");
        }
        using var store = StoreReaders.Open(location, request.S3);
        var fetcher = new ArtifactFetcher(store, trust, env.Clock, request.StallTimeout ?? env.Config.StallTimeout);
        var storeKey = location.Identity;
        var remembered = state.IndexVersions.GetValueOrDefault(storeKey);
        var artifact = await fetcher.ResolveAsync(service, request.TagOrAlias, platform, remembered, ct);
        if (!request.DryRun && (artifact.IndexVersion > remembered || trust.Skipped))
        {
            // Remembered as soon as the index is verified, as TUF keeps trusted metadata: a later older index is refused.
            state = state with
            {
                IndexVersions = new Dictionary<string, long>(state.IndexVersions) { [storeKey] = Math.Max(remembered, artifact.IndexVersion) },
                History = trust.Skipped ? [.. state.History, new StateEvent(env.Now, "insecure-skip-signature", artifact.Id.Tag, storeKey)] : state.History,
            };
            await _states.SaveAsync(state, ct);
        }
        var manifest = await fetcher.ReadManifestAsync(artifact, ct);
        facts.EnsureFits(manifest);
        var limits = ExtractLimits.For(manifest, artifact.Entry, env.Config);
        // The manifest's path is only text to relocate from; where the venv goes is the host's decision.
        var builtFor = InstallerEnvironment.CheckInstallPath(manifest.InstallPath);
        var installPath = _target.Choose(service, manifest.Tag, request.InstallPath);
        var venvDir = env.HostPath(installPath);
        var actions = new List<string>();

        var installed = state.Find(manifest.Tag);
        if (installed is not null && installed.InstallPath != installPath)
        {
            throw new InstallerException("OSVA-I043", $"{service} {manifest.Tag} is installed at {installed.InstallPath}, not {installPath}",
                $"switch to it where it is, or run osva-install uninstall {service} {manifest.Tag} first", ExitCode.Conflict);
        }
        var present = installed is not null && installed.ArchiveSha256 == manifest.Archive.Sha256
            && installed.InstallPath == installPath && Directory.Exists(venvDir);
        if (installed is not null && installed.ArchiveSha256 != manifest.Archive.Sha256)
        {
            var why = artifact.Republished is { } r
                ? $"; the store's index records it was republished with --force at {r.Time:u} ({r.Detail})"
                : "; the store's index records no republish of it, so the store may have been changed behind the publisher's back";
            throw new InstallerException("OSVA-I042", $"{service} {manifest.Tag} on this host is archive {installed.ArchiveSha256}, the store now has {manifest.Archive.Sha256}{why}",
                $"this host keeps running the bytes it verified; to take the new ones, switch away from {manifest.Tag} if it is active, then osva-install uninstall {service} {manifest.Tag} and install it again",
                ExitCode.Conflict);
        }
        if (!present)
        {
            await _target.EnsureFreeAsync(service, manifest.Tag, installPath, ct);
            actions.Add($"download {artifact.Id.ArchiveFileName} ({manifest.Archive.Size} bytes) from {store.Location}");
            actions.Add($"unpack into {installPath}" + (installPath != builtFor ? $" (relocated from {builtFor})" : ""));
            if (!request.DryRun)
            {
                installed = await FetchAndUnpackAsync(fetcher, artifact, manifest, limits, installPath, builtFor, ct);
                state = state with
                {
                    Installed = [.. state.Installed.Where(t => t.Tag != manifest.Tag), installed],
                    History = [.. state.History, new StateEvent(env.Now, "install", manifest.Tag, null)],
                };
                await _states.SaveAsync(state, ct);
                _target.DeleteIntent(service, manifest.Tag);
            }
        }
        var changed = !present;
        IReadOnlyList<FileChange>? files = null;
        if (!request.NoActivate)
        {
            installed ??= new InstalledTag
            {
                Tag = manifest.Tag, Platform = manifest.Platform.Id, InstallPath = installPath, BuiltFor = builtFor,
                ArchiveSha256 = manifest.Archive.Sha256, TreeHash = manifest.TreeHash,
            };
            var (activated, activationActions, newState, activationFiles) = await ActivationFlow.ActivateAsync(env, _states, state, manifest, installed,
                request.Activation, request.DryRun, "install", ct);
            changed |= activated;
            actions.AddRange(activationActions);
            state = newState;
            files = activationFiles;
        }
        return new CommandResult
        {
            Command = "install", Service = service, Tag = manifest.Tag, Changed = changed, DryRun = request.DryRun,
            Active = state.Active, Previous = state.Previous, Actions = actions, Files = files,
        };
    }

    private async Task<InstalledTag> FetchAndUnpackAsync(ArtifactFetcher fetcher, ResolvedArtifact artifact, Manifest manifest,
        ExtractLimits limits, string installPath, string builtFor, CancellationToken ct)
    {
        var venvDir = env.HostPath(installPath);
        var parent = Path.GetDirectoryName(venvDir)!;
        var staging = Path.Combine(parent, ".staging");
        // This service's unpack directories: under its lock none is in use, so whatever a killed run left is swept
        // before the space check. Partial downloads stay beside it in staging, for a later run to continue.
        var ownStaging = Path.Combine(staging, manifest.Service);
        if (Directory.Exists(ownStaging)) Directory.Delete(ownStaging, recursive: true);
        Directory.CreateDirectory(ownStaging);
        var unpackDir = Path.Combine(ownStaging, $"{manifest.Tag}.{Guid.NewGuid():N}");
        string? archive = null;
        try
        {
            EnsureSpace(staging, manifest, artifact.Id);
            archive = await fetcher.DownloadAsync(artifact, manifest, staging, ct);
            var result = await SafeExtractor.ExtractAsync(archive, unpackDir, manifest, limits, ct);
            if (result.TarSha256 != manifest.Archive.TarSha256)
            {
                throw new InstallerException("OSVA-I031", $"{artifact.Id.ArchiveFileName} unpacks to a tar with sha256 {result.TarSha256} but its manifest says {manifest.Archive.TarSha256}",
                    "the archive does not match its manifest; rebuild and republish it", ExitCode.VerificationFailed);
            }
            if (result.TreeHash != manifest.TreeHash)
            {
                throw new InstallerException("OSVA-I031", $"{artifact.Id.ArchiveFileName} unpacks to tree {result.TreeHash} but its manifest says {manifest.TreeHash}",
                    "the archive does not match its manifest; rebuild and republish it", ExitCode.VerificationFailed);
            }
            var tree = result.Tree;
            var treeHash = result.TreeHash;
            if (installPath != builtFor)
            {
                await Relocator.RelocateAsync(unpackDir, builtFor, installPath, ct);
                tree = await TreeScanner.ScanAsync(unpackDir, ct);
                treeHash = TreeScanner.Hash(tree);
            }
            Native.SyncFileSystem(unpackDir);
            if (Directory.Exists(venvDir) && _target.IsOwnLeftover(manifest.Service, manifest.Tag, installPath))
            {
                // This tag's own install died between rename and record (its intent file says so): set aside, never merged.
                Directory.Move(venvDir, Path.Combine(ownStaging, $"leftover.{Guid.NewGuid():N}"));
            }
            await _target.WriteIntentAsync(manifest.Service, manifest.Tag, installPath, ct);
            // Fails if anything took the path since EnsureFreeAsync: rename(2) never replaces a non-empty directory.
            Directory.Move(unpackDir, venvDir);
            Native.SyncDirectory(parent);
            await _states.SaveTagFilesAsync(manifest, tree, ct);
            return new InstalledTag
            {
                Tag = manifest.Tag, Platform = manifest.Platform.Id, InstallPath = installPath, BuiltFor = builtFor,
                ArchiveSha256 = manifest.Archive.Sha256, TreeHash = treeHash, UnpackedSize = result.Size, FileCount = result.Files,
                InstalledAt = env.Now,
            };
        }
        catch (IOException e) when (IsDiskFull(e))
        {
            throw new InstallerException("OSVA-I040", $"{parent} ran out of space while downloading or unpacking {artifact.Id}",
                $"nothing was installed; free space there or remove old tags (osva-install gc {manifest.Service} --keep 2)", ExitCode.HostMismatch, e);
        }
        finally
        {
            Directory.Delete(ownStaging, recursive: true);
            if (archive is not null) File.Delete(archive);
        }
    }

    private static void EnsureSpace(string staging, Manifest manifest, ArtifactId id)
    {
        // Every file takes at least part of a block more than its bytes; sizes were bounded by ExtractLimits.For.
        var need = manifest.Archive.Size + manifest.UnpackedSize + manifest.FileCount * 4096;
        var free = new DriveInfo(staging).AvailableFreeSpace;
        if (free < need)
        {
            throw new InstallerException("OSVA-I040", $"{staging} has {free} bytes free, {id} needs {need}",
                $"nothing was installed; free space there or remove old tags (osva-install gc {manifest.Service} --keep 2)", ExitCode.HostMismatch);
        }
    }

    private static bool IsDiskFull(IOException e) =>
        e.HResult == 28 || (e.HResult & 0xFFFF) == 28 || e.Message.Contains("No space left", StringComparison.Ordinal);
}
