using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using OsVenvArtifacts.Artifact;

namespace OsVenvArtifacts.TestSupport;

/// <summary>One entry of a generated artifact: path relative to the venv root (hostile ones may be anything).</summary>
public sealed record InstallEntry(string Path, TarEntryType Type, int Mode = 0x1A4, Func<Stream>? Content = null, long Size = 0, string? LinkName = null)
{
    public static InstallEntry Dir(string path, int mode = 0x1ED) => new(path, TarEntryType.Directory, mode);

    public static InstallEntry Text(string path, string text, int mode = 0x1A4)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return new(path, TarEntryType.RegularFile, mode, () => new MemoryStream(bytes), bytes.Length);
    }

    public static InstallEntry Link(string path, string target) => new(path, TarEntryType.SymbolicLink, 0x1FF, LinkName: target);

    /// <summary>A file of <paramref name="size"/> pseudo-random bytes made while streaming, so large artifacts never sit in memory.</summary>
    public static InstallEntry Noise(string path, long size, int seed) =>
        new(path, TarEntryType.RegularFile, 0x1A4, () => new NoiseStream(size, seed), size);
}

/// <summary>The files of one generated artifact, as osva-build writes them.</summary>
public sealed record InstallArtifactFiles(Manifest Manifest, string Archive, string Checksum, string ManifestFile, byte[] ManifestBytes);

/// <summary>
/// Generates artifacts in code with realistic venv layouts (bin/python* links to /usr/bin/python3.11, console
/// scripts with <c>#!&lt;installPath&gt;/bin/python</c> shebangs, pyvenv.cfg, activate, site-packages), or any
/// hostile entry list, with the .sha256 and a manifest whose hashes match what was written.
/// </summary>
public sealed class InstallArtifactBuilder
{
    public const string Interpreter = "/usr/bin/python3.11";
    public const string PlatformId = "debian-12-x86_64-py3.11";

    public InstallArtifactBuilder(string service, string tag, string? installPath = null)
    {
        Service = service;
        Tag = tag;
        InstallPath = installPath ?? InstallPaths.Default(service, tag);
    }

    public string Service { get; }
    public string Tag { get; }
    public string InstallPath { get; }
    public List<InstallEntry> Entries { get; } = [];
    public List<string> ConsoleScripts { get; } = [];
    /// <summary>The manifest's managementScripts: the scripts osva-install wraps in /usr/local/bin. <see cref="Venv"/> declares every script it makes.</summary>
    public List<string> ManagementScripts { get; } = [];
    public List<string> RuntimePackages { get; } = [];
    public SystemdHints? Systemd { get; set; }
    public RootwrapHints? Rootwrap { get; set; }
    public string Platform { get; set; } = PlatformId;
    public string PythonPath { get; set; } = Interpreter;
    /// <summary>
    /// PAX by default; GNU as osva-build writes it (long names in <c>././@LongLink</c> records) for names System.Formats.Tar
    /// cannot read back from a PAX record, such as one with a newline.
    /// </summary>
    public TarEntryFormat Format { get; set; } = TarEntryFormat.Pax;
    /// <summary>Overrides the manifest's unpacked size (hostile archives that lie about it).</summary>
    public long? UnpackedSize { get; set; }
    /// <summary>Also writes the image-mode file (squashfs) of the same tree and records it in the manifest.</summary>
    public bool Image { get; set; }
    /// <summary>Changes the manifest after its hashes were computed (a compromised build stating what it likes).</summary>
    public Func<Manifest, Manifest>? EditManifest { get; set; }

