"""Runs inside the platform container (network none): makes the venv at its final path, installs the
wheels, removes every source of drift, and writes /osva/out/info.json for the manifest.

Exit codes the builder maps to errors: 20 venv, 21 pip install, 22 console script missing,
23 symlink leaving the venv, 24 distro package does not import. The last line starting with
OSVA-FAIL: is the one-line cause.
"""
import csv, hashlib, json, os, platform, re, shutil, subprocess, sys, urllib.parse

job = json.load(open(sys.argv[1]))
venv = job["installPath"]
out = "/osva/out"
os.makedirs(out, exist_ok=True)
env = dict(os.environ, SOURCE_DATE_EPOCH=str(job["sourceDateEpoch"]), PYTHONHASHSEED="0",
           PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_CACHE_DIR="1", PIP_NO_INPUT="1", LC_ALL="C.UTF-8",
           PYTHONDONTWRITEBYTECODE="1")


def fail(code, message):
    print("OSVA-FAIL: " + message, flush=True)
    sys.exit(code)


def run(step, code, args):
    print("+ " + " ".join(args), flush=True)
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        lines = [l.strip() for l in r.stdout.splitlines() if l.strip()]
        errors = [l for l in lines if l.startswith("ERROR:")]
        fail(code, "%s failed: %s" % (step, errors[-1] if errors else (lines[-1] if lines else "exit %d" % r.returncode)))
    return r.stdout


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


interpreter = os.path.realpath(sys.executable)
run("python3 -m venv", 20, [sys.executable, "-m", "venv"] + (["--system-site-packages"] if job["distroPackages"] else []) + [venv])
python = os.path.join(venv, "bin", "python")

pip = [python, "-m", "pip", "install", "--no-compile", "--report", out + "/report.json", "--no-warn-script-location"]
if job.get("findLinks"):
    pip += ["--no-index", "--find-links", job["findLinks"]]
else:
    pip += ["--index-url", job["index"]]
if job.get("constraints"):
    pip += ["-c", job["constraints"]]
if job.get("locked"):
    pip += ["--require-hashes", "--no-deps", "-r", job["locked"]]
else:
    pip += job["requirements"]
run("pip install", 21, pip)

