#!/usr/bin/env bash
# A second Docker engine on this machine, for multi-engine builds (tests and builder/bench/engines.sh):
# its own socket, data root, exec root and pid file, and no bridge network or iptables rules.
# Usage: setup/second-engine.sh start|stop|socket   (idempotent: start reuses a running one, stop of none is fine)
# OSVA_ENGINE_B_NAME (default osva-test-docker-b) names the socket, data root, exec root and pid file.
set -euo pipefail

name=${OSVA_ENGINE_B_NAME:-osva-test-docker-b}
socket=/run/$name.sock
pidfile=/run/$name.pid
data=/var/lib/$name
exec_root=/run/$name
log=/var/log/$name.log

answers() { docker -H "unix://$socket" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

running_pid() {
  local pid
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -qa dockerd "/proc/$pid/cmdline" && echo "$pid"
}

case ${1:-} in
  start)
    if answers; then echo "unix://$socket"; exit 0; fi
    # A daemon left from an earlier run that no longer answers is stopped first.
    "$0" stop >/dev/null
    mkdir -p "$data" "$exec_root"
    # An empty config file: the second engine must not pick up /etc/docker/daemon.json (its hosts, its bridge).
    echo '{}' >"$exec_root.json"
    setsid -f nohup dockerd --host "unix://$socket" --data-root "$data" --exec-root "$exec_root" --pidfile "$pidfile" \
      --config-file "$exec_root.json" --bridge=none --iptables=false --ip6tables=false >"$log" 2>&1 </dev/null
    for _ in $(seq 1 60); do answers && break; sleep 0.5; done
    answers || { echo "second-engine: dockerd at unix://$socket did not start; see $log" >&2; exit 1; }
    echo "unix://$socket"
    ;;
  stop)
    if pid=$(running_pid); then
      kill "$pid"
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
    fi
    rm -f "$pidfile" "$socket"
    ;;
  socket)
    echo "unix://$socket"
    ;;
  *)
    echo "usage: $0 start|stop|socket" >&2
    exit 2
    ;;
esac
