#!/usr/bin/env bash
# Runs every test project, then prints one summary line over all of them: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
results=${OSVA_TEST_RESULTS:-$PWD/TestResults}
rm -rf "$results"; mkdir -p "$results"

dotnet build OsVenvArtifacts.sln -c Release --nologo -v q || { echo "0 passed, 1 failed (build failed)"; exit 1; }
# The installer is tested as hosts run it: the NativeAOT binary.
make -s publish-installer >/dev/null || { echo "0 passed, 1 failed (installer publish failed)"; exit 1; }
export OSVA_INSTALLER_BINARY=$PWD/out/installer/osva-install
# Hostile, fuzz, kill and full-disk tests append their outcomes here; the trust report below sums them.
export OSVA_TRUST_LOG=$results/trust.jsonl

status=0
for project in tests/*.Tests/*.csproj; do
  name=$(basename "$project" .csproj)
  echo "== $name"
  # The Ansible fleet scenario takes minutes: `make ansible` runs it (and .ci/run after this).
  dotnet test "$project" -c Release --no-build --nologo --filter "Category!=AnsibleFleet&Category!=MultiEngine" \
    --logger "trx;LogFileName=$results/$name.trx" --logger "console;verbosity=normal" \
    || status=1
done

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
done
echo "== trust report"
./setup/trust-report.sh || status=1
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
