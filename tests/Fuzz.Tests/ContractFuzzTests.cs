using System.Security.Cryptography;
using OsVenvArtifacts.Artifact;
using OsVenvArtifacts.Artifact.Store;
using OsVenvArtifacts.Installer.Fetch;
using OsVenvArtifacts.Installer.Host;
using OsVenvArtifacts.Installer.Unpack;
using OsVenvArtifacts.TestSupport;
using Xunit.Abstractions;

namespace OsVenvArtifacts.Fuzz.Tests;

/// <summary>
/// The store's files as the installer reads them, through the real fetcher over a directory store: a mutated
/// manifest (bound by the index, so it reaches the parser) and a mutated, signed index. Each is accepted whole or
/// refused with an OsvaException (OSVA-A… from the contract, OSVA-I… from the installer).
/// </summary>
public sealed class ContractFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const string Platform = PublishTestArtifacts.DefaultPlatform;
    private static readonly Manifest SeedManifest = Seeds.Manifest();
    private static readonly byte[] ManifestBytes = ArtifactJson.Serialize(SeedManifest);
    private static readonly HostFacts Facts = HostFacts.Detect(new InstallerEnvironment("/"));
    private readonly TempDirectory _store = new("fuzz-store");

    [Fact]
    public Task Manifest_is_read_and_checked_or_refused_with_a_code() =>
        FuzzRunner.RunAsync(output, "manifest", ciIterations: 3000, async fuzzCase =>
        {
            var mutator = new Mutator(fuzzCase.Random);
            var bytes = mutator.Chance(75) ? mutator.Json(ManifestBytes, [ManifestBytes]) : mutator.Bytes(ManifestBytes, [ManifestBytes]);
            fuzzCase.Input = bytes;
            var id = SeedManifest.Id;
            var path = Path.Combine(_store.Path, id.StoreKey(id.ManifestFileName));
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllBytesAsync(path, bytes);
            // The index binds this manifest's hash, as a publisher who signed a hostile manifest would have it.
            var entry = new IndexArtifact
            {
                Platform = Platform, ArchiveFileName = id.ArchiveFileName, ArchiveSha256 = SeedManifest.Archive.Sha256,
                ArchiveSize = SeedManifest.Archive.Size, ManifestSha256 = Sha256.Of(bytes),
            };
            using var trust = TrustPolicy.Load(new HostConfig(), [], insecureSkip: false);
            using var store = new DirectoryStoreReader(StoreLocation.Parse(_store.Path));
            var fetcher = new ArtifactFetcher(store, trust, TimeProvider.System, TimeSpan.FromSeconds(10));
            var manifest = await fetcher.ReadManifestAsync(new ResolvedArtifact(id, entry, id.Tag, 1, null), CancellationToken.None);
            // What install does next with it, in its order.
            Facts.Differences(manifest);
            ExtractLimits.For(manifest, entry, new HostConfig());
            InstallerEnvironment.CheckInstallPath(manifest.InstallPath);
            // The host keeps the manifest under /var/lib/osva and reads it again for verify, repair and switch.
            var saved = ArtifactJson.Serialize(manifest);
            var again = await ArtifactJson.ReadManifestAsync(new MemoryStream(saved), "recorded manifest", CancellationToken.None);
            if (!ArtifactJson.Serialize(again).AsSpan().SequenceEqual(saved)) throw new OracleFailure("an accepted manifest reads back different once recorded");
        }, e => e is OsvaException, maxTime: TimeSpan.FromSeconds(5), maxBytes: 128L << 20);

    private static readonly string[] Requested = ["stable", "candidate", "31.0.0", "30.0.0"];
    private static readonly ECDsa Key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    private static StoreIndex SeedIndex() => new()
    {
        Service = "nova",
        Version = 7,
        Expires = new DateTimeOffset(2100, 1, 1, 0, 0, 0, TimeSpan.Zero),
        Tags =
        [
            new IndexTag { Tag = "30.0.0", Artifacts = [Artifact("30.0.0")] },
            new IndexTag { Tag = "31.0.0", Artifacts = [Artifact("31.0.0"), Artifact("31.0.0", "debian-12-aarch64-py3.11")] },
        ],
        Aliases = new Dictionary<string, string> { ["stable"] = "30.0.0", ["candidate"] = "31.0.0" },
        History =
        [
            new IndexEvent(DateTimeOffset.UnixEpoch.AddDays(20000), "publish", "31.0.0", Platform, null),
            new IndexEvent(DateTimeOffset.UnixEpoch.AddDays(20001), "force-publish", "31.0.0", null, "sha256 changed"),
        ],
    };

    private static IndexArtifact Artifact(string tag, string platform = Platform) => new()
    {
        Platform = platform, ArchiveFileName = new ArtifactId("nova", tag, PlatformId.Parse(platform)).ArchiveFileName,
        ArchiveSha256 = new string('a', 64), ArchiveSize = 4096, ManifestSha256 = new string('b', 64), Published = DateTimeOffset.UnixEpoch.AddDays(20000),
    };

    [Fact]
    public Task Index_is_read_and_checked_or_refused_with_a_code() =>
        FuzzRunner.RunAsync(output, "index", ciIterations: 2000, async fuzzCase =>
        {
            var mutator = new Mutator(fuzzCase.Random);
            var seed = ArtifactJson.Serialize(SeedIndex());
            var signature = Signatures.Sign(seed, Key);
            var bytes = mutator.Chance(75) ? mutator.Json(seed, [seed]) : mutator.Bytes(seed, [seed]);
            fuzzCase.Input = bytes;
            // The signature check: never an exception, and never true for other bytes than the ones signed. (ECDSA
            // signatures are randomised, so the mangled signature is the one part a replay does not repeat byte for byte.)
            var holds = Signatures.Verify(bytes, signature, [Key]);
            if (holds != bytes.AsSpan().SequenceEqual(seed)) throw new OracleFailure($"the seed's signature verifies {holds} over {(holds ? "changed" : "the same")} bytes");
            var mangled = System.Text.Encoding.Latin1.GetString(mutator.Bytes(System.Text.Encoding.Latin1.GetBytes(signature), []));
            Signatures.SignedBy(seed, mangled, [Key]);

            Directory.CreateDirectory(Path.Combine(_store.Path, "nova"));
            await File.WriteAllBytesAsync(Path.Combine(_store.Path, StoreKeys.Index("nova")), bytes);
            using var trust = TrustPolicy.Load(new HostConfig(), [], insecureSkip: false);
            using var store = new DirectoryStoreReader(StoreLocation.Parse(_store.Path));
            var fetcher = new ArtifactFetcher(store, trust, TimeProvider.System, TimeSpan.FromSeconds(10));
            var resolved = await fetcher.ResolveAsync("nova", mutator.Pick(Requested), Platform, 5, CancellationToken.None);
            if (resolved.Id.Service != "nova" || resolved.Entry.Platform != Platform) throw new OracleFailure($"resolved {resolved.Id} from the index of nova on {Platform}");
        }, e => e is OsvaException, maxTime: TimeSpan.FromSeconds(5), maxBytes: 128L << 20);

    public void Dispose() => _store.Dispose();
}
