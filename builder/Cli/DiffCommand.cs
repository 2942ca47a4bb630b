using System.CommandLine;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Builder.Packing;

namespace OsVenvArtifacts.Builder.Cli;

/// <summary><c>osva-build diff A.tar.gz B.tar.gz</c>: names the first differing entries; exit 0 when identical.</summary>
internal static class DiffCommand
{
    private static readonly Argument<string> A = new("A") { Description = "First artifact (.tar.gz)" };
    private static readonly Argument<string> B = new("B") { Description = "Second artifact (.tar.gz)" };
    private static readonly Option<int> Limit = new("--limit") { Description = "How many differences to name", DefaultValueFactory = _ => 10 };

    public static Command Create()
    {
        var command = new Command("diff", "Compare two artifacts entry by entry and name the first differences") { A, B, Limit, CommonOptions.Verbose };
        command.SetAction((ParseResult r, CancellationToken ct) =>
            CommandGuard.RunAsync(CommonOptions.Program, r.GetValue(CommonOptions.Verbose), json: false, async c =>
            {
                var a = r.GetValue(A)!;
                var b = r.GetValue(B)!;
                var differences = await ArchiveDiff.CompareAsync(a, b, Math.Max(1, r.GetValue(Limit)), c);
                foreach (var d in differences) await Console.Out.WriteLineAsync(d);
                if (differences.Count > 0) return (int)ExitCode.VerificationFailed;
                if (await Sha256.OfFileAsync(a, c) != await Sha256.OfFileAsync(b, c))
                {
                    await Console.Out.WriteLineAsync("entries identical; the compressed bytes differ (another zlib build or compression level)");
                    return (int)ExitCode.VerificationFailed;
                }
                await Console.Out.WriteLineAsync("identical");
                return (int)ExitCode.Ok;
            }, ct));
        return command;
    }
}
