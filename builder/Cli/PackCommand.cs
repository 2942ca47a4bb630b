using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Builder.Build;
using OsVenvArtifacts.Builder.Packing;

namespace OsVenvArtifacts.Builder.Cli;

/// <summary>What <c>osva-build pack</c> was asked to do.</summary>
internal sealed record PackOptions(string Directory, string InstallPath, string Out, long SourceDateEpoch, int Threads, string? Python, bool Json,
    string? Image = null);

/// <summary>
/// <c>osva-build pack DIR --install-path P --out FILE</c>: packs an existing venv tree as the build does (same checks,
/// same bytes) and prints the manifest's packing fields, so a release engineer can pack a tree made elsewhere and the
/// benchmark can time packing alone.
/// </summary>
internal static class PackCommand
{
    /// <summary>The build's default too (release files without sourceDateEpoch): 1980-01-01, the zip epoch.</summary>
    private const long DefaultEpoch = 315532800;

    private static readonly Argument<string> Dir = new("DIR") { Description = "The venv tree, built at its install path" };
    private static readonly Option<string> InstallPath = new("--install-path")
    {
        Description = "Where the venv lives on hosts (the manifest's installPath), e.g. /openstack/venvs/nova-31.0.0",
        Required = true,
    };
    private static readonly Option<string> Out = new("--out") { Description = "The tar.gz to write (atomically)", Required = true };
    private static readonly Option<long> Epoch = new("--source-date-epoch")
    {
        Description = "mtime of every entry (default $SOURCE_DATE_EPOCH, else 315532800)",
        DefaultValueFactory = _ => long.TryParse(Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH"), NumberStyles.None, CultureInfo.InvariantCulture, out var e)
            ? e : DefaultEpoch,
    };
    private static readonly Option<int> Threads = new("--threads")
    {
        Description = "Threads that deflate (default: one per core); the bytes are the same for any number",
        DefaultValueFactory = _ => VenvPacker.DefaultThreads,
    };
    private static readonly Option<string?> Image = new("--image")
    {
        Description = "Also write the image-mode file (squashfs) of the same tree, e.g. nova-31.0.0-debian-12-x86_64-py3.11.squashfs",
    };
    private static readonly Option<string?> Python = new("--python")
    {
        Description = "The interpreter bin/python must point at (default: its target, when absolute)",
    };

    public static Command Create()
    {
        var command = new Command("pack", "Pack an existing venv tree into a deterministic tar.gz and print the manifest's packing fields")
        {
            Dir, InstallPath, Out, Epoch, Threads, Python, Image, CommonOptions.Json, CommonOptions.Verbose,
        };
        command.SetAction((ParseResult r, CancellationToken ct) =>
        {
            var json = r.GetValue(CommonOptions.Json);
            return CommandGuard.RunAsync(CommonOptions.Program, r.GetValue(CommonOptions.Verbose), json, c => RunAsync(new PackOptions(
                r.GetValue(Dir)!, r.GetValue(InstallPath)!, r.GetValue(Out)!, r.GetValue(Epoch), r.GetValue(Threads), r.GetValue(Python), json,
                r.GetValue(Image)), c), ct);
        });
        return command;
    }

    public static async Task<int> RunAsync(PackOptions options, CancellationToken ct)
    {
        Check(options);
        var clock = Stopwatch.StartNew();
        var directory = Path.GetFullPath(options.Directory);
        var python = options.Python ?? InterpreterOf(directory);
        var outPath = Path.GetFullPath(options.Out);
        PackResult packed;
        using (var output = new ArtifactOutput(Path.GetDirectoryName(outPath)!))
        {
            await using (var packer = VenvPacker.FromDirectory(directory, python, ct))
            await using (var archive = output.Create(Path.GetFileName(outPath)))
            {
                packed = await packer.WriteAsync(archive, options.SourceDateEpoch, options.Threads, ct);
                await archive.FlushAsync(ct);
                archive.Flush(flushToDisk: true);
            }
            output.Commit();
        }
        ImageResult? image = null;
        if (options.Image is not null)
        {
            var imagePath = Path.GetFullPath(options.Image);
            using var imageOutput = new ArtifactOutput(Path.GetDirectoryName(imagePath)!);
            image = await SquashfsImage.WriteAsync(outPath, imageOutput.Stage(Path.GetFileName(imagePath)), options.SourceDateEpoch, ct);
            imageOutput.Commit();
        }
        var seconds = clock.Elapsed.TotalSeconds;
        await Console.Out.WriteLineAsync(options.Json ? Json(options, outPath, python, packed, image, seconds) : Text(options, outPath, python, packed, image, seconds));
        return (int)ExitCode.Ok;
    }

    private static void Check(PackOptions o)
    {
        if (!Directory.Exists(o.Directory))
        {
            throw Input($"{o.Directory} is not a directory", "name the venv tree to pack");
        }
        var p = o.InstallPath;
        if (!p.StartsWith('/') || p.Length == 1 || p.Split('/').Skip(1).Any(part => part is "" or "." or ".."))
        {
            throw Input($"install path '{p}' must be absolute and normalized (no '.', '..', '//' or trailing '/')", "pass the venv's path on hosts, e.g. /openstack/venvs/nova-31.0.0");
        }
        if (o.SourceDateEpoch < DefaultEpoch)
        {
            throw Input($"source date epoch {o.SourceDateEpoch} is before 1980-01-01", "pass seconds since 1970, at least 315532800");
        }
        if (o.Threads < 1) throw Input($"--threads {o.Threads} is below 1", "pass at least 1, or leave it out for one per core");
        CheckOut("--out", o.Out, "tar.gz");
        if (o.Image is not null) CheckOut("--image", o.Image, "squashfs");
    }

    private static void CheckOut(string option, string path, string kind)
    {
        if (Directory.Exists(path)) throw Input($"{option} {path} is a directory", $"name the {kind} file to write");
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is not { } parent || !Directory.Exists(parent))
        {
            throw Input($"the folder of {option} {path} does not exist", "create it first");
        }
    }

