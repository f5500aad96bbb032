#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine: the runtime and dev npm
# packages, and the real third-party peers the interop tests run (radclient from
# freeradius-utils, FreeRADIUS's dictionaries, pyrad for Debian's python3, Perl's
# Authen::TacacsPlus, OpenVPN and its RADIUS plugin).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
pkgs=(freeradius-utils freeradius-common python3 python3-pyrad libauthen-tacacsplus-perl sqlite3 openvpn openvpn-auth-radius openssl iproute2 iputils-ping)
missing=()
# "install ok installed" only: dpkg -s also succeeds for a removed package whose config files remain.
for p in "${pkgs[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if ((${#missing[@]})); then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
scripts/install.sh --dev
