using System.CommandLine;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Distributor.Stores;

namespace OsVenvArtifacts.Distributor.Commands;

internal sealed record MirrorOptions(StoreOptions Store, string To, bool Json);

/// <summary>
/// <c>osva-publish mirror --store LOCATION --to DIR</c>: make DIR a plain copy of what readers see (index.json and the
/// files of every listed tag), servable by nginx or any HTTP server; osva-install reads it with --store http://....
/// Per service: changed files first (archives hash-checked while they download), index.json and index.json.sig last,
/// then tags the index no longer lists are removed. Publisher records (.osva/) are not copied: a mirror is read-only.
/// </summary>
internal static class MirrorCommand
{
    public static readonly Option<string> To = new("--to") { Description = "Directory to write the mirror into", Required = true };

    private static readonly UnixFileMode Readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    public static Command Create()
    {
        var command = new Command("mirror", "Sync a store to a plain directory any HTTP server can serve");
        command.Options.Add(To);
        CommonOptions.AddTo(command);
        CommonOptions.SetGuardedAction(command, (r, ct) =>
            RunAsync(new MirrorOptions(CommonOptions.BindStore(r), r.GetValue(To)!, r.GetValue(CommonOptions.Json)), ct));
        return command;
    }

    public static async Task<int> RunAsync(MirrorOptions options, CancellationToken ct)
    {
        using var store = options.Store.OpenWritable();
        var target = new DirectoryObjectStore(StoreLocation.Parse(Path.GetFullPath(options.To)));
        if (target.Location.Root == store.Location.Root)
        {
            throw new PublishException("OSVA-P070", "mirror target is the store itself", "give --to another directory", ExitCode.Usage);
        }
        Directory.CreateDirectory(target.Location.Root);
        var services = new List<string>();
        int copied = 0, unchanged = 0, removed = 0;
        long bytes = 0;
        await foreach (var service in store.ListFoldersAsync("", ct))
        {
            var indexBytes = await store.GetSmallAsync(StoreKeys.Index(service), ct);
            if (indexBytes is not { } raw) continue;
            StoreIndex index;
            using (var stream = new MemoryStream(raw.Data, writable: false))
            {
                index = await ArtifactJson.ReadIndexAsync(stream, $"{store.Location}/{StoreKeys.Index(service)}", ct);
            }
            // Read right after the index, so the pair is the one a publisher wrote (it writes the signature just after the index).
            var signature = await store.GetSmallAsync(StoreKeys.IndexSignature(service), ct);
            services.Add(service);
            var wanted = new HashSet<string>(StringComparer.Ordinal) { StoreKeys.Index(service) };
            if (signature is not null) wanted.Add(StoreKeys.IndexSignature(service));
            foreach (var tag in index.Tags)
            {
                // The large files, checked by the sha256 the index records instead of read into memory: archives and images.
                var large = tag.Artifacts.ToDictionary(a => StoreKeys.File(service, tag.Tag, a.ArchiveFileName), a => a.ArchiveSha256);
                foreach (var a in tag.Artifacts)
                {
                    // Only the image named as the archive is (the index is read from the store, so not trusted to name other keys).
                    if (a is { ImageFileName: { } image, ImageSha256: { } sha } && a.ArchiveFileName.EndsWith(".tar.gz", StringComparison.Ordinal)
                        && image == a.ArchiveFileName[..^".tar.gz".Length] + "." + ImageInfo.Squashfs)
                    {
                        large[StoreKeys.File(service, tag.Tag, image)] = sha;
                    }
                }
                await foreach (var o in store.ListAsync(StoreKeys.TagPrefix(service, tag.Tag), ct))
                {
                    wanted.Add(o.Key);
                    large.TryGetValue(o.Key, out var archive);
                    if (await IsCurrentAsync(target, o, archive, store, ct))
                    {
                        unchanged++;
                        continue;
                    }
                    await CopyAsync(store, target, o, archive, ct);
                    copied++;
                    bytes += o.Size;
                }
            }
            // The signature goes right after its index, as the publisher writes them: a host reading between the two
            // renames sees a pair that does not verify and refuses it (and retries), never a pair it accepts wrongly.
            await AtomicFile.WriteAllBytesAsync(target.PathOf(StoreKeys.Index(service)), raw.Data, ct, Readable);
            if (signature is { } sig) await AtomicFile.WriteAllBytesAsync(target.PathOf(StoreKeys.IndexSignature(service)), sig.Data, ct, Readable);

            await foreach (var local in target.ListAsync(service + "/", ct))
            {
                if (!wanted.Contains(local.Key))
                {
                    await target.DeleteAsync(local.Key, ct);
                    removed++;
                }
            }
        }
        var report = new MirrorReport(services, copied, unchanged, bytes, removed);
        if (options.Json) await Output.JsonAsync(report, PublishJsonContext.Default.MirrorReport);
        else await Output.LineAsync($"mirrored {services.Count} services to {target.Location.Root}: {copied} files copied ({Output.Size(bytes)}), {unchanged} unchanged, {removed} removed");
        return 0;
    }

    private static async Task<bool> IsCurrentAsync(DirectoryObjectStore target, StoredObject source, string? archive, IObjectStore store, CancellationToken ct)
    {
        var local = new FileInfo(target.PathOf(source.Key));
        if (!local.Exists || local.Length != source.Size) return false;
        if (archive is not null) return await Sha256.OfFileAsync(local.FullName, ct) == archive;
        // Small files (checksums, manifests, signatures) are compared byte for byte.
        var remote = await store.GetSmallAsync(source.Key, ct);
        var mine = await File.ReadAllBytesAsync(local.FullName, ct);
        return remote is { } r && r.Data.AsSpan().SequenceEqual(mine);
    }

    private static async Task CopyAsync(IObjectStore store, DirectoryObjectStore target, StoredObject source, string? archive, CancellationToken ct)
    {
        await using var input = await store.OpenReadAsync(source.Key, ct);
        await AtomicFile.WriteAsync(target.PathOf(source.Key), async (output, c) =>
        {
            await using var hashing = new HashingStream(input, leaveOpen: true);
            await hashing.CopyToAsync(output, 1 << 20, c);
            var actual = hashing.Finish();
            if (archive is not null && actual != archive)
            {
                throw new PublishException("OSVA-P071", $"{source.Key} has sha256 {actual} in {store.Location} but its index says {archive}",
                    "the store copy is damaged; republish that tag with --force, then mirror again", ExitCode.VerificationFailed);
            }
        }, ct, Readable);
    }
}
