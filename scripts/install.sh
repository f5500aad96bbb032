#!/usr/bin/env bash
# Installs Tally's runtime on a Debian machine: Node.js >= 20.12 (from Debian when it has one new
# enough), the build tools better-sqlite3 falls back to, the npm packages, and builds the dashboard.
# Runs apt-get as root (directly, or through sudo when not root).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/apt.sh

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi
# 20.12: the first Node 20 with crypto.hash(), which the RADIUS and TACACS+ hot paths use.
if [ "$(node -p 'const [a, b] = process.versions.node.split(".").map(Number); a > 20 || (a === 20 && b >= 12)')" != true ]; then
  echo "Tally needs Node.js 20.12 or newer; this machine has $(node --version)." >&2
  echo "Debian 13 ships Node.js 20.19; on Debian 12 install nodejs 20 from NodeSource." >&2
  exit 1
fi
# better-sqlite3 compiles itself when no prebuilt binary matches this Node.
command -v make >/dev/null && command -v g++ >/dev/null || apt_install python3 make g++

if [ "${1:-}" = "--dev" ]; then npm ci --no-audit --no-fund; else npm ci --omit=dev --no-audit --no-fund; fi
# The dashboard Tally serves over HTTP: dashboard/ bundled into dist/dashboard/ (esbuild comes
# with tsx, so this works without the dev packages too).
npm run --silent build:dashboard