# Drift: direct_url.json records file:// paths of the build; drop it and its RECORD line.
site = os.path.join(venv, "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
for entry in sorted(os.listdir(site)):
    if entry.endswith(".dist-info"):
        direct = os.path.join(site, entry, "direct_url.json")
        if os.path.exists(direct):
            os.remove(direct)

# Drift: pyvenv.cfg's `command` line names how the venv was made; .gitignore (3.13+) is noise.
cfg = os.path.join(venv, "pyvenv.cfg")
with open(cfg) as f:
    lines = [l for l in f if not l.startswith("command")]
with open(cfg, "w") as f:
    f.writelines(lines)
for noise in (".gitignore",):
    if os.path.exists(os.path.join(venv, noise)):
        os.remove(os.path.join(venv, noise))

# The one link that leaves the venv: bin/python -> the real interpreter (absolute). The other
# python names point at it inside the venv, so a host check needs to follow exactly one link.
bindir = os.path.join(venv, "bin")
for name in os.listdir(bindir):
    path = os.path.join(bindir, name)
    if os.path.islink(path) and re.fullmatch(r"python(3(\.\d+)?)?", name):
        os.remove(path)
        os.symlink(interpreter if name == "python" else "python", path)
venv_real = os.path.realpath(venv)
for root, dirs, files in os.walk(venv):
    for name in dirs + files:
        path = os.path.join(root, name)
        if os.path.islink(path) and path != python:
            target = os.readlink(path)
            resolved = os.path.normpath(os.path.join(root, target))
            if not (resolved == venv_real or resolved.startswith(venv_real + "/")):
                fail(23, "symlink %s -> %s leaves the venv" % (os.path.relpath(path, venv), target))

# Distro packages come through --system-site-packages; each must import in the built venv.
for module in job["distroPackages"]:
    r = subprocess.run([python, "-c", "import " + module], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    if r.returncode != 0:
        last = (r.stdout.strip().splitlines() or ["exit %d" % r.returncode])[-1]
        fail(24, "distro package '%s' does not import in the venv: %s" % (module, last))

# Drift: .pyc. Remove what ensurepip and pip wrote (timestamp-based), then compile everything once with
# checked-hash, which stores the source's hash instead of its mtime: reproducible, and still valid
# when the tree is unpacked with any mtime. One process, fixed hash seed, so marshal output is stable.
for root, dirs, files in os.walk(venv):
    if "__pycache__" in dirs:
        shutil.rmtree(os.path.join(root, "__pycache__"))
        dirs.remove("__pycache__")
if job.get("compile", True):
    subprocess.run([python, "-m", "compileall", "-q", "-f", "-j", "1", "--invalidation-mode", "checked-hash",
                    os.path.join(venv, "lib")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)

# Drift: RECORD lines for files that no longer exist (direct_url.json, the old .pyc).
for entry in sorted(os.listdir(site)):
    record = os.path.join(site, entry, "RECORD")
    if entry.endswith(".dist-info") and os.path.exists(record):
        with open(record, newline="") as f:
            rows = list(csv.reader(f))
        kept = [row for row in rows if row and os.path.lexists(os.path.normpath(os.path.join(site, row[0])))]
        with open(record, "w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(kept)

# What was installed, from the venv's own metadata, with the sha256 of the wheel each came from.
report = json.load(open(out + "/report.json"))
wheel_of = {}
for item in report.get("install", []):
    url = item.get("download_info", {}).get("url", "")
    if url.startswith("file://"):
        # pip reports the wheel as a URL: '+' in a local version (cmd2-2.4.2+ds) arrives as %2B.
        with open(urllib.parse.unquote(urllib.parse.urlparse(url).path), "rb") as f:
            wheel_of[norm(item["metadata"]["name"])] = hashlib.sha256(f.read()).hexdigest()
listing = subprocess.run([python, "-c", """
import importlib.metadata as md, json, os, sys
bindir = os.path.join(sys.prefix, "bin")
dists = [(d.metadata["Name"], d.version, sorted(e.name for e in d.entry_points if e.group == "console_scripts")) for d in md.distributions(path=[p for p in sys.path if p.startswith(sys.prefix)])]
# The distributions distroPackages' modules come from live outside the venv (system site-packages), yet the
# venv runs with them: record them too (no wheel, so no wheel hash), without their scripts.
seen = {d[0].lower() for d in dists}
owners = md.packages_distributions()
for module in json.loads(sys.argv[1]):
    for name in owners.get(module.split(".")[0], []):
        if name.lower() not in seen:
            seen.add(name.lower())
            dists.append((md.metadata(name)["Name"], md.version(name), []))
print(json.dumps(dists))
""", json.dumps(job["distroPackages"])], stdout=subprocess.PIPE, text=True, env=env, check=True).stdout
packages, scripts = [], set()
for name, version, entry_scripts in json.loads(listing):
    packages.append({"name": name, "version": version, "wheelSha256": wheel_of.get(norm(name))})
    # pip's and setuptools' own scripts are the venv's tooling, not the service's: no host wrappers for them.
    if norm(name) not in ("pip", "setuptools", "wheel"):
        scripts.update(s for s in entry_scripts if os.path.exists(os.path.join(bindir, s)))
packages.sort(key=lambda p: norm(p["name"]))
missing = [s for s in job["consoleScripts"] if not os.path.exists(os.path.join(bindir, s))]
if missing:
    fail(22, "console script(s) %s not installed; the packages provide: %s" % (", ".join(missing), ", ".join(sorted(scripts)) or "none"))

osrel = {}
with open("/etc/os-release") as f:
    for line in f:
        key, _, value = line.strip().partition("=")
        osrel[key] = value.strip('"')
info = {
    "distro": osrel.get("ID", "unknown"),
    "distroVersion": osrel.get("VERSION_ID", "0"),
    "arch": platform.machine(),
    "pythonVersion": "%d.%d" % sys.version_info[:2],
    "pythonFullVersion": platform.python_version(),
    "pythonPath": interpreter,
    "glibc": platform.libc_ver()[1],
    "packages": packages,
    "consoleScripts": sorted(scripts),
}
with open(out + "/info.json", "w") as f:
    json.dump(info, f, indent=1, sort_keys=True)
print("OSVA-DONE", flush=True)