    /// <summary>
    /// A venv like <c>python3.11 -m venv</c> plus pip would leave, with console scripts printing "&lt;script&gt; &lt;tag&gt; &lt;sys.prefix&gt;";
    /// a script whose name ends in <c>-serve</c> then keeps running, as a service would.
    /// </summary>
    public static InstallArtifactBuilder Venv(string service, string tag, string? installPath = null, params string[] scripts)
    {
        var b = new InstallArtifactBuilder(service, tag, installPath);
        var p = b.InstallPath;
        var module = service.Replace('-', '_') + "_app";
        var site = "lib/python3.11/site-packages";
        b.Entries.AddRange([
            InstallEntry.Dir("bin"),
            InstallEntry.Text("bin/activate", $"# This file must be used with \"source bin/activate\"\nVIRTUAL_ENV=\"{p}\"\nexport VIRTUAL_ENV\nPATH=\"$VIRTUAL_ENV/bin:$PATH\"\n"),
            InstallEntry.Text("bin/activate.csh", $"setenv VIRTUAL_ENV \"{p}\"\n"),
            InstallEntry.Text("bin/activate.fish", $"set -gx VIRTUAL_ENV \"{p}\"\n"),
            InstallEntry.Link("bin/python", "python3.11"),
            InstallEntry.Link("bin/python3", "python3.11"),
            InstallEntry.Link("bin/python3.11", Interpreter),
            InstallEntry.Dir("include"),
            InstallEntry.Dir("lib"),
            InstallEntry.Dir("lib/python3.11"),
            InstallEntry.Dir(site),
            InstallEntry.Dir($"{site}/{module}"),
            InstallEntry.Text($"{site}/{module}/__init__.py",
                $"import os\nimport sys\nimport time\n\n\ndef main():\n    name = os.path.basename(sys.argv[0])\n    print(name + ' {tag} ' + sys.prefix, flush=True)\n"
                + "    while name.endswith('-serve'):\n        time.sleep(3600)\n    return 0\n"),
            InstallEntry.Dir($"{site}/{module}-{tag}.dist-info"),
            InstallEntry.Text($"{site}/{module}-{tag}.dist-info/METADATA", $"Metadata-Version: 2.1\nName: {module}\nVersion: {tag}\n"),
            InstallEntry.Link("lib64", "lib"),
            InstallEntry.Text("pyvenv.cfg", $"home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\nexecutable = {Interpreter}\ncommand = {Interpreter} -m venv {p}\n"),
        ]);
        foreach (var script in scripts)
        {
            b.ConsoleScripts.Add(script);
            b.ManagementScripts.Add(script);
            b.Entries.Add(InstallEntry.Text($"bin/{script}",
                $"#!{p}/bin/python\n# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom {module} import main\nif __name__ == '__main__':\n    sys.exit(main())\n", 0x1ED));
        }
        return b;
    }

    /// <summary>Packs a real directory (a venv made on this machine) as an artifact built for <paramref name="installPath"/>.</summary>
    public static InstallArtifactBuilder FromDirectory(string service, string tag, string directory, string installPath)
    {
        var b = new InstallArtifactBuilder(service, tag, installPath);
        foreach (var info in Walk(new DirectoryInfo(directory)))
        {
            var rel = System.IO.Path.GetRelativePath(directory, info.FullName);
            var mode = (int)info.UnixFileMode & 0x1FF;
            if (info.LinkTarget is { } target) b.Entries.Add(InstallEntry.Link(rel, target));
            else if (info is DirectoryInfo) b.Entries.Add(InstallEntry.Dir(rel, mode));
            else
            {
                var path = info.FullName;
                b.Entries.Add(new InstallEntry(rel, TarEntryType.RegularFile, mode, () => File.OpenRead(path), ((FileInfo)info).Length));
            }
        }
        return b;
    }

    /// <summary>Every entry below a directory, parents first, never descending into a symlinked directory (lib64 -> lib).</summary>
    private static IEnumerable<FileSystemInfo> Walk(DirectoryInfo dir)
    {
        foreach (var info in dir.EnumerateFileSystemInfos().OrderBy(i => i.Name, StringComparer.Ordinal))
        {
            yield return info;
            if (info is DirectoryInfo sub && info.LinkTarget is null)
            {
                foreach (var inner in Walk(sub)) yield return inner;
            }
        }
    }

