using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace OsVenvArtifacts.Distributor.Commands;

internal static class Output
{
    public static Task JsonAsync<T>(T value, JsonTypeInfo<T> type) => Console.Out.WriteLineAsync(JsonSerializer.Serialize(value, type));

    public static Task LineAsync(string line) => Console.Out.WriteLineAsync(line);

    /// <summary>Something the user should know that is not the result: on stderr, so --json output stays one document.</summary>
    public static Task NoteAsync(string line) => Console.Error.WriteLineAsync($"{CommonOptions.Program}: {line}");

    /// <summary>What a change that found a stale index.json.sig (<see cref="Publishing.SignatureState.Stale"/>) did about it.</summary>
    public static Task RepairedSignatureAsync(string service, Publishing.IndexSigner signer) =>
        NoteAsync($"repaired {Artifact.StoreKeys.IndexSignature(service)}: it did not verify under key {signer.KeyId} "
            + "(a change interrupted between index.json and its signature, or a signature by another key); the index is signed again");

    public static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{bytes / (double)(1L << 10):0.0} KiB",
        _ => $"{bytes} B",
    };
}

/// <summary>
/// Bytes-done progress on stderr, redrawn in place at most five times a second. Only on a terminal and never with
/// --json, so logs and scripts see no carriage returns. Safe to report from parallel part uploads.
/// </summary>
internal sealed class TerminalProgress(string label, long total) : IProgress<long>, IDisposable
{
    private readonly long _started = Environment.TickCount64;
    private long _done;
    private long _lastDraw;

    public static TerminalProgress? Create(string label, long total, bool json) =>
        json || Console.IsErrorRedirected ? null : new TerminalProgress(label, total);

    public void Report(long value)
    {
        var done = Interlocked.Add(ref _done, value);
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastDraw);
        if (now - last < 200 || Interlocked.CompareExchange(ref _lastDraw, now, last) != last) return;
        var seconds = Math.Max((now - _started) / 1000.0, 0.001);
        Console.Error.Write($"\r{label}: {Output.Size(done)} / {Output.Size(total)} ({Output.Size((long)(done / seconds))}/s)   ");
    }

    public void Dispose()
    {
        if (Interlocked.Read(ref _lastDraw) != 0) Console.Error.Write("\r\u001b[K");
    }
}
