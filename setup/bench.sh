#!/usr/bin/env bash
# Benchmarks for the speed and memory goals. Each part's benchmark measures its figures side by side
# in one run (the machine is shared and noisy) and prints them; this script runs them all.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .bench

for bench in builder/bench/*.sh distributor/bench/*.sh installer/bench/*.sh; do
  [ -x "$bench" ] || continue
  echo "== $bench"
  "$bench"
done
