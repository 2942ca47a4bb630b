#!/usr/bin/env bash
# Benchmark: a real nova venv (Debian's python3-nova closure, ~190 wheels) built by osva-build, then built again unchanged.
# Prints the time split (pip = container + venv + pip install + compileall; pack = engine tar out + sort + gzip),
# the artifact's size (gzipped, tar, unpacked), its file count, and the cached re-run's wall time.
# Usage: builder/bench/nova-build.sh [WHEELHOUSE] [WORKDIR]
#   WHEELHOUSE default: the newest /var/cache/osva/wheelhouse/nova-* (the Builder.Tests nova test caches it there),
#   else one made now with `osva-build wheels --from-debian python3-nova` (~3 min, network host to Debian's registry).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
wheels=${1:-$(ls -dt /var/cache/osva/wheelhouse/nova-* 2>/dev/null | head -1)}
work=${2:-$(mktemp -d /tmp/osva-bench-nova.XXXXXX)}
artifacts=${OSVA_BENCH_ARTIFACTS:-/tmp/osva-bench-build-bin}
mkdir -p "$work"

dotnet build "$repo/builder" -c Release --nologo -v q --artifacts-path "$artifacts" >/dev/null
tool=(dotnet "$artifacts/bin/OsVenvArtifacts.Builder/release/osva-build.dll")
export OSVA_IMAGES="$repo/images" OSVA_BUILD_NAME_PREFIX=${OSVA_BUILD_NAME_PREFIX:-osva-bench-}

if [ -z "$wheels" ]; then
  wheels="$work/wheels"
  "${tool[@]}" wheels --from-debian python3-nova --platform debian-12 --out "$wheels" --quiet
fi
nova_wheel=$(ls "$wheels"/nova-*.whl 2>/dev/null | head -1)
[ -n "$nova_wheel" ] || { echo "no nova wheel in $wheels" >&2; exit 3; }
version=$(basename "$nova_wheel" | cut -d- -f2)

cat > "$work/release.yaml" <<YAML
defaults:
  wheelhouse: $wheels
  sourceDateEpoch: 1700000000
services:
  - { name: nova, tag: "$version", requirements: ["nova==$version"], consoleScripts: [nova-manage, nova-api, nova-compute] }
YAML

rm -rf "$work/out"
start=$(date +%s.%N)
"${tool[@]}" build "$work/release.yaml" --out "$work/out" --json 2>/dev/null > "$work/cold.json"
cold=$(echo "$(date +%s.%N) - $start" | bc)
start=$(date +%s.%N)
"${tool[@]}" build "$work/release.yaml" --out "$work/out" --json 2>/dev/null > "$work/warm.json"
warm=$(echo "$(date +%s.%N) - $start" | bc)
python3 - "$work" "$cold" "$warm" <<'PY'
import glob, json, sys
work, cold, warm = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
c, w = json.load(open(work + "/cold.json"))[0], json.load(open(work + "/warm.json"))[0]
m = json.load(open(glob.glob(work + "/out/*.manifest.json")[0]))
print(f"osva-build nova {m['tag']} cold: {cold:.1f} s wall; job {c['seconds']:.1f} s = pip {c['pipSeconds']:.1f} s + pack {c['packSeconds']:.1f} s")
print(f"artifact: {m['archive']['size'] / 1e6:.1f} MB tar.gz, {m['archive']['tarSize'] / 1e6:.1f} MB tar, "
      f"{m['unpackedSize'] / 1e6:.1f} MB in {m['fileCount']} files, {len(m['packages'])} packages")
print(f"osva-build nova unchanged rebuild: {warm:.2f} s wall ({w['status']})")
PY