    public async Task<InstallArtifactFiles> WriteAsync(string outDir, CancellationToken ct = default)
    {
        Directory.CreateDirectory(outDir);
        var id = new ArtifactId(Service, Tag, Artifact.PlatformId.Parse(Platform));
        var archive = System.IO.Path.Combine(outDir, id.ArchiveFileName);
        var tree = new TreeHash();
        long size = 0, files = 0;
        string tarSha, gzSha;
        long gzSize, tarSize;
        await using (var file = File.Create(archive))
        {
            using var gzHash = new HashingStream(file, leaveOpen: true);
            using (var gzip = new GZipStream(gzHash, CompressionLevel.Fastest, leaveOpen: true))
            {
                using var tarHash = new HashingStream(gzip, leaveOpen: true);
                await using (var writer = new TarWriter(tarHash, Format, leaveOpen: true))
                {
                    foreach (var e in Entries)
                    {
                        PosixTarEntry entry = Format == TarEntryFormat.Gnu ? new GnuTarEntry(e.Type, e.Path) : new PaxTarEntry(e.Type, e.Path);
                        entry.Mode = (UnixFileMode)e.Mode;
                        entry.ModificationTime = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
                        entry.Uid = 0;
                        entry.Gid = 0;
                        var norm = e.Path.TrimStart('.', '/').TrimEnd('/');
                        if (e.LinkName is not null) entry.LinkName = e.LinkName;
                        if (e.Type == TarEntryType.RegularFile && e.Content is not null)
                        {
                            await using var content = e.Content();
                            using var hashing = new HashingStream(content, leaveOpen: true);
                            var temp = System.IO.Path.GetTempFileName();
                            try
                            {
                                // Hash first, then stream again into the tar: TarWriter needs a seekable or sized stream.
                                await using (var t = File.Create(temp)) await hashing.CopyToAsync(t, ct);
                                await using var again = File.OpenRead(temp);
                                entry.DataStream = again;
                                await writer.WriteEntryAsync(entry, ct);
                            }
                            finally
                            {
                                File.Delete(temp);
                            }
                            tree.Add(new TreeEntry(norm, TreeEntryKind.File, e.Mode & 0x1FF, hashing.BytesHashed, hashing.Finish(), null));
                            size += hashing.BytesHashed;
                            files++;
                            continue;
                        }
                        await writer.WriteEntryAsync(entry, ct);
                        if (e.Type == TarEntryType.Directory) tree.Add(new TreeEntry(norm, TreeEntryKind.Directory, e.Mode & 0x1FF, 0, null, null));
                        else if (e.Type == TarEntryType.SymbolicLink)
                        {
                            tree.Add(new TreeEntry(norm, TreeEntryKind.Symlink, 0, 0, null, e.LinkName));
                            files++;
                        }
                    }
                }
                tarSha = tarHash.Finish();
                tarSize = tarHash.BytesHashed;
            }
            gzSha = gzHash.Finish();
            gzSize = gzHash.BytesHashed;
        }
        var checksum = archive + ".sha256";
        await File.WriteAllTextAsync(checksum, Sha256.ChecksumLine(gzSha, id.ArchiveFileName), ct);
        var platform = id.Platform;
        var manifest = new Manifest
        {
            Service = Service,
            Tag = Tag,
            Platform = new ManifestPlatform
            {
                Id = Platform, Distro = platform.Distro, DistroVersion = platform.Version, Arch = platform.Arch,
                PythonVersion = platform.Python, PythonPath = PythonPath, Glibc = "2.36",
            },
            InstallPath = InstallPath,
            BuildImage = new BuildImage("osva/debian-12:test", "sha256:" + new string('0', 64)),
            BuildInputsHash = Sha256.Of(Encoding.UTF8.GetBytes($"{Service}-{Tag}")),
            SourceDateEpoch = 1_700_000_000,
            ConsoleScripts = ConsoleScripts,
            ManagementScripts = ManagementScripts,
            RuntimePackages = RuntimePackages,
            FileCount = files,
            UnpackedSize = UnpackedSize ?? size,
            Archive = new ArchiveInfo { FileName = id.ArchiveFileName, Sha256 = gzSha, Size = gzSize, TarSha256 = tarSha, TarSize = tarSize },
            TreeHash = tree.Compute(),
            Rootwrap = Rootwrap,
            Systemd = Systemd,
            Tool = new ToolInfo("osva-test", "0"),
            Image = Image ? await TestImages.WriteAsync(archive, id, outDir) : null,
        };
        if (EditManifest is not null) manifest = EditManifest(manifest);
        var manifestFile = System.IO.Path.Combine(outDir, id.ManifestFileName);
        var bytes = ArtifactJson.Serialize(manifest);
        await File.WriteAllBytesAsync(manifestFile, bytes, ct);
        return new InstallArtifactFiles(manifest, archive, checksum, manifestFile, bytes);
    }
}

/// <summary>A directory store as osva-publish lays it out, written by the tests: files first, index last.</summary>
public static class InstallStore
{
    public static async Task PublishAsync(string storeDir, InstallArtifactFiles files, IReadOnlyDictionary<string, string>? aliases = null, CancellationToken ct = default)
    {
        var m = files.Manifest;
        var dir = System.IO.Path.Combine(storeDir, m.Service, m.Tag);
        Directory.CreateDirectory(dir);
        string[] paths = [files.Archive, files.Checksum, files.ManifestFile];
        if (m.Image is { } image) paths = [.. paths, System.IO.Path.Combine(System.IO.Path.GetDirectoryName(files.Archive)!, image.FileName)];
        foreach (var f in paths)
        {
            File.Copy(f, System.IO.Path.Combine(dir, System.IO.Path.GetFileName(f)), overwrite: true);
        }
        var indexPath = System.IO.Path.Combine(storeDir, m.Service, "index.json");
        var index = File.Exists(indexPath)
            ? JsonSerializer.Deserialize(await File.ReadAllBytesAsync(indexPath, ct), ArtifactJsonContext.Default.StoreIndex)!
            : new StoreIndex { Service = m.Service };
        var artifact = new IndexArtifact
        {
            Platform = m.Platform.Id, ArchiveFileName = m.Archive.FileName, ArchiveSha256 = m.Archive.Sha256,
            ArchiveSize = m.Archive.Size, ManifestSha256 = Sha256.Of(files.ManifestBytes), Published = DateTimeOffset.UnixEpoch,
            ImageFileName = m.Image?.FileName, ImageSha256 = m.Image?.Sha256, ImageSize = m.Image?.Size,
        };
        var tags = index.Tags.Where(t => t.Tag != m.Tag).ToList();
        var existing = index.FindTag(m.Tag)?.Artifacts.Where(a => a.Platform != m.Platform.Id) ?? [];
        tags.Add(new IndexTag { Tag = m.Tag, Artifacts = [.. existing, artifact] });
        var merged = new Dictionary<string, string>(index.Aliases);
        foreach (var (k, v) in aliases ?? new Dictionary<string, string>()) merged[k] = v;
        await File.WriteAllBytesAsync(indexPath, ArtifactJson.Serialize(index with { Tags = tags, Aliases = merged }), ct);
    }

