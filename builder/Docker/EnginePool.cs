using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Builder.Build;

namespace OsVenvArtifacts.Builder.Docker;

/// <summary>
/// The engines a build spreads its services over. The first is where platform images are found or built; an other
/// engine that lacks a job's image gets that very image (same ID, so the same build key and the same bytes) by
/// export from the first and load, never by building or pulling its own.
/// </summary>
internal sealed class EnginePool : IDisposable
{
    private readonly Dictionary<(DockerEngine, string), Task> _loads = [];

    private EnginePool(IReadOnlyList<DockerEngine> engines) => Engines = engines;

    public IReadOnlyList<DockerEngine> Engines { get; }

    public DockerEngine First => Engines[0];

    public static EnginePool Of(DockerEngine engine) => new([engine]);

    /// <summary>
    /// Connects to every engine at once and fails on the first that does not answer, before any work starts;
    /// two URIs that reach one engine are refused, since they would only double its load.
    /// </summary>
    public static async Task<EnginePool> ConnectAsync(IReadOnlyList<string> uris, CancellationToken ct)
    {
        if (uris.Count == 0) return Of(await DockerEngine.ConnectAsync(ct));
        var connects = uris.Select(u => DockerEngine.ConnectAsync(u, ct)).ToList();
        try
        {
            await Task.WhenAll(connects);
        }
        catch
        {
            // await rethrows the failure of the first engine in the order given; the ones that answered are let go.
            foreach (var c in connects.Where(c => c.IsCompletedSuccessfully)) c.Result.Dispose();
            throw;
        }
        var pool = new EnginePool([.. connects.Select(c => c.Result)]);
        try
        {
            var ids = await Task.WhenAll(pool.Engines.Select(e => e.IdentityAsync(ct)));
            for (var i = 1; i < ids.Length; i++)
            {
                var first = Array.IndexOf(ids, ids[i]);
                if (first < i)
                {
                    throw new BuilderException("OSVA-B103", $"--engine {uris[first]} and --engine {uris[i]} reach the same Docker engine ({ids[i]})",
                        "give each engine once", ExitCode.Usage);
                }
            }
            return pool;
        }
        catch
        {
            pool.Dispose();
            throw;
        }
    }

    /// <summary>Makes sure <paramref name="engine"/> has the image, loading it from the first engine once however many jobs ask.</summary>
    public Task EnsureImageAsync(DockerEngine engine, PlatformImage image, BuildLog log, CancellationToken ct)
    {
        if (engine == First) return Task.CompletedTask;
        lock (_loads)
        {
            if (!_loads.TryGetValue((engine, image.Id), out var load) || load.IsFaulted || load.IsCanceled)
            {
                load = LoadAsync(engine, image, log, ct);
                _loads[(engine, image.Id)] = load;
            }
            return load;
        }
    }

    private async Task LoadAsync(DockerEngine engine, PlatformImage image, BuildLog log, CancellationToken ct)
    {
        if (await engine.TryInspectImageAsync(image.Id, ct) is not null) return;
        var step = $"{image.Platform}@{engine.Name}";
        log.Step(step, $"loading image {image.Name} from {First.Name}");
        try
        {
            // docker save | docker load through the API: the tar streams from one engine into the other, never held here.
            await using (var tar = await First.SaveImageAsync(image.Name, ct))
            {
                await engine.LoadImageAsync(tar, ct);
            }
            if (await engine.TryInspectImageAsync(image.Id, ct) is not { } loaded || loaded != image.Id)
            {
                throw new IOException($"the loaded image is not {image.Id}");
            }
        }
        catch (Exception e) when (e is not OperationCanceledException && e is not BuilderException)
        {
            throw new BuilderException("OSVA-B102", $"cannot load image {image.Name} from {First.Name} into {engine.Name}: {DockerEngine.Innermost(e).Message}",
                $"check both engines answer and {engine.Name} has disk space (docker -H {engine.Name} system df), or leave out --engine {engine.Name}", ExitCode.BuildFailed, e);
        }
        finally
        {
            log.Done(step);
        }
    }

    public void Dispose()
    {
        foreach (var engine in Engines) engine.Dispose();
    }
}
