using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Builder.Packing;
using OsVenvArtifacts.Builder.Release;

namespace OsVenvArtifacts.Builder.Build;

/// <summary>One wheel of a wheelhouse and its sha256.</summary>
internal sealed record Wheel(string FileName, string Path, string Sha256);

/// <summary>
/// The build key: sha256 over everything that can change an artifact's bytes or manifest: builder version,
/// packing format revision, platform and image ID, the whole service spec (requirements, scripts, packages, hints, install path,
/// SOURCE_DATE_EPOCH), the constraints file and the hash of every wheel in the wheelhouse.
/// Same key, same artifact: that is what lets the cache skip a build.
/// </summary>
internal sealed class BuildInputs
{
    private readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyList<Wheel>>>> _wheelhouses = new(StringComparer.Ordinal);

    public static string ToolVersion { get; } =
        typeof(BuildInputs).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>The wheels of a wheelhouse, hashed once per run however many services share it.</summary>
    public Task<IReadOnlyList<Wheel>> WheelsAsync(string wheelhouse, CancellationToken ct) =>
        _wheelhouses.GetOrAdd(wheelhouse, w => new Lazy<Task<IReadOnlyList<Wheel>>>(() => HashWheelsAsync(w, ct))).Value;

    private static async Task<IReadOnlyList<Wheel>> HashWheelsAsync(string wheelhouse, CancellationToken ct)
    {
        var wheels = new List<Wheel>();
        foreach (var path in Directory.EnumerateFiles(wheelhouse, "*.whl").Order(StringComparer.Ordinal))
        {
            wheels.Add(new Wheel(Path.GetFileName(path), path, await Sha256.OfFileAsync(path, ct)));
        }
        return wheels;
    }

    public static async Task<string> KeyAsync(ServiceSpec spec, string platform, string imageId, IReadOnlyList<Wheel> wheels,
        string? lockedRequirements, CancellationToken ct)
    {
        var text = new StringBuilder();
        void Line(string key, object? value) => text.Append(key).Append(' ').Append(value?.ToString() ?? "-").Append('\n');
        Line("tool", $"osva-build {ToolVersion}");
        Line("format", VenvPacker.FormatRevision);
        Line("platform", platform);
        Line("image", imageId);
        Line("service", spec.Name);
        Line("tag", spec.Tag);
        Line("installPath", spec.InstallPath);
        Line("sourceDateEpoch", spec.SourceDateEpoch.ToString(CultureInfo.InvariantCulture));
        Line("index", spec.Index);
        foreach (var r in spec.Requirements) Line("requirement", r);
        foreach (var s in spec.ConsoleScripts) Line("consoleScript", s);
        foreach (var s in spec.ManagementScripts) Line("managementScript", s);
        foreach (var p in spec.BuildPackages) Line("buildPackage", p);
        foreach (var p in spec.RuntimePackages) Line("runtimePackage", p);
        foreach (var p in spec.DistroPackages) Line("distroPackage", p);
        foreach (var u in spec.Systemd?.Units ?? []) Line("systemdUnit", $"{u.Name} {u.ExecStart}");
        if (spec.Rootwrap is { } rw) Line("rootwrap", $"{rw.ConfigPath}|{rw.Command}|{rw.DaemonCommand}|{rw.FiltersDir}");
        // Only when asked for, so the keys (and caches) of tarball-only builds stay as they were.
        if (spec.Image) Line("image-format", $"squashfs zstd-{SquashfsImage.ZstdLevel}");
        Line("constraints", spec.Constraints is null ? null : await Sha256.OfFileAsync(spec.Constraints, ct));
        Line("locked", lockedRequirements is null ? null : Sha256.Of(Encoding.UTF8.GetBytes(lockedRequirements)));
        foreach (var w in wheels) Line("wheel", $"{w.Sha256} {w.FileName}");
        return "sha256:" + Sha256.Of(Encoding.UTF8.GetBytes(text.ToString()));
    }
}