    /// <summary>
    /// Signs a directory store's index as osva-publish does: sets its version and expiry, writes index.json, then
    /// index.json.sig (base64 DER). Returns the index bytes that were signed.
    /// </summary>
    public static async Task<byte[]> SignIndexAsync(string storeDir, string service, System.Security.Cryptography.ECDsa key, long version,
        DateTimeOffset expires, CancellationToken ct = default)
    {
        var indexPath = System.IO.Path.Combine(storeDir, service, "index.json");
        var index = JsonSerializer.Deserialize(await File.ReadAllBytesAsync(indexPath, ct), ArtifactJsonContext.Default.StoreIndex)!;
        index.Version = version;
        index.Expires = expires;
        var bytes = ArtifactJson.Serialize(index);
        await File.WriteAllBytesAsync(indexPath, bytes, ct);
        await File.WriteAllTextAsync(indexPath + ".sig", Signatures.Sign(bytes, key), ct);
        return bytes;
    }

    /// <summary>
    /// Publishes hand-made tar bytes as <paramref name="service"/> <paramref name="tag"/> with every hash and size a
    /// compromised build would compute over them, so the installer gets as far as reading the entries.
    /// </summary>
    /// <param name="reframe">Changes the gzip bytes after compression (cut short, garbage after, a second member).</param>
    public static async Task<InstallArtifactFiles> PublishRawAsync(string storeDir, string service, string tag, byte[] tar, string workDir,
        Func<byte[], byte[]>? reframe = null, CancellationToken ct = default)
    {
        var template = await InstallArtifactBuilder.Venv(service, tag).WriteAsync(System.IO.Path.Combine(workDir, $"{service}-{tag}-raw-{Guid.NewGuid():N}"), ct);
        var gzBytes = GzipBytes.Compress(tar);
        if (reframe is not null) gzBytes = reframe(gzBytes);
        await File.WriteAllBytesAsync(template.Archive, gzBytes, ct);
        var gzSha = Sha256.Of(gzBytes);
        await File.WriteAllTextAsync(template.Checksum, Sha256.ChecksumLine(gzSha, System.IO.Path.GetFileName(template.Archive)), ct);
        var manifest = template.Manifest with
        {
            FileCount = 1000,
            UnpackedSize = tar.Length,
            Archive = template.Manifest.Archive with { Sha256 = gzSha, Size = gzBytes.Length, TarSha256 = Sha256.Of(tar), TarSize = tar.Length },
        };
        var bytes = ArtifactJson.Serialize(manifest);
        await File.WriteAllBytesAsync(template.ManifestFile, bytes, ct);
        var files = template with { Manifest = manifest, ManifestBytes = bytes };
        await PublishAsync(storeDir, files, ct: ct);
        return files;
    }

    /// <summary>Writes the artifact and publishes it in one go.</summary>
    public static async Task<InstallArtifactFiles> AddAsync(string storeDir, InstallArtifactBuilder builder, string workDir, CancellationToken ct = default)
    {
        var files = await builder.WriteAsync(System.IO.Path.Combine(workDir, $"{builder.Service}-{builder.Tag}-{Guid.NewGuid():N}"), ct);
        await PublishAsync(storeDir, files, ct: ct);
        return files;
    }
}

/// <summary>Deterministic pseudo-random bytes (xorshift), so generated files do not compress away.</summary>
public sealed class NoiseStream(long length, int seed) : Stream
{
    private ulong _state = 0x9E3779B97F4A7C15UL ^ (ulong)seed;
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, length - _position);
        for (var i = 0; i < n; i++)
        {
            _state ^= _state << 13;
            _state ^= _state >> 7;
            _state ^= _state << 17;
            buffer[i] = (byte)_state;
        }
        _position += n;
        return n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
