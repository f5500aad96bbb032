#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine: the runtime and dev npm
# packages, and the real third-party peers the interop tests run (radclient from
# freeradius-utils, FreeRADIUS's dictionaries and FreeRADIUS itself, pyrad for Debian's python3,
# Perl's Authen::TacacsPlus, radsecproxy (the RadSec peer), OpenVPN and its RADIUS plugin, and the PostgreSQL server: the tests
# start private clusters of their own on loopback (test/support/postgres.ts), so none is started here),
# and Debian's chromium, which the dashboard tests drive with playwright-core (no downloaded browser).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/apt.sh

new_radsecproxy=no
installed radsecproxy || new_radsecproxy=yes
apt_install freeradius-utils freeradius-common python3 python3-pyrad libauthen-tacacsplus-perl sqlite3 radsecproxy \
  openvpn openvpn-auth-radius openssl iproute2 iputils-ping postgresql chromium
# test/interop/radsec.test.ts runs a private radsecproxy in the foreground; the package's service
# (its default config listens on UDP 1812) is not wanted. One installed before is left alone.
if [ "$new_radsecproxy" = yes ]; then
  if [ -d /run/systemd/system ]; then
    as_root systemctl disable --now --quiet radsecproxy || true
  else
    as_root service radsecproxy stop >/dev/null 2>&1 || true
    as_root update-rc.d radsecproxy disable >/dev/null 2>&1 || true
  fi
fi
# FreeRADIUS 3.2 itself, for test/import/freeradius.test.ts (as the benchmark's anchor: its own
# service is left disabled, tests start a private radiusd on loopback).
scripts/install-bench-deps.sh
scripts/install.sh --dev
