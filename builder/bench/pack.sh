#!/usr/bin/env bash
# Benchmark: packing the nova venv tree alone, side by side in one run (the machine is shared and noisy):
#   osva-build pack (default threads: one per core)
#   GNU tar --sort=name ... | gzip -6 -n          (the floor to beat 2x)
#   GNU tar --sort=name ... | pigz -p2 -6 -n      (the parallel peer)
# Runs interleave (osva, gzip, pigz, osva, ...) so a load change hits all three alike; prints the median of RUNS
# (default 3) wall times, sizes and ratios, CPU seconds (user + system), the load average, and whether osva's tar is the
# one GNU tar writes.
# Usage: builder/bench/pack.sh [TREE [INSTALL_PATH EPOCH]]
#   TREE default: the newest cached nova artifact (/var/cache/osva/nova-out, made by the nova build test or
#   builder/bench/nova-build.sh) unpacked to a temp dir; its manifest gives the install path and epoch.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=${OSVA_BENCH_RUNS:-3}
artifacts=${OSVA_BENCH_ARTIFACTS:-/tmp/osva-bench-build-bin}
work=$(mktemp -d /tmp/osva-bench-pack.XXXXXX)
trap 'rm -rf "$work"' EXIT
command -v pigz >/dev/null || { echo "pigz missing; run setup/ensure-env.sh" >&2; exit 3; }

tree=${1:-}
if [ -z "$tree" ]; then
  archive=$(ls -t /var/cache/osva/nova-out/*.tar.gz 2>/dev/null | head -1)
  [ -n "$archive" ] || { echo "no cached nova artifact; run builder/bench/nova-build.sh or the NovaBuildTests once, or pass a tree" >&2; exit 3; }
  manifest=${archive%.tar.gz}.manifest.json
  tree=$work/tree
  mkdir -p "$tree"
  tar -xzf "$archive" -C "$tree"
  read -r install_path epoch tar_sha < <(python3 -c 'import json, sys; m = json.load(open(sys.argv[1]))
print(m["installPath"], m["sourceDateEpoch"], m["archive"]["tarSha256"])' "$manifest")
else
  install_path=${2:?INSTALL_PATH}
  epoch=${3:?EPOCH}
  tar_sha=
fi

dotnet build "$repo/builder" -c Release --nologo -v q --artifacts-path "$artifacts" >/dev/null
tool=(dotnet "$artifacts/bin/OsVenvArtifacts.Builder/release/osva-build.dll")
mapfile -t entries < <(cd "$tree" && LC_ALL=C ls -A)
gnu_tar() { tar -C "$tree" --format=gnu --sort=name --owner=root:0 --group=root:0 --mtime="@$epoch" -cf - "${entries[@]}"; }

# Warm the page cache and the tool once, so the first timed run is not the only cold one.
gnu_tar > /dev/null
"${tool[@]}" pack "$tree" --install-path "$install_path" --source-date-epoch "$epoch" --out "$work/osva.tar.gz" > /dev/null

# wall, user and system seconds (children included): CPU seconds do not depend on the load as wall time does.
TIMEFORMAT='%R %U %S'
osva() { "${tool[@]}" pack "$tree" --install-path "$install_path" --source-date-epoch "$epoch" --out "$work/osva.tar.gz" > /dev/null; }
gzip6() { gnu_tar | gzip -6 -n > "$work/gzip.tar.gz"; }
pigz2() { gnu_tar | pigz -p2 -6 -n > "$work/pigz.tar.gz"; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for _ in $(seq "$runs"); do
  { time osva; } 2>> "$work/osva.times"
  { time gzip6; } 2>> "$work/gzip.times"
  { time pigz2; } 2>> "$work/pigz.times"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

osva_tar=$(gzip -dc "$work/osva.tar.gz" | sha256sum | cut -d' ' -f1)
gnu_tar_sha=$(gzip -dc "$work/gzip.tar.gz" | sha256sum | cut -d' ' -f1)
tar_size=$(gzip -dc "$work/osva.tar.gz" | wc -c)
python3 - "$work" "$runs" "$(nproc)" "$load_before" "$load_after" "$tar_size" "$osva_tar" "$gnu_tar_sha" "$tar_sha" <<'PY'
import os, statistics, sys
work, runs, cores, before, after, tar_size, osva_tar, gnu_tar, manifest_tar = sys.argv[1:]
rows = [("osva-build pack", "osva"), ("tar | gzip -6 -n", "gzip"), ("tar | pigz -p2 -6 -n", "pigz")]
times = {k: [[float(v) for v in line.split()] for line in open(f"{work}/{k}.times")] for _, k in rows}
median = {k: statistics.median(t[0] for t in times[k]) for k in times}
cpu = {k: statistics.median(t[1] + t[2] for t in times[k]) for k in times}
print(f"nova tree: {int(tar_size) / 1e6:.1f} MB tar; {runs} runs each, interleaved; {cores} cores; load {before} before, {after} after")
print(f"| {'packer':<22} | {'median s':>8} | {'MB/s (tar)':>10} | {'size MB':>8} | {'gzip s / this':>13} | {'pigz s / this':>13} | {'CPU s':>6} |")
print(f"|{'-' * 24}|{'-' * 9}:|{'-' * 11}:|{'-' * 9}:|{'-' * 14}:|{'-' * 14}:|{'-' * 7}:|")
for name, k in rows:
    size = os.path.getsize(f"{work}/{k}.tar.gz")
    print(f"| {name:<22} | {median[k]:8.2f} | {int(tar_size) / 1e6 / median[k]:10.1f} | {size / 1e6:8.2f} | "
          f"{median['gzip'] / median[k]:13.2f} | {median['pigz'] / median[k]:13.2f} | {cpu[k]:6.1f} |")
print(f"osva's tar is GNU tar's: {'yes' if osva_tar == gnu_tar else 'NO'}"
      + (f"; the manifest's tarSha256: {'yes' if osva_tar == manifest_tar else 'NO'}" if manifest_tar else ""))
print(f"goal osva >= 2x gzip: {'met' if median['gzip'] / median['osva'] >= 2 else 'not met'} ({median['gzip'] / median['osva']:.2f}x)")
PY
