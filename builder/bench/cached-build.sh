#!/usr/bin/env bash
# Benchmark: a second `osva-build build` of an unchanged three-service release rebuilds nothing.
# Goal (issue 3): under 2 s wall time for the cached run. Prints one line per measurement.
# Usage: builder/bench/cached-build.sh [WORKDIR]   (needs a running Docker engine; debian-12 image is built if absent)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$(mktemp -d /tmp/osva-bench-build.XXXXXX)}
artifacts=${OSVA_BENCH_ARTIFACTS:-/tmp/osva-bench-build-bin}
mkdir -p "$work/src"

dotnet build "$repo/builder" -c Release --nologo -v q --artifacts-path "$artifacts" >/dev/null
tool=(dotnet "$artifacts/bin/OsVenvArtifacts.Builder/release/osva-build.dll")
export OSVA_IMAGES="$repo/images" OSVA_BUILD_NAME_PREFIX=${OSVA_BUILD_NAME_PREFIX:-osva-bench-}

for name in alpha beta gamma; do
  dir="$work/src/osva-bench-$name"; mkdir -p "$dir/osva_bench_$name"
  echo "def main():\n    print('$name')" | sed 's/\\n/\n/' > "$dir/osva_bench_$name/__init__.py"
  cat > "$dir/setup.py" <<PY
from setuptools import setup
setup(name='osva-bench-$name', version='1.0.0', packages=['osva_bench_$name'],
      entry_points={'console_scripts': ['osva-bench-$name = osva_bench_$name:main']})
PY
done
"${tool[@]}" wheels "$work"/src/* --out "$work/wheels" >/dev/null

cat > "$work/release.yaml" <<YAML
defaults:
  wheelhouse: ./wheels
  sourceDateEpoch: 1700000000
services:
  - { name: alpha, tag: 1.0.0, requirements: [osva-bench-alpha], consoleScripts: [osva-bench-alpha] }
  - { name: beta, tag: 1.0.0, requirements: [osva-bench-beta], consoleScripts: [osva-bench-beta] }
  - { name: gamma, tag: 1.0.0, requirements: [osva-bench-gamma], consoleScripts: [osva-bench-gamma] }
YAML

rm -rf "$work/out"
start=$(date +%s.%N)
"${tool[@]}" build "$work/release.yaml" --out "$work/out" 2>/dev/null >/dev/null
cold=$(echo "$(date +%s.%N) - $start" | bc)
start=$(date +%s.%N)
result=$("${tool[@]}" build "$work/release.yaml" --out "$work/out" 2>/dev/null)
warm=$(echo "$(date +%s.%N) - $start" | bc)
cached=$(grep -c ' cached$' <<<"$result" || true)
printf 'osva-build cold build, 3 services: %.2f s\n' "$cold"
printf 'osva-build unchanged rebuild, 3 services: %.2f s (%s of 3 cached; goal < 2 s)\n' "$warm" "$cached"
[ "$cached" -eq 3 ] && awk "BEGIN { exit !($warm < 2.0) }"
