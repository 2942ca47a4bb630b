using System.CommandLine;
using System.Text;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.Distributor.Commands;

internal sealed record KeygenOptions(string Out, bool Json);

/// <summary>
/// <c>osva-publish keygen --out PREFIX</c>: a new ECDSA P-256 pair, PREFIX.key (private, mode 0600) and PREFIX.pub,
/// for signing manifests (osva-build --signing-key) and indexes (osva-publish --signing-key). Never overwrites a key.
/// </summary>
internal static class KeygenCommand
{
    public static readonly Option<string> Out = new("--out") { Description = "Write PREFIX.key and PREFIX.pub", Required = true };

    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode Public = Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    public static Command Create()
    {
        var command = new Command("keygen", "Create a signing key pair: PREFIX.key (private, 0600) and PREFIX.pub; prints the key id");
        command.Options.Add(Out);
        command.Options.Add(CommonOptions.Json);
        command.Options.Add(CommonOptions.Verbose);
        command.SetAction((r, ct) => CommandGuard.RunAsync(CommonOptions.Program, r.GetValue(CommonOptions.Verbose), r.GetValue(CommonOptions.Json),
            c => RunAsync(new KeygenOptions(r.GetValue(Out)!, r.GetValue(CommonOptions.Json)), c), ct));
        return command;
    }

    public static async Task<int> RunAsync(KeygenOptions options, CancellationToken ct)
    {
        var privatePath = options.Out + ".key";
        var publicPath = options.Out + ".pub";
        foreach (var path in new[] { privatePath, publicPath })
        {
            if (File.Exists(path)) throw Exists(path);
        }
        var (privatePem, publicPem) = Signatures.CreateKeyPair();
        var directory = Path.GetDirectoryName(Path.GetFullPath(privatePath))!;
        Directory.CreateDirectory(directory);
        await WriteNewAsync(privatePath, privatePem + "\n", Private, ct);
        await WriteNewAsync(publicPath, publicPem + "\n", Public, ct);

        string keyId;
        using (var key = Signatures.LoadKey(publicPath)) keyId = Signatures.KeyId(key);
        if (options.Json) await Output.JsonAsync(new KeygenReport(privatePath, publicPath, keyId), PublishJsonContext.Default.KeygenReport);
        else await Output.LineAsync($"wrote {privatePath} (private, mode 0600) and {publicPath}; key id {keyId}");
        return 0;
    }

    /// <summary>Created with its mode (never readable by others, not even for a moment) and only if absent.</summary>
    private static async Task WriteNewAsync(string path, string text, UnixFileMode mode, CancellationToken ct)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode });
        }
        catch (IOException) when (File.Exists(path))
        {
            throw Exists(path);
        }
        await using (stream)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(text), ct);
            await stream.FlushAsync(ct);
            stream.Flush(flushToDisk: true);
        }
    }

    private static PublishException Exists(string path) =>
        new("OSVA-P083", $"{path} already exists; keygen never overwrites a key", "choose another --out PREFIX, or move the old pair away first", ExitCode.Conflict);
}
