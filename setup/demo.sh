#!/usr/bin/env bash
# The main job end to end: build the demo service's venv in Docker, publish it to s3rver on loopback
# and to a directory, install it into a scratch root with the NativeAOT installer, run it.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$PWD/.demo
rm -rf "$work"; mkdir -p "$work"

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL=http://127.0.0.1:${OSVA_S3_PORT:-4568}
s3_store=s3://osva-demo/demo-$(date +%s)

step() { printf '\n== %s\n' "$*"; }

step "compile osva (Release) and publish the NativeAOT installer"
dotnet build OsVenvArtifacts.sln -c Release --nologo -v q
make -s publish-installer >/dev/null
build() { dotnet builder/bin/Release/net10.0/osva-build.dll "$@"; }
publish() { dotnet distributor/bin/Release/net10.0/osva-publish.dll "$@"; }
install() { out/installer/osva-install "$@"; }

step "osva-build wheels: the demo project's wheel, built in the platform image with no network"
build wheels demo/src/osva-demo-hello --out "$work/wheels"

step "osva-build build demo/release.yaml"
build build demo/release.yaml --out "$work/out"
ls -l "$work/out"

step "osva-publish to $s3_store (s3rver on loopback) and to the directory $work/store"
publish publish "$work/out" --store "$s3_store"
publish publish "$work/out" --store "$work/store"
publish list --store "$s3_store"

step "osva-install demo 1.0.0 from S3 into the scratch root $work/root"
# The demo-api unit, as the service's packages would have put it on a host: drop-ins go only to units a host has.
mkdir -p "$work/root/lib/systemd/system"
printf '[Service]\nExecStart=/usr/bin/osva-hello\n' >"$work/root/lib/systemd/system/demo-api.service"
install install demo 1.0.0 --store "$s3_store" --root "$work/root"
install list --root "$work/root"

step "run the installed console script"
venv=$work/root/openstack/venvs/demo-1.0.0
"$venv/bin/python" "$venv/bin/osva-hello"

step "what the installer wrote"
cat "$work/root/etc/systemd/system/demo-api.service.d/osva-venv.conf"
cat "$work/root/etc/sudoers.d/demo_osva"
visudo -cf "$work/root/etc/sudoers.d/demo_osva"

echo
echo "demo ok: artifact $(du -h "$work"/out/*.tar.gz | cut -f1) in $work/out"
