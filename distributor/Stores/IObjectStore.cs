using OsVenvArtifacts.Artifact.Store;

namespace OsVenvArtifacts.Distributor.Stores;

/// <summary>One object as a listing or head request reports it. <see cref="ETag"/> is null where the store has none.</summary>
internal sealed record StoredObject(string Key, long Size, string? ETag);

/// <summary>
/// A writable store: a directory or an S3 bucket+prefix. Keys are relative to the store root and use '/'.
/// Both implementations pass the same contract tests (tests/Distributor.Tests/StoreContractTests.cs).
/// </summary>
internal interface IObjectStore : IStoreReader
{
    /// <summary>True when the stored object has exactly this size and sha256, so uploading it again can be skipped.</summary>
    Task<bool> HasContentAsync(string key, long size, string sha256, CancellationToken ct);

    /// <summary>Uploads a file whose sha256 the caller has already checked; readers never see a partial object.</summary>
    Task PutFileAsync(string key, string path, string sha256, IProgress<long>? progress, CancellationToken ct);

    /// <summary>
    /// Writes a small object. With <paramref name="ifMatch"/> (an ETag, or "*" meaning "must not exist") the write is
    /// conditional where the server supports it; returns false when the condition failed.
    /// </summary>
    Task<bool> PutSmallAsync(string key, byte[] data, string? ifMatch, CancellationToken ct);

    /// <summary>Reads a small object with its ETag, or null when absent.</summary>
    Task<(byte[] Data, string? ETag)?> GetSmallAsync(string key, CancellationToken ct);

    /// <summary>Every object under a prefix (recursively), in key order.</summary>
    IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken ct);

    /// <summary>The names of the immediate "folders" under a prefix.</summary>
    IAsyncEnumerable<string> ListFoldersAsync(string prefix, CancellationToken ct);

    /// <summary>Deletes a key; deleting an absent key is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken ct);

    /// <summary>
    /// Serialises index updates of one service where the store can (a lock file in a directory store);
    /// S3 has no locks, so there the index protocol alone keeps entries safe.
    /// </summary>
    Task<IAsyncDisposable> LockServiceAsync(string service, CancellationToken ct);
}
