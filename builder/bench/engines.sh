#!/usr/bin/env bash
# Benchmark: a three-service release built on one Docker engine vs spread over two (--engine twice; the second is a
# dockerd on this same machine started by setup/second-engine.sh), cold artifact cache each run, default --jobs per
# engine. Prints the median of OSVA_BENCH_RUNS runs (default 3) of each, interleaved, and their ratio; then one run of
# two engines where the second first has to load the platform image from the first (export/load through the API).
# Also checks both ways give the same sha256 for every artifact.
# Usage: builder/bench/engines.sh [WORKDIR]   (needs root and a running Docker engine: ./setup/ensure-env.sh)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$(mktemp -d /tmp/osva-bench-engines.XXXXXX)}
runs=${OSVA_BENCH_RUNS:-3}
artifacts=${OSVA_BENCH_ARTIFACTS:-/tmp/osva-bench-build-bin}
mkdir -p "$work/src"

dotnet build "$repo/builder" -c Release --nologo -v q --artifacts-path "$artifacts" >/dev/null
tool=(dotnet "$artifacts/bin/OsVenvArtifacts.Builder/release/osva-build.dll")
export OSVA_IMAGES="$repo/images" OSVA_BUILD_NAME_PREFIX=${OSVA_BUILD_NAME_PREFIX:-osva-bench-}

engine_a=${DOCKER_HOST:-unix:///var/run/docker.sock}
started_b=no
if ! docker -H "$("$repo/setup/second-engine.sh" socket)" version >/dev/null 2>&1; then started_b=yes; fi
engine_b=$("$repo/setup/second-engine.sh" start)
# Only an engine this script started is stopped at the end.
[ "$started_b" = yes ] && trap '"$repo/setup/second-engine.sh" stop' EXIT

. "$repo/builder/bench/three-service-release.sh"
write_three_service_release

# Seconds of one cold build into $1 with the remaining arguments; its stdout is kept in $1.lines.
timed_build() {
  local out=$1; shift
  rm -rf "$out"
  local start; start=$(date +%s.%N)
  "${tool[@]}" build "$work/release.yaml" --out "$out" "$@" 2>"$out.log" >"$out.lines"
  echo "$(date +%s.%N) - $start" | bc
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
sums() { awk '{ print $2 }' "$1.lines" | sort; }

# The image, once, on the first engine, so no run below pays for building it.
"${tool[@]}" build "$work/release.yaml" --out "$work/warmup" >/dev/null 2>&1

# The second engine loads the image from the first once; timed apart, as it happens once per engine and image.
image=$(docker -H "$engine_a" image inspect --format '{{.Id}}' "$(docker -H "$engine_a" images --format '{{.Repository}}:{{.Tag}}' 'osva/debian-12' | head -1)")
docker -H "$engine_b" image rm -f "$image" >/dev/null 2>&1 || true
load=$(timed_build "$work/load" --engine "$engine_a" --engine "$engine_b")
grep -q "loading image" "$work/load.log" || { echo "engines: the second engine did not load the image" >&2; exit 1; }

one=() two=()
for _ in $(seq 1 "$runs"); do
  one+=("$(timed_build "$work/one" --engine "$engine_a")")
  two+=("$(timed_build "$work/two" --engine "$engine_a" --engine "$engine_b")")
done
used=$(awk '$4 == "built" { print $5 }' "$work/two.lines" | sort -u | wc -l)
[ "$(sums "$work/one")" = "$(sums "$work/two")" ] && [ "$(sums "$work/one")" = "$(sums "$work/load")" ] \
  || { echo "engines: one engine and two engines gave different artifacts" >&2; exit 1; }

m1=$(printf '%s\n' "${one[@]}" | median)
m2=$(printf '%s\n' "${two[@]}" | median)
printf 'build 3 services, 1 engine  (median of %d): %6.2f s  [%s]\n' "$runs" "$m1" "${one[*]}"
printf 'build 3 services, 2 engines (median of %d): %6.2f s  [%s]  (%d engines built; artifacts identical)\n' "$runs" "$m2" "${two[*]}" "$used"
printf 'ratio 1 engine / 2 engines: %.2f  (%d cores on this machine, shared by both engines)\n' "$(echo "$m1 / $m2" | bc -l)" "$(nproc)"
printf 'build 3 services, 2 engines, second engine first loads the image: %.2f s (once per engine and image)\n' "$load"
