#!/usr/bin/env bash
# Benchmark: image mode on the nova venv tree, the two candidates side by side in one run (the machine is shared and noisy):
#   squashfs, zstd level 9   (mksquashfs -all-root -mkfs-time 0 -all-time 0 -noappend -no-xattrs: what osva-build writes)
#   EROFS, lz4hc             (mkfs.erofs -T0 --all-root -U <fixed>; Debian 12's erofs-utils 1.5 has no zstd or lzma)
# For each: size, build time, mount time (mount -o ro,loop,nodev,nosuid after dropping caches) and the cold first import
# (`bin/python -c "import nova.compute.manager"` after `echo 3 > /proc/sys/vm/drop_caches`), beside the same import from a
# plain unpacked directory. Median of RUNS (default 3), interleaved. Needs root and loop devices.
# Usage: builder/bench/image.sh [TREE]   (default: the newest cached nova artifact, /var/cache/osva/nova-out, unpacked)
set -euo pipefail
runs=${OSVA_BENCH_RUNS:-3}
[ "$(id -u)" = 0 ] || { echo "image.sh: needs root (mount, drop_caches)" >&2; exit 3; }
command -v mksquashfs >/dev/null && command -v mkfs.erofs >/dev/null || { echo "squashfs-tools or erofs-utils missing; run setup/ensure-env.sh" >&2; exit 3; }
work=$(mktemp -d /tmp/osva-bench-image.XXXXXX)
cleanup() { mountpoint -q "$work/m" && umount "$work/m"; rm -rf "$work"; }
trap cleanup EXIT

tree=${1:-}
if [ -z "$tree" ]; then
  archive=$(ls -t /var/cache/osva/nova-out/*.tar.gz 2>/dev/null | head -1)
  [ -n "$archive" ] || { echo "no cached nova artifact; run builder/bench/nova-build.sh or the NovaBuildTests once, or pass a tree" >&2; exit 3; }
  tree=$work/tree
  mkdir -p "$tree"
  tar -xzf "$archive" -C "$tree"
fi
mkdir -p "$work/m"

now() { date +%s.%N; }
squashfs() { mksquashfs "$tree" "$work/squashfs.img" -comp zstd -Xcompression-level 9 -all-root -mkfs-time 0 -all-time 0 -noappend -no-xattrs -quiet -no-progress >/dev/null; }
erofs() { mkfs.erofs -zlz4hc -T0 --all-root -U 00000000-0000-0000-0000-000000000000 -x-1 --quiet "$work/erofs.img" "$tree"; }
cold_import() { sync; echo 3 > /proc/sys/vm/drop_caches; local t0; t0=$(now); "$1/bin/python" -c "import nova.compute.manager"; echo "$t0 $(now)"; }

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
