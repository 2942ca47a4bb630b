#!/usr/bin/env python3
"""Turn the Python distributions Debian installed for the named packages into wheels (osva-build wheels --from-debian).

Run inside the platform image after `apt-get install PKG...`, with the image's own python3:
    debian-wheels.py OUT PKG [PKG...]
Makes one wheel per Python distribution owned by a named package or by anything in its Depends closure, writes them
to OUT, and writes OUT/report.json naming the Debian package and version behind every wheel and the Debian packages
the extension modules' shared libraries come from (a release's runtimePackages).

Wheels are byte-reproducible: entries in sorted order, fixed 1980 zip times, fixed modes, one compressor, so the same
Debian packages give the same bytes. They carry Debian's code: keep them out of any repository.
"""
import base64, csv, hashlib, importlib.metadata as md, io, json, os, re, subprocess, sys, sysconfig, zipfile

SITE = "/usr/lib/python3/dist-packages"
EPOCH = (1980, 1, 1, 0, 0, 0)


def run(*args):
    return subprocess.run(args, capture_output=True, text=True).stdout


def names(field):
    """Package names of a Depends-style field; every alternative counts, since any installed one may be the provider."""
    return {d.strip().split(" ")[0].split(":")[0] for d in re.split(r"[,|]", field)} - {""}


# One dpkg-query for the whole database: a per-package call costs seconds on nova's 400 packages.
installed, provider = {}, {}
for line in run("dpkg-query", "-W", "-f=${db:Status-Abbrev}\t${Package}\t${Version}\t${Depends}, ${Pre-Depends}\t${Provides}\n").splitlines():
    status, pkg, version, depends, provides = line.split("\t")
    if status.startswith("ii"):
        installed[pkg] = (version, names(depends))
        for virtual in names(provides):
            provider.setdefault(virtual, pkg)


def resolve(name):
    return name if name in installed else provider.get(name)


def closure(named):
    seen, todo = set(), list(named)
    while todo:
        pkg = resolve(todo.pop())
        if pkg and pkg not in seen:
            seen.add(pkg)
            todo.extend(installed[pkg][1])
    return seen


def owner(path):
    out = run("dpkg", "-S", path)
    return out.split(":")[0] if out else None


def owner_files(pkg):
    """Files of a Debian package below SITE, sorted so the wheel's entries come in one order."""
    return sorted(p for p in run("dpkg", "-L", pkg).split("\n")
                  if p.startswith(SITE + "/") and os.path.isfile(p) and "__pycache__" not in p)


class Orphan:
    """A Debian package with modules below SITE but no metadata (python3-cffi-backend's _cffi_backend)."""
    def __init__(self, pkg):
        self.version = re.sub(r"^\d+:", "", installed[pkg][0]).split("-")[0].split("+")[0]
        self.metadata = {"Name": pkg + "-debian"}
        self.requires = []

    def read_text(self, _):
        return None


def wheel_tag(files):
    if any(f.endswith(".so") for f in files):
        py = "cp%d%d" % sys.version_info[:2]
        return f"{py}-{py}-" + sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return "py3-none-any"


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [name, "sha256=" + digest, str(len(data))]


def write_wheel(path, entries):
    with zipfile.ZipFile(path, "w") as z:
        for arc, data in entries:
            info = zipfile.ZipInfo(arc, EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            z.writestr(info, data)


def runtime_packages(files):
    """Debian packages of the shared libraries the extension modules load (usrmerge: dpkg may know /lib, not /usr/lib)."""
    libs = set()
    for f in files:
        if f.endswith(".so") or ".so." in f:
            libs.update(re.findall(r"=> (/\S+)", run("ldd", f)))
    packages = set()
    for lib in libs:
        for candidate in (lib, lib.replace("/usr/lib/", "/lib/", 1), os.path.realpath(lib)):
            if (pkg := owner(candidate)):
                packages.add(pkg)
                break
    return sorted(packages)


def main(out, named):
    os.makedirs(out, exist_ok=True)
    wanted = closure(named)
    dists = [(d, owner(str(d._path))) for d in md.distributions(path=[SITE])]  # _path: the .egg-info/.dist-info dir
    dists = [(d, pkg) for d, pkg in dists if pkg in wanted]
    owned = {pkg for _, pkg in dists}
    dists += [(Orphan(pkg), pkg) for pkg in sorted(wanted - owned) if pkg.startswith("python3-") and owner_files(pkg)]
    dist_of = {pkg: d.metadata["Name"] for d, pkg in dists}
    made, all_files = [], []
    for dist, pkg in sorted(dists, key=lambda d: (d[1], str(getattr(d[0], "_path", "")))):
        name, version = dist.metadata["Name"], dist.version
        norm = re.sub(r"[-_.]+", "_", name)
        files = owner_files(pkg)
        # A package may ship the same distribution's metadata twice (.egg-info and .dist-info): one wheel, the first.
        if not files or any(m["file"].startswith(f"{norm}-{version}-") for m in made):
            continue
        all_files += files
        info = f"{norm}-{version}.dist-info"
        tag = wheel_tag(files)
        entries = []
        for path in files:
            rel = os.path.relpath(path, SITE)
            if not rel.split("/")[0].endswith((".egg-info", ".dist-info")):
                with open(path, "rb") as f:
                    entries.append((rel, f.read()))
        # Debian strips install_requires from its metadata; its Depends carry the real graph.
        metadata = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        head, _, body = metadata.partition("\n\n")
        head = "\n".join(l for l in head.split("\n") if not l.startswith("Requires-Dist:"))
        requires = [r for r in (dist.requires or []) if "extra ==" in r]
        requires += sorted({dist_of[p] for p in map(resolve, installed[pkg][1]) if p in dist_of and dist_of[p] != name})
        entries.append((f"{info}/METADATA", (head.rstrip("\n") + "\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
                                             + ("\n" + body if body else "")).encode()))
        entries.append((f"{info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: osva-build wheels --from-debian\n"
                        f"Root-Is-Purelib: {'true' if tag == 'py3-none-any' else 'false'}\nTag: {tag}\n".encode()))
        for extra in ("entry_points.txt", "top_level.txt"):
            if (text := dist.read_text(extra)):
                entries.append((f"{info}/{extra}", text.encode()))
        record = io.StringIO()
        csv.writer(record, lineterminator="\n").writerows([record_line(a, d) for a, d in entries] + [[f"{info}/RECORD", "", ""]])
        entries.append((f"{info}/RECORD", record.getvalue().encode()))
        whl = f"{norm}-{version}-{tag}.whl"
        write_wheel(os.path.join(out, whl), entries)
        made.append({"file": whl, "package": pkg, "version": installed[pkg][0]})
    report = {
        "wheels": made,
        "withoutWheel": sorted(p for p in named if resolve(p) not in {m["package"] for m in made}),
        "runtimePackages": runtime_packages(all_files),
    }
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
