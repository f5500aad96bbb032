#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine: the runtime and dev npm
# packages, and the real third-party peers the interop tests run (radclient from
# freeradius-utils, FreeRADIUS's dictionaries, pyrad for Debian's python3, Perl's
# Authen::TacacsPlus, OpenVPN and its RADIUS plugin, and the PostgreSQL server: the tests start
# private clusters of their own on loopback (test/support/postgres.ts), so none is started here).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/apt.sh

apt_install freeradius-utils freeradius-common python3 python3-pyrad libauthen-tacacsplus-perl sqlite3 \
  openvpn openvpn-auth-radius openssl iproute2 iputils-ping postgresql
scripts/install.sh --dev
