#!/usr/bin/env bash
# Brings this machine to what osva's demo and tests need, idempotently:
# Debian packages, a Docker engine, the debian-12 base image, s3rver on loopback.
# Safe to run twice; each step checks before it acts.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
state=${OSVA_STATE_DIR:-/var/lib/osva-dev}
s3_port=${OSVA_S3_PORT:-4568}
mkdir -p "$state"

log() { echo "setup: $*"; }

need_pkgs=()
command -v dockerd >/dev/null || need_pkgs+=(docker.io)
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
command -v visudo >/dev/null || need_pkgs+=(sudo)
command -v systemd-analyze >/dev/null || need_pkgs+=(systemd)
command -v node >/dev/null || need_pkgs+=(nodejs)
command -v npm >/dev/null || need_pkgs+=(npm)
command -v openssl >/dev/null || need_pkgs+=(openssl)
# bsdtar: one of the readers every artifact is checked with (tests/TestSupport/ArchiveListings.cs).
command -v bsdtar >/dev/null || need_pkgs+=(libarchive-tools)
command -v pigz >/dev/null || need_pkgs+=(pigz) # the peer builder/bench/pack.sh measures packing against
# Image mode: osva-build writes squashfs images; erofs-utils is the other candidate builder/bench/image.sh measures.
command -v mksquashfs >/dev/null || need_pkgs+=(squashfs-tools)
command -v mkfs.erofs >/dev/null || need_pkgs+=(erofs-utils)
# Installed venvs link bin/python to Debian's interpreter, as on a real host.
[ -x /usr/bin/python3.11 ] || need_pkgs+=(python3)
# The osva.venv collection's module is tested with Debian's Ansible (ansible-core 2.14).
command -v ansible-doc >/dev/null || need_pkgs+=(ansible)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# Docker engine: no bridge network and no iptables, so containers run with network none or host only.
if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  log "starting dockerd"
  # setsid: in a session of its own, so the end of the shell or job that started it never takes it down.
  setsid -f nohup dockerd --bridge=none --iptables=false --ip6tables=false >"$state/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do docker version >/dev/null 2>&1 && break; sleep 1; done
  docker version >/dev/null 2>&1 || { echo "setup: dockerd did not start; see $state/dockerd.log" >&2; exit 1; }
fi

# Base images: nothing can be pulled, so each FROM image is made with debootstrap and imported under its name.
ensure_base_image() {
  local name=$1 suite=$2
  if docker image inspect "$name" >/dev/null 2>&1; then return; fi
  local rootfs="$state/rootfs-$suite"
  log "bootstrapping $name from Debian $suite (once)"
  rm -rf "$rootfs"
  debootstrap --variant=minbase "$suite" "$rootfs" >"$state/debootstrap-$suite.log" 2>&1 \
    || { echo "setup: debootstrap failed; see $state/debootstrap-$suite.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar --numeric-owner -C "$rootfs" -c . | docker import - "$name" >/dev/null
  rm -rf "$rootfs"
}
ensure_base_image debian:12 bookworm

# s3rver, pinned by setup/package-lock.json, serving on loopback only.
if [ ! -x "$here/node_modules/.bin/s3rver" ]; then
  log "installing s3rver"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
if ! (exec 3<>"/dev/tcp/127.0.0.1/$s3_port") 2>/dev/null; then
  log "starting s3rver on 127.0.0.1:$s3_port"
  mkdir -p "$state/s3rver"
  setsid -f nohup "$here/node_modules/.bin/s3rver" --address 127.0.0.1 --port "$s3_port" \
    --directory "$state/s3rver" --configure-bucket osva-test --configure-bucket osva-demo \
    >"$state/s3rver.log" 2>&1 &
  for _ in $(seq 1 30); do (exec 3<>"/dev/tcp/127.0.0.1/$s3_port") 2>/dev/null && break; sleep 1; done
  (exec 3<>"/dev/tcp/127.0.0.1/$s3_port") 2>/dev/null || { echo "setup: s3rver did not start; see $state/s3rver.log" >&2; exit 1; }
fi
# Debian's own nova packages (files only, never installed here): the migration tests unpack them into a host
# container with dpkg -x. apt knows its sources; the .debs are cached so later runs need no network.
debs=/var/cache/osva/debs
if ! ls "$debs"/nova-common_*.deb "$debs"/nova-api_*.deb >/dev/null 2>&1; then
  log "downloading Debian's nova-common and nova-api into $debs"
  mkdir -p "$debs"
  (cd "$debs" && apt-get download -qq nova-common nova-api 2>/dev/null) \
    || (apt-get update -qq && cd "$debs" && apt-get download -qq nova-common nova-api) \
    || { echo "setup: apt-get download nova-common nova-api failed" >&2; exit 1; }
fi

log "ready: docker $(docker version --format '{{.Server.Version}}'), s3rver 127.0.0.1:$s3_port"
