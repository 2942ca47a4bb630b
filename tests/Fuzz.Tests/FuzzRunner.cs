using System.Diagnostics;
using System.Text.Json;
using OsVenvArtifacts.TestSupport;
using Xunit.Abstractions;

// Inputs run one at a time: the allocation bound reads the process-wide counter, and 2 cores are shared anyway.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace OsVenvArtifacts.Fuzz.Tests;

/// <summary>
/// How a run is chosen, from the environment `make fuzz` sets: OSVA_FUZZ_SEED (CI uses seed 1, so it replays the same
/// inputs every time), OSVA_FUZZ_ITERATIONS per target (CI: each target's own bounded count), OSVA_FUZZ_SECONDS (a
/// time budget per target), OSVA_FUZZ_TARGET (only that target) and OSVA_FUZZ_ITERATION (only that input: a replay).
/// </summary>
internal sealed record FuzzSettings(int Seed, int? Iterations, double? Seconds, string? Target, int? Iteration)
{
    public static FuzzSettings Current { get; } = new(
        Number("OSVA_FUZZ_SEED") ?? 1, Number("OSVA_FUZZ_ITERATIONS"),
        double.TryParse(Environment.GetEnvironmentVariable("OSVA_FUZZ_SECONDS"), System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0 ? s : null,
        Environment.GetEnvironmentVariable("OSVA_FUZZ_TARGET") is { Length: > 0 } t ? t : null, Number("OSVA_FUZZ_ITERATION"));

    private static int? Number(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= 0 ? n : null;
}

/// <summary>One input of a target: the target stores the bytes it built, so a failing input is also kept as a file.</summary>
internal sealed class FuzzCase(int iteration, Random random)
{
    public int Iteration { get; } = iteration;
    public Random Random { get; } = random;
    public byte[]? Input { get; set; }

    /// <summary>Time spent in an oracle's own process (python, visudo, GNU tar): not the input's, so not bounded.</summary>
    public TimeSpan OracleTime { get; private set; }

    public async Task<T> OracleAsync<T>(Func<Task<T>> check)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            return await check();
        }
        finally
        {
            OracleTime += Stopwatch.GetElapsedTime(start);
        }
    }
}

/// <summary>An oracle's verdict that an accepted input was handled wrongly (not an exception the code under test threw).</summary>
internal sealed class OracleFailure(string message) : Exception(message);

/// <summary>
/// Runs a target over mutated inputs and sorts each outcome: accepted (returned), refused (threw the target's
/// documented error type), or unexpected (any other exception, an oracle failure, or an input past the time or
/// allocation bound). Unexpected outcomes fail the test with target, seed and iteration, so
/// <c>make fuzz TARGET=t SEED=s ITERATION=i</c> replays the input exactly; the figures go to the test output and,
/// as one JSON line, to the trust log (<c>$OSVA_TRUST_LOG</c>, default TestResults/trust.jsonl) for make trust-report.
/// </summary>
internal static class FuzzRunner
{
    private const int ReportedFailures = 5;
    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(60);

    public static async Task RunAsync(ITestOutputHelper output, string target, int ciIterations, Func<FuzzCase, Task> input,
        Func<Exception, bool> documented, TimeSpan maxTime, long maxBytes)
    {
        var settings = FuzzSettings.Current;
        if (settings.Target is { } only && only != target) return;
        var count = settings.Iteration is { } one ? one + 1 : settings.Iterations ?? ciIterations;
        var first = settings.Iteration ?? 0;
        var budget = settings.Seconds is { } seconds ? Stopwatch.StartNew() : null;
        long accepted = 0, refused = 0, unexpected = 0, done = 0;
        var failures = new List<string>();
        var codes = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var running = (Iteration: -1, Since: Stopwatch.GetTimestamp());
        // A parser that loops forever would hang the run with no word of which input: say it, then stop the process.
        using var watchdog = new Timer(_ =>
        {
            var (i, since) = running;
            if (i < 0 || Stopwatch.GetElapsedTime(since) < HangLimit) return;
            var text = $"fuzz: {target} seed {settings.Seed} iteration {i} has run for {HangLimit.TotalSeconds:0} s (a hang); replay: {Replay(target, settings.Seed, i)}";
            Console.Error.WriteLine(text);
            Environment.FailFast(text);
        }, null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));