    /// <summary>bin/python's absolute target: the interpreter the manifest names (platform.pythonPath), which hosts must have.</summary>
    private static string InterpreterOf(string directory)
    {
        var link = new FileInfo(Path.Combine(directory, "bin", "python")).LinkTarget;
        if (link is null || !link.StartsWith('/'))
        {
            throw Input($"{directory}/bin/python is not a symlink to an absolute interpreter path",
                "pass --python /usr/bin/python3.X, the interpreter bin/python points at on hosts");
        }
        return link;
    }

    private static BuilderException Input(string problem, string hint) => new("OSVA-B090", $"pack: {problem}", hint, ExitCode.InvalidInput);

    private static string Text(PackOptions o, string outPath, string python, PackResult p, ImageResult? image, double seconds)
    {
        var s = new StringBuilder();
        s.Append(CultureInfo.InvariantCulture, $"{outPath} {p.Sha256} {p.Size} ({seconds:F1} s, {o.Threads} threads)\n");
        s.Append(CultureInfo.InvariantCulture, $"installPath {o.InstallPath}\nsourceDateEpoch {o.SourceDateEpoch}\nplatform.pythonPath {python}\n");
        s.Append(CultureInfo.InvariantCulture, $"archive.sha256 {p.Sha256}\narchive.size {p.Size}\narchive.tarSha256 {p.TarSha256}\narchive.tarSize {p.TarSize}\n");
        if (image is not null)
        {
            s.Append(CultureInfo.InvariantCulture, $"image.fileName {Path.GetFileName(o.Image)}\nimage.format {ImageInfo.Squashfs}\nimage.sha256 {image.Sha256}\nimage.size {image.Size}\n");
        }
        s.Append(CultureInfo.InvariantCulture, $"treeHash {p.TreeHash}\nfileCount {p.FileCount}\nunpackedSize {p.UnpackedSize}");
        return s.ToString();
    }

    /// <summary>The manifest's own field names and nesting, so a script can copy them over.</summary>
    private static string Json(PackOptions o, string outPath, string python, PackResult p, ImageResult? image, double seconds)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteBoolean("changed", true);
            w.WriteString("path", outPath);
            w.WriteString("installPath", o.InstallPath);
            w.WriteNumber("sourceDateEpoch", o.SourceDateEpoch);
            w.WriteStartObject("platform");
            w.WriteString("pythonPath", python);
            w.WriteEndObject();
            w.WriteNumber("fileCount", p.FileCount);
            w.WriteNumber("unpackedSize", p.UnpackedSize);
            w.WriteStartObject("archive");
            w.WriteString("fileName", Path.GetFileName(outPath));
            w.WriteString("sha256", p.Sha256);
            w.WriteNumber("size", p.Size);
            w.WriteString("tarSha256", p.TarSha256);
            w.WriteNumber("tarSize", p.TarSize);
            w.WriteEndObject();
            if (image is not null)
            {
                w.WriteStartObject("image");
                w.WriteString("fileName", Path.GetFileName(o.Image));
                w.WriteString("format", ImageInfo.Squashfs);
                w.WriteString("sha256", image.Sha256);
                w.WriteNumber("size", image.Size);
                w.WriteEndObject();
            }
            w.WriteString("treeHash", p.TreeHash);
            w.WriteNumber("threads", o.Threads);
            w.WriteNumber("seconds", Math.Round(seconds, 2));
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
