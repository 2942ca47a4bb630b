using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Distributor.Publishing;

/// <summary>
/// Publishes one checked local artifact: refuse a different artifact under a published tag (unless forced), upload
/// the files that are not already there, write the artifact's entry, then settle the index. The index is the last
/// thing written, so a reader never sees a tag whose files are incomplete.
/// </summary>
internal sealed class Publisher(ServiceCatalog catalog, TimeProvider clock, IProgress<long>? progress = null)
{
    public async Task<PublishReport> PublishAsync(LocalArtifact artifact, bool force, string? alias, CancellationToken ct)
    {
        var id = artifact.Id;
        var platform = id.Platform.ToString();
        var existing = await catalog.ReadEntryAsync(id.Service, id.Tag, platform, ct);
        // A yanked tag stays taken: it was taken back for a reason and hosts may still hold its bytes, so bringing it
        // back (even the same bytes) takes --force, recorded in the history.
        var yanked = existing is null ? await catalog.ReadYankedAsync(id.Service, id.Tag, platform, ct) : null;
        var previous = existing ?? yanked;
        var same = previous is not null && previous.ArchiveSha256 == artifact.Archive.Sha256 && previous.ManifestSha256 == artifact.ManifestFile.Sha256;
        if (previous is not null && (!same || yanked is not null) && !force)
        {
            throw new PublishException("OSVA-P020",
                $"{id.Service} tag {id.Tag} ({platform}) {(yanked is null ? "is already published" : "was published and yanked")} with sha256 {previous.ArchiveSha256}; this artifact has {artifact.Archive.Sha256}",
                "tags are immutable, yanked ones too: publish under a new tag, or pass --force to bring it back (recorded in the index history)", ExitCode.Conflict);
        }

        long uploaded = 0;
        var skipped = 0;
        foreach (var file in artifact.Files)
        {
            var key = id.StoreKey(file.Name);
            if (await catalog.Store.HasContentAsync(key, file.Size, file.Sha256, ct))
            {
                skipped++;
                progress?.Report(file.Size);
                continue;
            }
            await catalog.Store.PutFileAsync(key, file.Path, file.Sha256, progress, ct);
            uploaded += file.Size;
        }

        string status;
        if (same && existing is not null)
        {
            status = "unchanged";
        }
        else
        {
            var entry = new IndexArtifact
            {
                Platform = platform,
                ArchiveFileName = id.ArchiveFileName,
                ArchiveSha256 = artifact.Archive.Sha256,
                ArchiveSize = artifact.Archive.Size,
                ManifestSha256 = artifact.ManifestFile.Sha256,
                Published = clock.GetUtcNow(),
                ImageFileName = artifact.Image?.Name,
                ImageSha256 = artifact.Image?.Sha256,
                ImageSize = artifact.Image?.Size,
            };
            await catalog.WriteEntryAsync(id.Service, id.Tag, entry, ct);
            status = previous is null ? "published" : "forced";
            var replaced = yanked is null ? previous?.ArchiveSha256 : $"{previous?.ArchiveSha256} (yanked)";
            var detail = status == "published" ? $"sha256 {entry.ArchiveSha256}"
                : same ? $"republished sha256 {entry.ArchiveSha256} after its yank"
                : $"replaced sha256 {replaced} with {entry.ArchiveSha256}";
            await catalog.RecordAsync(id.Service, status == "forced" ? "force-publish" : "publish", id.Tag, platform, detail, ct);
        }

        if (alias is not null)
        {
            await Aliases.PointAsync(catalog, id.Service, alias, id.Tag, knownTag: true, ct);
        }
        await catalog.SettleIndexAsync(id.Service, ct);
        return new PublishReport(id.Service, id.Tag, platform, status, artifact.Archive.Sha256, artifact.Archive.Size, uploaded, skipped, alias);
    }
}

/// <summary>Moving an alias (stable, candidate) to a tag, shared by publish --alias and promote.</summary>
internal static class Aliases
{
    public static async Task<bool> PointAsync(ServiceCatalog catalog, string service, string alias, string tag, bool knownTag, CancellationToken ct)
    {
        Names.Tag(alias);
        if (alias == tag)
        {
            throw new PublishException("OSVA-P040", $"alias '{alias}' would have the same name as the tag it points to",
                "choose an alias name that is not a tag, such as stable or candidate", ExitCode.Usage);
        }
        if (!knownTag && (await catalog.ReadEntriesAsync(service, tag, ct)).Count == 0)
        {
            throw new PublishException("OSVA-P041", $"{service} has no published tag {tag}",
                "publish it first, or pick a tag from osva-publish list", ExitCode.InvalidInput);
        }
        if ((await catalog.ReadEntriesAsync(service, alias, ct)).Count > 0)
        {
            throw new PublishException("OSVA-P042", $"'{alias}' is already a tag of {service}; an alias of that name would hide it",
                "choose another alias name", ExitCode.Conflict);
        }
        var index = await catalog.ReadIndexAsync(service, ct);
        if (index?.Aliases.TryGetValue(alias, out var current) == true && current == tag) return false;
        await catalog.WriteAliasAsync(service, alias, tag, ct);
        await catalog.RecordAsync(service, "promote", tag, null, $"{alias} -> {tag}" + (index?.Aliases.TryGetValue(alias, out var was) == true ? $" (was {was})" : ""), ct);
        return true;
    }
}
