using System.Globalization;
using System.Text.RegularExpressions;
using OsVenvArtifacts.Artifact;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OsVenvArtifacts.Builder.Release;

/// <summary>
/// Reads a release file through YamlDotNet's representation model, so that every error can name the file,
/// the line and the key path (<c>release.yaml:12: services[1].requirements: expected a list</c>).
/// </summary>
internal static partial class ReleaseParser
{
    private static readonly string[] DefaultKeys = ["platforms", "installPath", "wheelhouse", "index", "constraints", "sourceDateEpoch", "formats"];
    private static readonly string[] TopKeys = ["release", "defaults", "services"];
    private static readonly string[] ServiceKeys =
        [.. DefaultKeys, "name", "tag", "requirements", "consoleScripts", "managementScripts", "buildPackages", "runtimePackages", "distroPackages", "systemd", "rootwrap"];
    private static readonly string[] RootwrapKeys = ["configPath", "command", "daemonCommand", "filtersDir"];

    [GeneratedRegex("^[a-z0-9][a-z0-9.+-]*$")]
    private static partial Regex DebianPackagePattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*\z")]
    private static partial Regex ScriptPattern();

    public static async Task<ReleaseFile> LoadAsync(string path, CancellationToken ct)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new BuilderException("OSVA-B010", $"release file {path} does not exist", "give the path of a release YAML file", ExitCode.InvalidInput);
        }
        return Parse(await File.ReadAllTextAsync(full, ct), full);
    }

    public static ReleaseFile Parse(string text, string path)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new BuilderException("OSVA-B010", $"{path}:{e.Start.Line}: not valid YAML: {e.InnerException?.Message ?? e.Message}",
                "fix the YAML syntax at that line", ExitCode.InvalidInput);
        }
        var reader = new Reader(path);
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw reader.Error(stream.Documents.FirstOrDefault()?.RootNode, "", "expected one mapping with 'services' (and optional 'release', 'defaults')");
        }
        reader.CheckKeys(root, "", TopKeys);
        var label = reader.OptionalScalar(root, "", "release");
        var defaults = Reader.Optional(root, "defaults") is { } d ? reader.Mapping(d, "defaults") : new YamlMappingNode();
        reader.CheckKeys(defaults, "defaults", DefaultKeys);
        var servicesNode = reader.Required(root, "", "services");
        if (servicesNode is not YamlSequenceNode services || services.Children.Count == 0)
        {
            throw reader.Error(servicesNode, "services", "expected a non-empty list of services");
        }
        var baseDir = Path.GetDirectoryName(path)!;
        var specs = new List<ServiceSpec>();
        for (var i = 0; i < services.Children.Count; i++)
        {
            var at = $"services[{i}]";
            var node = reader.Mapping(services.Children[i], at);
            reader.CheckKeys(node, at, ServiceKeys);
            specs.Add(ReadService(reader, node, defaults, at, baseDir));
        }
        foreach (var duplicate in specs.GroupBy(s => s.Name).Where(g => g.Count() > 1))
        {
            var second = services.Children[specs.FindLastIndex(s => s.Name == duplicate.Key)];
            throw reader.Error(second, $"services[{specs.FindLastIndex(s => s.Name == duplicate.Key)}].name", $"service '{duplicate.Key}' is listed twice");
        }
        return new ReleaseFile(path, label, specs);
    }

    private static ServiceSpec ReadService(Reader r, YamlMappingNode node, YamlMappingNode defaults, string at, string baseDir)
    {
        var nameNode = r.Required(node, at, "name");
        var name = r.Scalar(nameNode, $"{at}.name");
        r.Check(nameNode, $"{at}.name", () => Names.Service(name));
        var tagNode = r.Required(node, at, "tag");
        var tag = r.Scalar(tagNode, $"{at}.tag");
        r.Check(tagNode, $"{at}.tag", () => Names.Tag(tag));
        at = $"{at} ({name})";

        // A service's own value wins over the defaults; errors point at whichever the value came from.
        (YamlNode? Node, string Key) Pick(string key) =>
            Reader.Optional(node, key) is { } own ? (own, $"{at}.{key}") : (Reader.Optional(defaults, key), $"defaults.{key}");

        var (platformsNode, platformsKey) = Pick("platforms");
        var platforms = platformsNode is null ? ["debian-12"] : r.List(platformsNode, platformsKey);
        if (platforms.Count == 0) throw r.Error(platformsNode, platformsKey, "list at least one platform (a folder under images/)");

        var (installNode, installKey) = Pick("installPath");
        var template = installNode is null ? InstallPaths.Template : r.Scalar(installNode, installKey);
        var installPath = InstallPaths.Expand(template, name, tag);
        if (!installPath.StartsWith('/') || installPath.Split('/').Any(p => p is "." or "..") || installPath.TrimEnd('/') != installPath || installPath.Contains("//", StringComparison.Ordinal))
        {
            throw r.Error(installNode, installKey, $"install path '{installPath}' must be absolute and normalized (no '.', '..', '//' or trailing '/')");
        }

        var (wheelNode, wheelKey) = Pick("wheelhouse");
        var (indexNode, indexKey) = Pick("index");
        string? wheelhouse = null;
        string? index = null;
        if (wheelNode is not null)
        {
            wheelhouse = Path.GetFullPath(Path.Combine(baseDir, r.Scalar(wheelNode, wheelKey)));
            if (!Directory.Exists(wheelhouse)) throw r.Error(wheelNode, wheelKey, $"wheelhouse {wheelhouse} does not exist", "build it first (osva-build wheels ... --out DIR) or fix the path");
        }
        else if (indexNode is not null)
        {
            index = r.Scalar(indexNode, indexKey);
            if (!Uri.TryCreate(index, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw r.Error(indexNode, indexKey, $"index '{index}' is not an http(s) URL");
            }
        }
        else
        {
            throw r.Error(node, at, "no wheelhouse or index given", "set defaults.wheelhouse (a folder of wheels) or defaults.index (a simple index URL)");
        }

        var (constraintsNode, constraintsKey) = Pick("constraints");
        string? constraints = null;
        if (constraintsNode is not null)
        {
            constraints = Path.GetFullPath(Path.Combine(baseDir, r.Scalar(constraintsNode, constraintsKey)));
            if (!File.Exists(constraints)) throw r.Error(constraintsNode, constraintsKey, $"constraints file {constraints} does not exist");
        }

        var (epochNode, epochKey) = Pick("sourceDateEpoch");
        long epoch = 0;
        if (epochNode is not null && (!long.TryParse(r.Scalar(epochNode, epochKey), NumberStyles.None, CultureInfo.InvariantCulture, out epoch) || epoch < 315532800))
        {
            throw r.Error(epochNode, epochKey, "expected seconds since 1970 (at least 315532800, 1980-01-01, the zip epoch)");
        }
        if (epochNode is null) epoch = 315532800;

        var requirements = r.OptionalList(node, at, "requirements");
        if (requirements.Count == 0) throw r.Error(Reader.Optional(node, "requirements") ?? node, $"{at}.requirements", "list at least one pip requirement");
        var consoleScripts = r.OptionalList(node, at, "consoleScripts");
        r.Each(node, at, "consoleScripts", consoleScripts, s => ScriptPattern().IsMatch(s), "is not a console script name");
        var managementScripts = r.OptionalList(node, at, "managementScripts");
        r.Each(node, at, "managementScripts", managementScripts, s => ScriptPattern().IsMatch(s), "is not a console script name");
        // Privileged helpers run through sudo by full path; a wrapper on the PATH would only invite running them by hand.
        r.Each(node, at, "managementScripts", managementScripts,
            s => s != "privsep-helper" && !s.StartsWith("oslo-rootwrap", StringComparison.Ordinal) && !s.EndsWith("-rootwrap", StringComparison.Ordinal)
                && !s.EndsWith("-rootwrap-daemon", StringComparison.Ordinal),
            "is a rootwrap or privsep program, which is run through sudo, never from a wrapper on the PATH");
        var buildPackages = r.OptionalList(node, at, "buildPackages");
        r.Each(node, at, "buildPackages", buildPackages, s => DebianPackagePattern().IsMatch(s), "is not a package name");
        var runtimePackages = r.OptionalList(node, at, "runtimePackages");
        r.Each(node, at, "runtimePackages", runtimePackages, s => DebianPackagePattern().IsMatch(s), "is not a package name");
        var distroPackages = r.OptionalList(node, at, "distroPackages");
        r.Each(node, at, "distroPackages", distroPackages, s => ScriptPattern().IsMatch(s), "is not a Python module name");

        var (formatsNode, formatsKey) = Pick("formats");
        var formats = formatsNode is null ? ["tarball"] : r.List(formatsNode, formatsKey);
        if (!formats.Contains("tarball") || formats.Any(f => f is not ("tarball" or "image")))
        {
            throw r.Error(formatsNode, formatsKey, $"formats [{string.Join(", ", formats)}] must list tarball, and may add image",
                "write formats: [tarball] or formats: [tarball, image]");
        }

        return new ServiceSpec
        {
            Name = name,
            Tag = tag,
            Platforms = platforms,
            InstallPath = installPath,
            Wheelhouse = wheelhouse,
            Index = index,
            Constraints = constraints,
            SourceDateEpoch = epoch,
            Requirements = requirements,
            ConsoleScripts = consoleScripts,
            ManagementScripts = managementScripts,
            BuildPackages = buildPackages,
            RuntimePackages = runtimePackages,
            DistroPackages = distroPackages,
            Image = formats.Contains("image"),
            Systemd = ReadSystemd(r, node, at),
            Rootwrap = ReadRootwrap(r, node, at),
            Origin = $"{r.File}:{node.Start.Line}",
        };
    }

    private static SystemdHints? ReadSystemd(Reader r, YamlMappingNode service, string at)
    {
        if (Reader.Optional(service, "systemd") is not { } node) return null;
        var map = r.Mapping(node, $"{at}.systemd");
        r.CheckKeys(map, $"{at}.systemd", ["units"]);
        var units = new List<SystemdUnit>();
        if (Reader.Optional(map, "units") is { } unitsNode)
        {
            if (unitsNode is not YamlSequenceNode seq) throw r.Error(unitsNode, $"{at}.systemd.units", "expected a list of { name, execStart }");
            for (var i = 0; i < seq.Children.Count; i++)
            {
                var key = $"{at}.systemd.units[{i}]";
                var unit = r.Mapping(seq.Children[i], key);
                r.CheckKeys(unit, key, ["name", "execStart"]);
                var name = r.Scalar(r.Required(unit, key, "name"), $"{key}.name");
                if (!ScriptPattern().IsMatch(name)) throw r.Error(unit, $"{key}.name", $"'{name}' is not a unit name (without .service)");
                units.Add(new SystemdUnit(name, r.Scalar(r.Required(unit, key, "execStart"), $"{key}.execStart")));
            }
        }
        return new SystemdHints { Units = units };
    }

    private static RootwrapHints? ReadRootwrap(Reader r, YamlMappingNode service, string at)
    {
        if (Reader.Optional(service, "rootwrap") is not { } node) return null;
        var key = $"{at}.rootwrap";
        var map = r.Mapping(node, key);
        r.CheckKeys(map, key, RootwrapKeys);
        var filters = r.OptionalScalar(map, key, "filtersDir");
        if (filters is not null && (filters.StartsWith('/') || filters.Split('/').Contains("..")))
        {
            throw r.Error(Reader.Optional(map, "filtersDir"), $"{key}.filtersDir", "must be a path inside the venv (relative, no '..')");
        }
        return new RootwrapHints
        {
            ConfigPath = r.OptionalScalar(map, key, "configPath"),
            Command = r.OptionalScalar(map, key, "command"),
            DaemonCommand = r.OptionalScalar(map, key, "daemonCommand"),
            FiltersDir = filters,
        };
    }

    /// <summary>Node access that turns every mismatch into an error with file, line and key path.</summary>
    private sealed class Reader(string file)
    {
        public string File => file;

        public BuilderException Error(YamlNode? node, string key, string problem, string? hint = null)
        {
            var line = node is null ? "" : $":{node.Start.Line}";
            var where = key.Length == 0 ? "" : $" {key}:";
            return new BuilderException("OSVA-B011", $"{file}{line}:{where} {problem}",
                hint ?? "fix the release file; docs/osva-build.md lists every key", ExitCode.InvalidInput);
        }

        public void CheckKeys(YamlMappingNode map, string at, string[] allowed)
        {
            foreach (var key in map.Children.Keys)
            {
                var name = (key as YamlScalarNode)?.Value ?? "";
                if (!allowed.Contains(name, StringComparer.Ordinal))
                {
                    throw Error(key, at.Length == 0 ? name : $"{at}.{name}", $"unknown key '{name}'", $"allowed here: {string.Join(", ", allowed)}");
                }
            }
        }

        public static YamlNode? Optional(YamlMappingNode map, string key) =>
            map.Children.TryGetValue(new YamlScalarNode(key), out var value) && !IsNull(value) ? value : null;

        public YamlNode Required(YamlMappingNode map, string at, string key) =>
            Optional(map, key) ?? throw Error(map, at.Length == 0 ? key : $"{at}.{key}", $"missing required key '{key}'");

        public YamlMappingNode Mapping(YamlNode node, string key) =>
            node as YamlMappingNode ?? throw Error(node, key, $"expected a mapping, found {Describe(node)}");

        public string Scalar(YamlNode node, string key) =>
            node is YamlScalarNode { Value: { Length: > 0 } value } ? value : throw Error(node, key, $"expected a non-empty string, found {Describe(node)}");

        public string? OptionalScalar(YamlMappingNode map, string at, string key) =>
            Optional(map, key) is { } node ? Scalar(node, at.Length == 0 ? key : $"{at}.{key}") : null;

        public List<string> List(YamlNode node, string key)
        {
            if (node is not YamlSequenceNode seq) throw Error(node, key, $"expected a list, found {Describe(node)}");
            return [.. seq.Children.Select((c, i) => Scalar(c, $"{key}[{i}]"))];
        }

        public List<string> OptionalList(YamlMappingNode map, string at, string key) =>
            Optional(map, key) is { } node ? List(node, $"{at}.{key}") : [];

        public void Each(YamlMappingNode map, string at, string key, List<string> values, Func<string, bool> valid, string problem)
        {
            var seq = Optional(map, key) as YamlSequenceNode;
            for (var i = 0; i < values.Count; i++)
            {
                if (!valid(values[i])) throw Error(seq?.Children[i], $"{at}.{key}[{i}]", $"'{values[i]}' {problem}");
            }
        }

        public void Check(YamlNode node, string key, Action validate)
        {
            try
            {
                validate();
            }
            catch (OsvaException e)
            {
                throw Error(node, key, e.Message, e.Hint);
            }
        }

        private static bool IsNull(YamlNode node) =>
            node is YamlScalarNode { Value: null or "" or "~" or "null", Style: ScalarStyle.Plain };

        private static string Describe(YamlNode node) => node switch
        {
            YamlMappingNode => "a mapping",
            YamlSequenceNode => "a list",
            YamlScalarNode s => $"'{s.Value}'",
            _ => "something else",
        };
    }
}
