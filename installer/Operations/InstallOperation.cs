using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Installer.Activation;
using OsVenvArtifacts.Installer.Fetch;
using OsVenvArtifacts.Installer.Host;
using OsVenvArtifacts.Installer.Image;
using OsVenvArtifacts.Installer.State;
using OsVenvArtifacts.Installer.Unpack;

namespace OsVenvArtifacts.Installer.Operations;

/// <summary>
/// install: resolve, read and check the manifest, check the host, download while hashing, verify, unpack safely
/// into staging, check tar and tree hashes, relocate if asked, sync, rename into place, record, then activate.
/// A failure before the rename leaves nothing behind; a failure in activation leaves the previous tag active.
/// repair runs the same path for a tag already installed and swaps the fresh tree for the damaged one.
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

        using var source = Source.Open(env, service, request.Store, request.S3, request.TrustedKeys, request.InsecureSkipSignature, request.StallTimeout);
        (var artifact, var manifest, state) = await ResolveAsync(source, request.TagOrAlias, platform, state, request.DryRun, ct);
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
        if (installed is not null && installed.ArchiveSha256 != manifest.Archive.Sha256) throw Republished(service, artifact, manifest, installed);
        if (!present)
        {
            await _target.EnsureFreeAsync(service, manifest.Tag, installPath, ct);
            var image = UseImage(request.Format, manifest, installPath, builtFor, actions);
            if (image is not null)
            {
                ExtractLimits.CheckImage(manifest, image, artifact.Entry, env.Config);
                actions.Add($"download {image.FileName} ({image.Size} bytes) from {source.Store.Location}");
                actions.Add($"mount it read-only at {installPath} ({ImageMount.UnitName(installPath)})");
                if (!request.DryRun)
                {
                    try
                    {
                        (installed, state) = await InstallImageAsync(source.Fetcher, artifact, manifest, image, installPath, state, ct);
                    }
                    catch (InstallerException e) when (e.Code == "OSVA-I080" && request.Format == InstallFormats.Auto)
                    {
                        image = null;
                        FallBack(actions, e.Message);
                    }
                }
            }
            if (image is null)
            {
                actions.Add($"download {artifact.Id.ArchiveFileName} ({manifest.Archive.Size} bytes) from {source.Store.Location}");
                actions.Add($"unpack into {installPath}" + (installPath != builtFor ? $" (relocated from {builtFor})" : ""));
                if (!request.DryRun) (installed, state) = await InstallNewAsync(source.Fetcher, artifact, manifest, limits, installPath, builtFor, state, ct);
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

    /// <summary>The image to mount, or null for the tarball; --format image refuses (OSVA-I080) where --format auto falls back.</summary>
    private static ImageInfo? UseImage(string format, Manifest manifest, string installPath, string builtFor, List<string> actions)
    {
        if (format == InstallFormats.Tarball) return null;
        var why = manifest.Image is not { Format: ImageInfo.Squashfs } ? $"{manifest.Tag} was built without a squashfs image (formats: [tarball, image] in its release)"
            : installPath != builtFor ? $"an image cannot be relocated from {builtFor} to {installPath}"
            : ImageMount.CannotMountReason();
        if (why is null) return manifest.Image;
        if (format == InstallFormats.Image) throw ImageMount.Refusal(manifest.Service, manifest.Tag, why);
        FallBack(actions, why);
        return null;
    }

    private static void FallBack(List<string> actions, string why)
    {
        actions.Add($"--format auto: installing the tarball ({why})");
        Console.Error.WriteLine($"osva-install: --format auto: installing the tarball: {why}");
    }

    /// <summary>
    /// Image mode: downloads the image while hashing it against the manifest's sha256, keeps it read-only in
    /// /var/lib/osva/images, writes the mount unit and mounts it at the venv path, then records the tag. Anything
    /// placed is taken out again on failure, so "nothing was installed" holds as for the tarball.
    /// </summary>
    private async Task<(InstalledTag, ServiceState)> InstallImageAsync(ArtifactFetcher fetcher, ResolvedArtifact artifact, Manifest manifest,
        ImageInfo image, string installPath, ServiceState state, CancellationToken ct)
    {
        var (service, tag) = (manifest.Service, manifest.Tag);
        var venvDir = env.HostPath(installPath);
        var staging = Path.Combine(Path.GetDirectoryName(venvDir)!, ".staging");
        var ownStaging = Path.Combine(staging, service);
        var mount = new ImageMount(env);
        var placed = false;
        try
        {
            if (Directory.Exists(ownStaging)) Directory.Delete(ownStaging, recursive: true);
            Directory.CreateDirectory(ownStaging);
            // Downloaded, then kept: twice the image.
            EnsureSpace(staging, 2 * image.Size, artifact.Id, "nothing was installed");
            var downloaded = await fetcher.DownloadImageAsync(artifact, image, ownStaging, ct);
            var final = env.HostPath(ImageMount.ImagePath(service, tag));
            Directory.CreateDirectory(Path.GetDirectoryName(final)!);
            placed = true;
            File.SetUnixFileMode(downloaded, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            File.Move(downloaded, final, overwrite: true);
            Native.SyncDirectory(Path.GetDirectoryName(final)!);
            Directory.CreateDirectory(venvDir);
            await mount.MountAsync(service, tag, installPath, ct);
            var fresh = new InstalledTag
            {
                Tag = tag, Platform = manifest.Platform.Id, InstallPath = installPath, BuiltFor = installPath,
                ArchiveSha256 = manifest.Archive.Sha256, TreeHash = manifest.TreeHash, UnpackedSize = manifest.UnpackedSize, FileCount = manifest.FileCount,
                InstalledAt = env.Now, Format = InstalledTag.ImageFormat, ImageSha256 = image.Sha256,
            };
            await _states.SaveTagFilesAsync(manifest, [], ct);
            var next = state with
            {
                Installed = [.. state.Installed.Where(t => t.Tag != tag), fresh],
                History = [.. state.History, new StateEvent(env.Now, "install", tag, null)],
            };
            await _states.SaveAsync(next, ct);
            return (fresh, next);
        }
        catch (Exception) when (placed)
        {
            await mount.RemoveAsync(service, tag, installPath, CancellationToken.None);
            _states.DeleteTagFiles(service, tag);
            throw;
        }
        finally
        {
            if (Directory.Exists(ownStaging)) Directory.Delete(ownStaging, recursive: true);
        }
    }

    /// <summary>
    /// repair: when the tag's tree no longer matches what was installed, fetches the same archive again (the one
    /// recorded, tags are immutable), unpacks and checks it as install does, and swaps it for the damaged tree in
    /// one rename. If the tag is active, its activation files are rewritten where they drifted; they name the same path.
    /// </summary>
    public async Task<CommandResult> RepairAsync(RepairRequest request, CancellationToken ct)
    {
        var service = Names.Service(request.Service);
        using var serviceLock = await ServiceLock.AcquireAsync(env, service, ct);
        await ActivationJournal.RecoverAsync(env, service, ct);
        var state = await _states.LoadAsync(service, ct);
        var tag = request.Tag ?? state.Active ?? throw new InstallerException("OSVA-I070", $"{service} has no active tag",
            $"name the tag: osva-install repair {service} TAG (see osva-install list {service})");
        var installed = state.Find(tag) ?? throw new InstallerException("OSVA-I070", $"{service} {tag} is not installed on this host",
            $"install it: osva-install install {service} {tag}; if it is on disk but the state forgot it, run osva-install repair {service} --state");
        var check = await VenvCheck.CompareAsync(env, _states, service, installed, ct);
        if (installed.IsImage && !check.Clean)
        {
            throw new InstallerException("OSVA-I082", $"{service} {tag} is an image and {string.Join("; ", check.Drift)}",
                $"if the image is whole and only unmounted, mount it ({(env.ManagesSystemd ? $"systemctl start {ImageMount.UnitName(installed.InstallPath)}" : "mount")}); "
                + $"else switch away from {tag}, osva-install uninstall {service} {tag}, and install it again");
        }
        var actions = new List<string>();
        var changed = false;
        IReadOnlyList<FileChange>? files = null;
        Manifest manifest;
        if (check.Clean)
        {
            manifest = await _states.LoadManifestAsync(service, tag, ct);
            if (check.Recorded is { Legacy: true } recorded)
            {
                // The disk matches the old list exactly, so the list can be written again in the current form without a download.
                actions.Add($"rewrite {_states.TreePath(service, tag)} in the current form");
                if (!request.DryRun) await _states.SaveTreeAsync(service, tag, recorded.Entries, ct);
                changed = true;
            }
        }
        else
        {
            using var source = Source.Open(env, service, request.Store, request.S3, request.TrustedKeys, request.InsecureSkipSignature, request.StallTimeout);
            (var artifact, manifest, state) = await ResolveAsync(source, tag, installed.Platform, state, request.DryRun, ct);
            if (manifest.Tag != tag)
            {
                throw new InstallerException("OSVA-I012", $"{tag} names {manifest.Tag} in the store of {service}, not a tag of its own",
                    $"repair by the tag's own name (osva-install list {service})");
            }
            if (manifest.Archive.Sha256 != installed.ArchiveSha256) throw Republished(service, artifact, manifest, installed);
            HostFacts.Detect(env).EnsureFits(manifest);
            var limits = ExtractLimits.For(manifest, artifact.Entry, env.Config);
            var builtFor = InstallerEnvironment.CheckInstallPath(manifest.InstallPath);
            actions.Add($"download {artifact.Id.ArchiveFileName} ({manifest.Archive.Size} bytes) from {source.Store.Location}");
            actions.Add($"replace {installed.InstallPath} with a fresh unpack ({check.Drift.Count} entries drifted)");
            if (!request.DryRun) state = await ReplaceAsync(source.Fetcher, artifact, manifest, limits, installed, builtFor, state, ct);
            changed = true;
        }
        if (state.Active == tag && !(request.DryRun && changed))
        {
            var (activated, activationActions, next, activationFiles) = await ActivationFlow.ActivateAsync(env, _states, state, manifest, installed,
                request.Activation, request.DryRun, "repair", ct);
            changed |= activated;
            actions.AddRange(activationActions);
            state = next;
            files = activationFiles;
        }
        else if (state.Active == tag)
        {
            actions.Add($"then rewrite whatever activation files of {tag} drifted");
        }
        return new CommandResult
        {
            Command = "repair", Service = service, Tag = tag, Changed = changed, DryRun = request.DryRun, Drift = check.Drift,
            Active = state.Active, Previous = state.Previous, Actions = actions, Files = files,
        };
    }

    private async Task<(ResolvedArtifact Artifact, Manifest Manifest, ServiceState State)> ResolveAsync(Source source, string tagOrAlias,
        string platform, ServiceState state, bool dryRun, CancellationToken ct)
    {
        var remembered = state.IndexVersions.GetValueOrDefault(source.Key);
        var artifact = await source.Fetcher.ResolveAsync(state.Service, tagOrAlias, platform, remembered, ct);
        if (!dryRun && (artifact.IndexVersion > remembered || source.Trust.Skipped))
        {
            // Remembered as soon as the index is verified, as TUF keeps trusted metadata: a later older index is refused.
            state = state with
            {
                IndexVersions = new Dictionary<string, long>(state.IndexVersions) { [source.Key] = Math.Max(remembered, artifact.IndexVersion) },
                History = source.Trust.Skipped ? [.. state.History, new StateEvent(env.Now, "insecure-skip-signature", artifact.Id.Tag, source.Key)] : state.History,
            };
            await _states.SaveAsync(state, ct);
        }
        return (artifact, await source.Fetcher.ReadManifestAsync(artifact, ct), state);
    }

    /// <summary>Renames a fresh tree into a free path and records it; on a full disk after the rename, takes it out again.</summary>
    private async Task<(InstalledTag, ServiceState)> InstallNewAsync(ArtifactFetcher fetcher, ResolvedArtifact artifact, Manifest manifest,
        ExtractLimits limits, string installPath, string builtFor, ServiceState state, CancellationToken ct)
    {
        var venvDir = env.HostPath(installPath);
        var parent = Path.GetDirectoryName(venvDir)!;
        var (service, tag) = (manifest.Service, manifest.Tag);
        var next = state;
        var installed = await FetchAndUnpackAsync(fetcher, artifact, manifest, limits, installPath, builtFor, "nothing was installed", async (unpackDir, fresh, c) =>
        {
            if (Directory.Exists(venvDir) && _target.IsOwnLeftover(service, tag, installPath))
            {
                // This tag's own install died between rename and record (its intent file says so): set aside, never merged.
                Directory.Move(venvDir, Path.Combine(Path.GetDirectoryName(unpackDir)!, $"leftover.{Guid.NewGuid():N}"));
            }
            await _target.WriteIntentAsync(service, tag, installPath, c);
            try
            {
                // Fails if anything took the path since EnsureFreeAsync: rename(2) never replaces a non-empty directory.
                Directory.Move(unpackDir, venvDir);
            }
            catch
            {
                // What is at the path now is not ours: the intent must not let a later run take it out.
                _target.DeleteIntent(service, tag);
                throw;
            }
            try
            {
                Native.SyncDirectory(parent);
                await _states.SaveTagFilesAsync(manifest, fresh.Tree, c);
                next = state with
                {
                    Installed = [.. state.Installed.Where(t => t.Tag != tag), fresh.Tag],
                    History = [.. state.History, new StateEvent(env.Now, "install", tag, null)],
                };
                await _states.SaveAsync(next, c);
            }
            catch (IOException e) when (DiskSpace.IsFull(e))
            {
                // Unrecorded, the venv would be a tree no command lists: back to staging (deleted there) so "nothing was installed" holds.
                Directory.Move(venvDir, unpackDir);
                _states.DeleteTagFiles(service, tag);
                _target.DeleteIntent(service, tag);
                throw;
            }
        }, ct);
        _target.DeleteIntent(service, tag);
        return (installed, next);
    }

    /// <summary>Swaps a fresh tree for the damaged one at the same path and records the repair.</summary>
    private async Task<ServiceState> ReplaceAsync(ArtifactFetcher fetcher, ResolvedArtifact artifact, Manifest manifest, ExtractLimits limits,
        InstalledTag installed, string builtFor, ServiceState state, CancellationToken ct)
    {
        var venvDir = env.HostPath(installed.InstallPath);
        var parent = Path.GetDirectoryName(venvDir)!;
        var next = state;
        await FetchAndUnpackAsync(fetcher, artifact, manifest, limits, installed.InstallPath, builtFor, $"{installed.InstallPath} was left as it was", async (unpackDir, fresh, c) =>
        {
            if (fresh.Tag.TreeHash != installed.TreeHash)
            {
                throw new InstallerException("OSVA-I031", $"{artifact.Id} unpacks to tree {fresh.Tag.TreeHash} here, but {installed.TreeHash} was recorded at install",
                    $"{installed.InstallPath} was left as it was; reinstall the tag (osva-install uninstall, then install)", ExitCode.VerificationFailed);
            }
            if (!Directory.Exists(venvDir)) Directory.Move(unpackDir, venvDir);
            else if (!Native.TryExchange(unpackDir, venvDir))
            {
                // No RENAME_EXCHANGE on this file system: two renames, the damaged tree put back if the second fails.
                var aside = unpackDir + ".damaged";
                Directory.Move(venvDir, aside);
                try
                {
                    Directory.Move(unpackDir, venvDir);
                }
                catch
                {
                    Directory.Move(aside, venvDir);
                    throw;
                }
                Directory.Move(aside, unpackDir);
            }
            // The damaged tree now sits in staging, where it is deleted with the rest.
            try
            {
                Native.SyncDirectory(parent);
                await _states.SaveTagFilesAsync(manifest, fresh.Tree, c);
                next = state with { History = [.. state.History, new StateEvent(env.Now, "repair", installed.Tag, null)] };
                await _states.SaveAsync(next, c);
            }
            catch (IOException e) when (DiskSpace.IsFull(e))
            {
                throw new InstallerException("OSVA-I040", $"{installed.InstallPath} was repaired, but recording it ran out of space: {e.Message}",
                    $"the venv is whole again; free space under {env.StateDirectory} and run osva-install repair {manifest.Service} {installed.Tag} again to record it",
                    ExitCode.HostMismatch, e);
            }
        }, ct);
        return next;
    }

    /// <summary>
    /// Downloads, unpacks and checks an artifact in <c>&lt;venvs&gt;/.staging</c>, relocates it if asked, syncs, then lets
    /// <paramref name="placeAsync"/> move it into place. Staging is emptied whatever happens; a full disk is OSVA-I040.
    /// </summary>
    private async Task<InstalledTag> FetchAndUnpackAsync(ArtifactFetcher fetcher, ResolvedArtifact artifact, Manifest manifest, ExtractLimits limits,
        string installPath, string builtFor, string outcomeOnFailure, Func<string, Unpacked, CancellationToken, Task> placeAsync, CancellationToken ct)
    {
        var venvDir = env.HostPath(installPath);
        var parent = Path.GetDirectoryName(venvDir)!;
        var staging = Path.Combine(parent, ".staging");
        // This service's unpack directories: under its lock none is in use, so whatever a killed run left is swept
        // before the space check. Partial downloads stay beside it in staging, for a later run to continue.
        var ownStaging = Path.Combine(staging, manifest.Service);
        var unpackDir = Path.Combine(ownStaging, $"{manifest.Tag}.{Guid.NewGuid():N}");
        string? archive = null;
        try
        {
            if (Directory.Exists(ownStaging)) Directory.Delete(ownStaging, recursive: true);
            Directory.CreateDirectory(ownStaging);
            // Every file takes at least part of a block more than its bytes; sizes were bounded by ExtractLimits.For.
            EnsureSpace(staging, manifest.Archive.Size + manifest.UnpackedSize + manifest.FileCount * 4096, artifact.Id, outcomeOnFailure);
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
            var fresh = new InstalledTag
            {
                Tag = manifest.Tag, Platform = manifest.Platform.Id, InstallPath = installPath, BuiltFor = builtFor,
                ArchiveSha256 = manifest.Archive.Sha256, TreeHash = treeHash, UnpackedSize = result.Size, FileCount = result.Files,
                InstalledAt = env.Now,
            };
            await placeAsync(unpackDir, new Unpacked(fresh, tree), ct);
            return fresh;
        }
        catch (IOException e) when (DiskSpace.IsFull(e))
        {
            throw new InstallerException("OSVA-I040", $"ran out of space while downloading or unpacking {artifact.Id}: {e.Message}",
                $"{outcomeOnFailure}; free space under {parent} or remove old tags (osva-install gc {manifest.Service} --keep 2)", ExitCode.HostMismatch, e);
        }
        finally
        {
            if (Directory.Exists(ownStaging)) Directory.Delete(ownStaging, recursive: true);
            if (archive is not null) File.Delete(archive);
        }
    }

    private static void EnsureSpace(string staging, long need, ArtifactId id, string outcome)
    {
        var free = new DriveInfo(staging).AvailableFreeSpace;
        if (free < need)
        {
            throw new InstallerException("OSVA-I040", $"{staging} has {free} bytes free, {id} needs {need}",
                $"{outcome}; free space there or remove old tags (osva-install gc {id.Service} --keep 2)", ExitCode.HostMismatch);
        }
    }

    private static InstallerException Republished(string service, ResolvedArtifact artifact, Manifest manifest, InstalledTag installed)
    {
        var why = artifact.Republished is { } r
            ? $"; the store's index records it was republished with --force at {r.Time:u} ({r.Detail})"
            : "; the store's index records no republish of it, so the store may have been changed behind the publisher's back";
        return new("OSVA-I042", $"{service} {manifest.Tag} on this host is archive {installed.ArchiveSha256}, the store now has {manifest.Archive.Sha256}{why}",
            $"this host keeps running the bytes it verified; to take the new ones, switch away from {manifest.Tag} if it is active, then osva-install uninstall {service} {manifest.Tag} and install it again",
            ExitCode.Conflict);
    }

    /// <summary>A checked tree in staging, and what recording it needs.</summary>
    private sealed record Unpacked(InstalledTag Tag, IReadOnlyList<TreeEntry> Tree);

    /// <summary>The store, its trust rules and a fetcher over both, for one command.</summary>
    private sealed class Source(IStoreReader store, TrustPolicy trust, ArtifactFetcher fetcher, string key) : IDisposable
    {
        public IStoreReader Store => store;
        public TrustPolicy Trust => trust;
        public ArtifactFetcher Fetcher => fetcher;
        /// <summary>The store's identity, under which the highest accepted index version is remembered.</summary>
        public string Key => key;

        public static Source Open(InstallerEnvironment env, string service, StoreLocation? requested, S3Settings s3, IReadOnlyList<string> trustedKeys,
            bool insecureSkipSignature, TimeSpan? stallTimeout)
        {
            var location = requested ?? (env.Config.Store is { } configured ? StoreLocation.Parse(configured) : throw new InstallerException("OSVA-I007",
                "no store given", $"pass --store LOCATION, or set store = LOCATION in {HostConfig.HostPath}"));
            var trust = TrustPolicy.Load(env.Config, trustedKeys, insecureSkipSignature);
            if (trust.Skipped)
            {
                Console.Error.WriteLine($"osva-install: warning: --insecure-skip-signature: using {location} for {service} without checking signatures this host requires");
            }
            try
            {
                var store = StoreReaders.Open(location, s3);
                return new Source(store, trust, new ArtifactFetcher(store, trust, env.Clock, stallTimeout ?? env.Config.StallTimeout), location.Identity);
            }
            catch
            {
                trust.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            store.Dispose();
            trust.Dispose();
        }
    }
}
