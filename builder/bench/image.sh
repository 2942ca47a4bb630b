#!/usr/bin/env bash
# Benchmark: image mode on the nova venv tree, the two candidates side by side in one run (the machine is shared and noisy):
#   squashfs, zstd level 9   (mksquashfs -all-root -mkfs-time 0 -all-time 0 -noappend -no-xattrs: what osva-build writes)
#   EROFS, lz4hc             (mkfs.erofs -T0 --all-root -U <fixed>; Debian 12's erofs-utils 1.5 has no zstd or lzma)
# For each: size, build time, mount time (mount -o ro,loop,nodev,nosuid after dropping caches) and the cold first import
# (`bin/python -c "import nova.compute.manager"` after `echo 3 > /proc/sys/vm/drop_caches`), beside the same import from a
# plain unpacked directory. Median of RUNS (default 3), interleaved. Needs root and loop devices.
# Then, with the cached nova artifact: installing nova from a directory store into a scratch root with the native
# osva-install, --format image vs --format tarball, beside the floor of the tarball format, `sha256sum` + GNU
# `tar -xzf` + `sync` of the same file (median of RUNS, interleaved; goal: the image under 1 s).
# Usage: builder/bench/image.sh [TREE]   (default: the newest cached nova artifact, /var/cache/osva/nova-out, unpacked)
#   OSVA_INSTALL_BINARY: the installer to time (default: published into the work directory)
set -euo pipefail
runs=${OSVA_BENCH_RUNS:-3}
[ "$(id -u)" = 0 ] || { echo "image.sh: needs root (mount, drop_caches)" >&2; exit 3; }
command -v mksquashfs >/dev/null && command -v mkfs.erofs >/dev/null || { echo "squashfs-tools or erofs-utils missing; run setup/ensure-env.sh" >&2; exit 3; }
work=$(mktemp -d /tmp/osva-bench-image.XXXXXX)
cleanup() {
  mountpoint -q "$work/m" && umount "$work/m"
  for m in $(grep -o " $work/root[^ ]*" /proc/self/mountinfo | sort -r); do umount "$m"; done
  rm -rf "$work"
}
trap cleanup EXIT
repo=$(cd "$(dirname "$0")/../.." && pwd)

