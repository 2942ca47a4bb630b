using System.Collections.Concurrent;
using System.Text.Json;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Builder.Docker;
using OsVenvArtifacts.Builder.Release;

namespace OsVenvArtifacts.Builder.Build;

internal sealed record BuildOptions(
    string ReleaseFile,
    string OutDirectory,
    int Jobs,
    IReadOnlyList<string> Only,
    string? Store,
    S3Settings S3,
    string? ImagesDirectory,
    string? SigningKey,
    bool Json,
    bool Verbose,
    IReadOnlyList<string>? Engines = null);

/// <summary>
/// Builds every service of a release on every platform it names: images first (once per platform, on the first
/// engine), then each artifact whose build key is not already in --out or --store, spread over the engines: each
/// engine runs up to --jobs builds and takes the next unbuilt artifact when one finishes.
/// </summary>
internal static class ReleaseBuilder
{
    public static async Task<int> RunAsync(BuildOptions options, CancellationToken ct)
    {
        var release = await ReleaseParser.LoadAsync(options.ReleaseFile, ct);
        var services = Select(release, options.Only);
        using var signer = ManifestSigner.Open(options.SigningKey);
        var log = new BuildLog(options.Verbose);
        var images = PlatformImages.Locate(options.ImagesDirectory, Path.GetDirectoryName(release.Path));

        // Every engine answers before --out is even created, so an engine that is down leaves nothing behind.
        using var engines = await ConnectAsync(services, options.Engines ?? [], ct);
        Directory.CreateDirectory(options.OutDirectory);
        var outDirectory = Path.GetFullPath(options.OutDirectory);
        var platformImages = new PlatformImages(engines.First, images);
        var inputs = new BuildInputs();
        var jobs = new List<BuildJob>();
        var imageCache = new Dictionary<string, PlatformImage>(StringComparer.Ordinal);
        foreach (var spec in services)
        {
            foreach (var platform in spec.Platforms)
            {
                var image = await ImageForAsync(platformImages, imageCache, spec, platform, log, ct);
                var wheels = spec.Wheelhouse is null ? [] : await inputs.WheelsAsync(spec.Wheelhouse, ct);
                var key = await BuildInputs.KeyAsync(spec, platform, image.Id, wheels, null, ct);
                jobs.Add(new BuildJob(spec, image, wheels, key, null));
            }
        }
        var outcomes = await RunJobsAsync(jobs, engines, log, outDirectory, options, signer, ct);
        // The engine ends a built line only when engines were chosen, so the default line stays what scripts already parse.
        Report(outcomes, options.Json, engines: options.Engines is { Count: > 0 });
        return 0;
    }

    /// <summary>Builds the jobs that are not cached on one engine; <c>rebuild</c> uses it.</summary>
    internal static async Task<List<BuildOutcome>> RunJobsAsync(List<BuildJob> jobs, DockerEngine engine, BuildLog log, string outDirectory,
        BuildOptions options, ManifestSigner? signer, CancellationToken ct) =>
        await RunJobsAsync(jobs, EnginePool.Of(engine), log, outDirectory, options, signer, ct);

    /// <summary>
    /// Looks every job up in the cache first (a hit builds nothing and moves no image), then runs the rest from one
    /// queue: --jobs workers per engine, started engine by engine in turn, each taking the next job when it is free.
    /// </summary>
    internal static async Task<List<BuildOutcome>> RunJobsAsync(List<BuildJob> jobs, EnginePool engines, BuildLog log, string outDirectory,
        BuildOptions options, ManifestSigner? signer, CancellationToken ct)
    {
        using var cache = await ArtifactCache.OpenAsync(outDirectory, options.Store, options.S3, ct);
        var results = await Task.WhenAll(jobs.Select(async job =>
        {
            if (await cache.FindAsync(job, ct) is not { } hit) return null;
            // A hit in --out is signed now if it was built unsigned; a store hit is the store's business.
            if (signer is not null && Path.GetDirectoryName(hit.Path) == outDirectory)
            {
                await signer.EnsureSignedAsync(outDirectory, new ArtifactId(hit.Service, hit.Tag, PlatformId.Parse(hit.Platform)), ct);
            }
            return hit;
        }));
        var queue = new ConcurrentQueue<int>(Enumerable.Range(0, jobs.Count).Where(i => results[i] is null));
        var failures = new List<BuilderException>();
        var lost = new ConcurrentDictionary<DockerEngine, Exception>();
        var unfinished = queue.Count;
        var workers = Enumerable.Range(0, Math.Max(1, options.Jobs))
            .SelectMany(_ => engines.Engines)
            .Select(engine => WorkAsync(engine, new ServiceBuilder(engine, log, signer)))
            .ToList();
        await Task.WhenAll(workers);
        // Left in the queue only when every engine went away.
        while (queue.TryDequeue(out var i))
        {
            var (engine, cause) = lost.First();
            failures.Add(DockerEngine.NotReachable(engine.Name, cause).ForService(jobs[i].Spec.Name));
        }

        async Task WorkAsync(DockerEngine engine, ServiceBuilder builder)
        {
            while (!lost.ContainsKey(engine))
            {
                if (!queue.TryDequeue(out var i))
                {
                    // Idle while other engines still build: a job of one that goes away comes back to the queue.
                    if (Volatile.Read(ref unfinished) == 0) return;
                    await Task.Delay(200, ct);
                    continue;
                }
                var job = jobs[i];
                var requeued = false;
                try
                {
                    await engines.EnsureImageAsync(engine, job.Image, log, ct);
                    results[i] = await builder.BuildAsync(job, outDirectory, ct) with { Engine = engine.Name };
                }
                catch (Exception e) when (e is BuilderException || (e is not OperationCanceledException && DockerEngine.IsConnectionFailure(e)))
                {
                    if (!await engine.AnswersAsync(ct))
                    {
                        // The engine went away, not the build: the job goes back for another engine, and this engine takes no more.
                        if (lost.TryAdd(engine, e))
                        {
                            await Console.Error.WriteLineAsync($"osva-build: engine {engine.Name} stopped answering ({DockerEngine.Innermost(e).Message}); "
                                + "what it was building goes to the other engines");
                        }
                        queue.Enqueue(i);
                        requeued = true;
                        return;
                    }
                    var failure = e as BuilderException ?? DockerEngine.NotReachable(engine.Name, e);
                    lock (failures) failures.Add(failure.ForService(job.Spec.Name));
                }
                finally
                {
                    // Whatever ended the job (even a bug), idle workers must not wait for it forever.
                    if (!requeued) Interlocked.Decrement(ref unfinished);
                }
            }
        }

        if (failures.Count == 1) throw failures[0];
        if (failures.Count > 1)
        {
            foreach (var f in failures) await Console.Error.WriteLineAsync($"osva-build: error {f.Code}: {f.Message} (hint: {f.Hint})");
            throw new BuilderException("OSVA-B029", $"{failures.Count} of {jobs.Count} artifacts failed: {string.Join(", ", failures.Select(f => f.Message.Split(':')[0]))}",
                "see the errors above; artifacts that built are in the output directory");
        }
        return [.. results.OfType<BuildOutcome>()];
    }