        // The first input runs once untimed: JIT and first-use costs are no input's fault, and a replay must see the same bounds.
        if (first < count)
        {
            try
            {
                await input(new FuzzCase(first, new Random(IterationSeed(settings.Seed, target, first))));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
            }
        }
        for (var iteration = first; iteration < count; iteration++)
        {
            if (budget is not null && budget.Elapsed.TotalSeconds > settings.Seconds) break;
            var fuzzCase = new FuzzCase(iteration, new Random(IterationSeed(settings.Seed, target, iteration)));
            var allocated = GC.GetTotalAllocatedBytes(precise: false);
            running = (iteration, Stopwatch.GetTimestamp());
            Exception? error = null;
            try
            {
                await input(fuzzCase);
            }
            catch (Exception e)
            {
                error = e;
            }
            var elapsed = Stopwatch.GetElapsedTime(running.Since) - fuzzCase.OracleTime;
            running = (-1, 0);
            var bytes = GC.GetTotalAllocatedBytes(precise: false) - allocated;
            done++;
            string? problem = null;
            if (error is not null && (error is OracleFailure || !documented(error))) problem = error.ToString();
            else if (elapsed > maxTime) problem = $"took {elapsed.TotalSeconds:0.0} s, over the {maxTime.TotalSeconds:0.#} s bound";
            else if (bytes > maxBytes) problem = $"allocated {bytes >> 20} MB, over the {maxBytes >> 20} MB bound";

            if (problem is not null)
            {
                unexpected++;
                if (failures.Count < ReportedFailures) failures.Add(Describe(target, settings.Seed, fuzzCase, problem));
            }
            else if (error is null) accepted++;
            else
            {
                refused++;
                var code = error is Artifact.OsvaException osva ? osva.Code : error.GetType().Name;
                codes[code] = codes.GetValueOrDefault(code) + 1;
            }
        }

        var summary = $"fuzz {target}: seed {settings.Seed}, {done} iterations, {unexpected} unexpected, {refused} refused, {accepted} accepted";
        output.WriteLine(summary);
        output.WriteLine("refused by code: " + string.Join(", ", codes.Select(c => $"{c.Key} {c.Value}")));
        Console.WriteLine(summary);
        TrustLog.Append(new FuzzLine("fuzz", target, settings.Seed, done, unexpected, refused, accepted));
        Assert.True(unexpected == 0, $"{summary}\n\n{string.Join("\n\n", failures)}");
    }

    /// <summary>Each input from (seed, target, iteration) alone, so one input replays without running those before it.</summary>
    private static int IterationSeed(int seed, string target, int iteration)
    {
        var h = 14695981039346656037UL;
        foreach (var c in target) h = (h ^ c) * 1099511628211UL;
        var x = h ^ ((ulong)(uint)seed << 32) ^ (uint)iteration;
        // SplitMix64's finaliser: neighbouring iterations get unrelated generators.
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return (int)((x ^ (x >> 31)) & int.MaxValue);
    }

    private static string Replay(string target, int seed, int iteration) => $"make fuzz TARGET={target} SEED={seed} ITERATION={iteration}";

    private static string Describe(string target, int seed, FuzzCase fuzzCase, string problem)
    {
        var text = $"{target} seed {seed} iteration {fuzzCase.Iteration}: {problem}\n  replay: {Replay(target, seed, fuzzCase.Iteration)}";
        if (fuzzCase.Input is { } bytes)
        {
            var dir = Path.Combine(TestEnvironment.RepoRoot, "TestResults", "fuzz");
            Directory.CreateDirectory(dir);
            var file = Path.Combine(dir, $"{target}-{seed}-{fuzzCase.Iteration}.input");
            File.WriteAllBytes(file, bytes);
            text += $"\n  input: {file}";
        }
        return text;
    }
}

internal sealed record FuzzLine(string Kind, string Target, int Seed, long Iterations, long Unexpected, long Refused, long Accepted);

/// <summary>The JSON-lines log make trust-report reads: one object per line, appended.</summary>
internal static class TrustLog
{
    private static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static string PathOf() => Environment.GetEnvironmentVariable("OSVA_TRUST_LOG") is { Length: > 0 } p
        ? p : Path.Combine(TestEnvironment.RepoRoot, "TestResults", "trust.jsonl");

    public static void Append(FuzzLine line)
    {
        var path = PathOf();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.AppendAllText(path, JsonSerializer.Serialize(line, Options) + "\n");
    }
}
