#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine: the runtime and dev npm
# packages, and the real third-party peers the interop tests run (radclient from
# freeradius-utils, FreeRADIUS's dictionaries and FreeRADIUS itself, pyrad for Debian's python3,
# Perl's Authen::TacacsPlus, OpenVPN and its RADIUS plugin, and the PostgreSQL server: the tests
# start private clusters of their own on loopback (test/support/postgres.ts), so none is started here),
# and Debian's chromium, which the dashboard tests drive with playwright-core (no downloaded browser).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/apt.sh

apt_install freeradius-utils freeradius-common python3 python3-pyrad libauthen-tacacsplus-perl sqlite3 \
  openvpn openvpn-auth-radius openssl iproute2 iputils-ping postgresql chromium
# FreeRADIUS 3.2 itself, for test/import/freeradius.test.ts (as the benchmark's anchor: its own
# service is left disabled, tests start a private radiusd on loopback).
scripts/install-bench-deps.sh
scripts/install.sh --dev
