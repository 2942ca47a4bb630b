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

. "$repo/builder/bench/three-service-release.sh"
write_three_service_release

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
