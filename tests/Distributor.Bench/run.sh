#!/bin/sh
# osva-publish vs Debian's awscli, publishing the same 500 MB archive to the local s3rver.
# Idempotent: installs awscli only when /usr/bin/aws is missing. Usage: run.sh [SIZE_MB]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ ! -x /usr/bin/aws ]; then
  echo "bench: installing Debian's awscli" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q awscli >/dev/null
fi
artifacts=${OSVA_BENCH_ARTIFACTS:-/tmp/osva-bench-publish}
dotnet build "$here" -c Release --artifacts-path "$artifacts" -v quiet -nologo >/dev/null
exec dotnet "$artifacts/bin/OsVenvArtifacts.Distributor.Bench/release/osva-publish-bench.dll" "$@"