    private static List<ServiceSpec> Select(ReleaseFile release, IReadOnlyList<string> only)
    {
        foreach (var name in only.Where(n => release.Services.All(s => s.Name != n)))
        {
            throw new BuilderException("OSVA-B012", $"--only {name}: no such service in {release.Path}",
                $"use one of: {string.Join(", ", release.Services.Select(s => s.Name))}", ExitCode.Usage);
        }
        return [.. release.Services.Where(s => only.Count == 0 || only.Contains(s.Name))];
    }

    private static async Task<EnginePool> ConnectAsync(IReadOnlyList<ServiceSpec> services, IReadOnlyList<string> engines, CancellationToken ct)
    {
        try
        {
            return await EnginePool.ConnectAsync(engines, ct);
        }
        catch (BuilderException e) when (e.ExitCode != ExitCode.Usage)
        {
            throw new BuilderException(e.Code, $"cannot build {string.Join(", ", services.Select(s => s.Name))}: {e.Message}", e.Hint, e.ExitCode, e);
        }
    }

    /// <summary>The platform image, or a derived one with the service's buildPackages installed (built once, cached by tag).</summary>
    private static async Task<PlatformImage> ImageForAsync(PlatformImages images, Dictionary<string, PlatformImage> cache, ServiceSpec spec,
        string platform, BuildLog log, CancellationToken ct)
    {
        try
        {
            if (!cache.TryGetValue(platform, out var image))
            {
                log.Step(platform, "checking image");
                image = await images.EnsureAsync(platform, line => log.Detail(platform, line), ct);
                log.Done(platform);
                cache[platform] = image;
            }
            if (spec.BuildPackages.Count == 0) return image;
            var derivedKey = $"{platform}+{string.Join(' ', spec.BuildPackages.Order(StringComparer.Ordinal))}";
            if (cache.TryGetValue(derivedKey, out var derived)) return derived;
            derived = await images.EnsureDerivedAsync(image, spec.BuildPackages, log, ct);
            cache[derivedKey] = derived;
            return derived;
        }
        catch (BuilderException e)
        {
            throw e.ForService(spec.Name);
        }
    }

    private static void Report(IReadOnlyList<BuildOutcome> outcomes, bool json, bool engines)
    {
        if (!json)
        {
            foreach (var o in outcomes) Console.Out.WriteLine($"{o.Path} {o.Sha256} {o.Size} {o.Status}{(engines && o.Engine is not null ? $" {o.Engine}" : "")}");
            return;
        }
        using var stdout = Console.OpenStandardOutput();
        using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
        w.WriteStartArray();
        foreach (var o in outcomes)
        {
            w.WriteStartObject();
            w.WriteString("service", o.Service);
            w.WriteString("tag", o.Tag);
            w.WriteString("platform", o.Platform);
            w.WriteString("path", o.Path);
            w.WriteString("sha256", o.Sha256);
            w.WriteNumber("size", o.Size);
            w.WriteString("status", o.Status);
            w.WriteString("engine", o.Engine);
            w.WriteNumber("seconds", Math.Round(o.Elapsed.TotalSeconds, 3));
            if (o.Times is { } t)
            {
                w.WriteNumber("pipSeconds", Math.Round(t.Pip.TotalSeconds, 3));
                w.WriteNumber("packSeconds", Math.Round(t.Pack.TotalSeconds, 3));
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.Flush();
        stdout.WriteByte((byte)'\n');
    }
}
