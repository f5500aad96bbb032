#!/usr/bin/env bash
# Installs the Debian packages the side-by-side benchmark needs: FreeRADIUS 3.2 as the anchor
# (bench/anchors/freeradius.ts), radclient (freeradius-utils), sqlite3, and the PostgreSQL server
# (the PostgreSQL row starts a private cluster of its own, as the tests do).
# The anchor runs its own private radiusd from a copy of /etc/freeradius/3.0 on free ports, so
# the package's own service is not wanted: if this script installs freeradius, the service is
# disabled, and stopped if the install started it (it would hold 1812/1813). A freeradius that
# was installed before is left as the administrator set it up.
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/lib/apt.sh

# pgrep (procps) tells which radiusd processes the install started; minimal images lack it.
apt_install procps

new_freeradius=no
installed freeradius || new_freeradius=yes
# radiusd processes that exist before the install are not ours to touch.
before=" $(pgrep -x freeradius | tr '\n' ' ' || true) "

apt_install freeradius freeradius-utils sqlite3 postgresql

if [ "$new_freeradius" = yes ]; then
  started=()
  for pid in $(pgrep -x freeradius || true); do
    [[ "$before" == *" $pid "* ]] || started+=("$pid")
  done
  if ((${#started[@]})); then
    echo "bench deps: the package started its service (pid ${started[*]}); stopping it"
    as_root service freeradius stop || true
  fi
  if [ -d /run/systemd/system ]; then
    as_root systemctl disable --quiet freeradius || true
  else
    as_root update-rc.d freeradius disable >/dev/null 2>&1 || true
  fi
  still=()
  for pid in "${started[@]}"; do [ -d "/proc/$pid" ] && still+=("$pid"); done
  if ((${#still[@]})); then
    echo "bench deps: the package's freeradius (pid ${still[*]}) is still running; stop it by hand" >&2
    exit 1
  fi
fi
