#!/usr/bin/env bash
# Peak memory of osva-install as the artifact grows: installs a 50 MB and a 500 MB generated artifact
# (pseudo-random content, so the archive is as large as the tree) with the NativeAOT binary under
# /usr/bin/time -v and prints one line per size. Flat numbers mean the install streams end to end.
# Usage: installer/bench/memory.sh [OSVA_INSTALL_BINARY]   (default: publishes into $BENCH_DIR/publish)
# Env: BENCH_DIR (default /tmp/osva-bench-install), BENCH_SIZES_MB (default "50 500"), BENCH_KEEP=1 keeps the store.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
dir=${BENCH_DIR:-/tmp/osva-bench-install}
sizes=${BENCH_SIZES_MB:-50 500}
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 2; }
mkdir -p "$dir"
binary=${1:-}
if [ -z "$binary" ]; then
  dotnet publish "$repo/installer" -c Release -r linux-x64 --nologo -v q -o "$dir/publish" --artifacts-path "$dir/artifacts" >/dev/null
  binary="$dir/publish/osva-install"
fi
rm -rf "$dir/store" "$dir/work"
# shellcheck disable=SC2086
(cd "$repo" && dotnet run installer/bench/generate-artifacts.cs -- "$dir/store" "$dir/work" $sizes) >/dev/null
rm -rf "$dir/work"
echo "osva-install $("$binary" --version) ($(stat -c %s "$binary") bytes)"
for mb in $sizes; do
  root="$dir/root-$mb"
  rm -rf "$root"
  archive=$(stat -c %s "$dir/store/bench/${mb}mb/"*.tar.gz)
  /usr/bin/time -v -o "$dir/time-$mb.txt" "$binary" install bench "${mb}mb" --store "$dir/store" --root "$root" --no-activate >/dev/null
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/time-$mb.txt")
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$dir/time-$mb.txt")
  echo "install ${mb} MB artifact (archive ${archive} bytes): peak RSS ${rss} KiB, wall ${wall}"
  rm -rf "$root"
done
[ -n "${BENCH_KEEP:-}" ] || rm -rf "$dir/store"