archive=
tree=${1:-}
if [ -z "$tree" ]; then
  archive=$(ls -t /var/cache/osva/nova-out/*.tar.gz 2>/dev/null | head -1)
  [ -n "$archive" ] || { echo "no cached nova artifact; run builder/bench/nova-build.sh or the NovaBuildTests once, or pass a tree" >&2; exit 3; }
  tree=$work/tree
  mkdir -p "$tree"
  tar -xzf "$archive" -C "$tree"
fi
# With a tree given, only the format comparison runs: the install rows need the artifact the tree came from.
mkdir -p "$work/m"

now() { date +%s.%N; }
squashfs() { mksquashfs "$tree" "$work/squashfs.img" -comp zstd -Xcompression-level 9 -all-root -mkfs-time 0 -all-time 0 -noappend -no-xattrs -quiet -no-progress >/dev/null; }
erofs() { mkfs.erofs -zlz4hc -T0 --all-root -U 00000000-0000-0000-0000-000000000000 -x-1 --quiet "$work/erofs.img" "$tree"; }
cold_import() { sync; echo 3 > /proc/sys/vm/drop_caches; local t0; t0=$(now); "$1/bin/python" -c "import nova.compute.manager"; echo "$t0 $(now)"; }

# OSVA_BENCH_INSTALL_ONLY=1 skips the format comparison (minutes) and times only the installs.
if [ -z "${OSVA_BENCH_INSTALL_ONLY:-}" ]; then
for _ in $(seq "$runs"); do
  for kind in squashfs erofs; do
    t0=$(now); "$kind"; t1=$(now)
    sync; echo 3 > /proc/sys/vm/drop_caches
    t2=$(now); mount -o ro,loop,nodev,nosuid "$work/$kind.img" "$work/m"; t3=$(now)
    read -r i0 i1 < <(cold_import "$work/m")
    umount "$work/m"
    echo "$kind $t0 $t1 $t2 $t3 $i0 $i1 $(stat -c %s "$work/$kind.img")" >> "$work/times"
  done
  read -r i0 i1 < <(cold_import "$tree")
  echo "directory 0 0 0 0 $i0 $i1 $(du -sb "$tree" | cut -f1)" >> "$work/times"
done
load=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$work/times" "$runs" "$load" <<'PY'
import statistics, sys
path, runs, load = sys.argv[1:]
rows = {}
for line in open(path):
    kind, *t = line.split()
    t0, t1, t2, t3, i0, i1, size = map(float, t)
    rows.setdefault(kind, []).append((t1 - t0, t3 - t2, i1 - i0, size))
med = lambda kind, i: statistics.median(r[i] for r in rows[kind])
print(f"nova tree; {runs} runs, interleaved, medians; load {load} at the end")
print(f"| {'format':<22} | {'size MB':>8} | {'build s':>7} | {'mount s':>7} | {'cold import s':>13} |")
print(f"|{'-' * 24}|{'-' * 9}:|{'-' * 8}:|{'-' * 8}:|{'-' * 14}:|")
names = {"squashfs": "squashfs zstd-9", "erofs": "EROFS lz4hc", "directory": "unpacked directory"}
for kind in ("squashfs", "erofs", "directory"):
    build = f"{med(kind, 0):7.2f}" if kind != "directory" else f"{'-':>7}"
    mount = f"{med(kind, 1):7.3f}" if kind != "directory" else f"{'-':>7}"
    print(f"| {names[kind]:<22} | {med(kind, 3) / 1e6:8.1f} | {build} | {mount} | {med(kind, 2):13.2f} |")
PY
fi

[ -n "$archive" ] || exit 0
echo
# An install store holding nova with its image: the cached artifact plus an image of its tree, written as osva-build
# writes it (builder/Packing/SquashfsImage.cs), and the manifest's image field. runtimePackages are emptied: this
# machine lacks nova's shared libraries, and nothing here imports nova.
manifest=${archive%.tar.gz}.manifest.json
base=$(basename "${archive%.tar.gz}")
out=$work/out
mkdir -p "$out"
cp "$archive" "$archive.sha256" "$out/"
epoch=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["sourceDateEpoch"])' "$manifest")
chmod 0755 "$tree"
mksquashfs "$tree" "$out/$base.squashfs" -noappend -comp zstd -Xcompression-level 9 -all-root -mkfs-time "$epoch" -all-time "$epoch" \
  -no-xattrs -quiet -no-progress >/dev/null
python3 - "$manifest" "$out/$base.manifest.json" "$out/$base.squashfs" <<'PY'
import hashlib, json, os, sys
src, dst, image = sys.argv[1:]
m = json.load(open(src))
h = hashlib.sha256()
with open(image, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
m["image"] = {"fileName": os.path.basename(image), "format": "squashfs", "sha256": h.hexdigest(), "size": os.path.getsize(image)}
m["runtimePackages"] = []
json.dump(m, open(dst, "w"), indent=2)
PY
dotnet build "$repo/distributor" -c Release --nologo -v q --artifacts-path "$work/dist" >/dev/null
dotnet "$work/dist/bin/OsVenvArtifacts.Distributor/release/osva-publish.dll" publish "$out" --store "$work/store" >/dev/null
binary=${OSVA_INSTALL_BINARY:-}
if [ -z "$binary" ]; then
  dotnet publish "$repo/installer" -c Release -r linux-x64 --nologo -v q -o "$work/installer" --artifacts-path "$work/installer-build" >/dev/null
  binary=$work/installer/osva-install
fi
tag=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["tag"])' "$manifest")
install() { "$binary" install nova "$tag" --store "$work/store" --root "$work/root-$1-$2" --no-activate --format "$1" >/dev/null; }
floor() { mkdir -p "$work/floor-$1"; (cd "$work/store/nova/$tag" && sha256sum -c --quiet "$base.tar.gz.sha256") && tar -xzf "$work/store/nova/$tag/$base.tar.gz" -C "$work/floor-$1" && sync; }
for i in $(seq "$runs"); do
  sync; echo 3 > /proc/sys/vm/drop_caches
  for kind in image tarball floor; do
    t0=$(now)
    if [ "$kind" = floor ]; then floor "$i"; else install "$kind" "$i"; fi
    echo "$kind $t0 $(now)" >> "$work/install.times"
  done
done
python3 - "$work/install.times" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(stat -c %s "$out/$base.squashfs")" "$(stat -c %s "$archive")" <<'PY'
import statistics, sys
path, runs, load, image, archive = sys.argv[1:]
t = {}
for line in open(path):
    kind, t0, t1 = line.split()
    t.setdefault(kind, []).append(float(t1) - float(t0))
m = {k: statistics.median(v) for k, v in t.items()}
print(f"install nova from a directory store into a scratch root (--no-activate); {runs} runs, interleaved, medians; load {load} at the end")
print(f"| {'install':<36} | {'file MB':>7} | {'median s':>8} | {'floor s / this':>14} |")
print(f"|{'-' * 38}|{'-' * 8}:|{'-' * 9}:|{'-' * 15}:|")
rows = [("osva-install --format image", "image", image), ("osva-install --format tarball", "tarball", archive),
        ("sha256sum + tar -xzf + sync (floor)", "floor", archive)]
for name, k, size in rows:
    print(f"| {name:<36} | {int(size) / 1e6:7.1f} | {m[k]:8.2f} | {m['floor'] / m[k]:14.2f} |")
print(f"goal image install < 1 s: {'met' if m['image'] < 1 else 'not met'} ({m['image']:.2f} s)")
PY
