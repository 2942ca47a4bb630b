#!/usr/bin/env bash
# Benchmarks for the speed and memory goals. Each one measures its figures side by side in one run
# (the machine is shared and noisy) and prints them.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== build: second build of an unchanged three-service release (goal < 2 s)"
builder/bench/cached-build.sh

echo "== build: three services on one engine vs two (a second dockerd on this machine)"
builder/bench/engines.sh

echo "== build: nova from the cached Debian wheelhouse, cold and unchanged"
builder/bench/nova-build.sh

echo "== pack: osva-build pack vs tar | gzip -6 -n vs tar | pigz -p2, nova tree"
builder/bench/pack.sh

echo "== image: squashfs zstd vs EROFS lz4hc on the nova tree (size, build, mount, cold first import)"
builder/bench/image.sh

echo "== publish: osva-publish vs Debian's awscli, same 500 MB artifact, same s3rver"
tests/Distributor.Bench/run.sh

for bench in installer/bench/*.sh; do
  [ -x "$bench" ] || continue
  echo "== install: $bench"
  "$bench"
done
