#!/usr/bin/env bash
# A/B of two commits: for each round, a `tally serve` from each commit in turn (one at a time, on
# the npm run bench configuration, log level info), loaded by this checkout's `tally bench`:
# RADIUS accounting (100,000 requests, 256 in flight, 8 sockets, 3 interims per session), PAP
# authentication (50,000) and TACACS+ accounting over 8 persistent connections (30,000, 64 in
# flight). Prints req/s per server, round and workload, and beside each the server's CPU per
# request (utime + stime of all its threads, from /proc/PID/stat): this VM's speed drifts by
# up to half within the hour, CPU per request much less.
#   bench/ab.sh COMMIT_A COMMIT_B [ROUNDS]      e.g. bench/ab.sh f3ba129 HEAD 2
# The commits are checked out in temporary worktrees (node_modules copied from here) and
# removed at the end. Only the servers this script starts are stopped, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
a=$1 b=$2 rounds=${3:-2}
work=$(mktemp -d /tmp/tally-ab-XXXXXX)
cleanup() {
  for t in "$work"/tree-*; do [ -d "$t" ] && git worktree remove --force "$t" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
for name in a b; do
  rev=${!name}
  git worktree add -q --detach "$work/tree-$name" "$rev"
  cp -a node_modules "$work/tree-$name/"
done
cat > "$work/tally.yaml" <<'YAML'
store: { sqlite: ./tally.db }
radius: { auth: "127.0.0.1:21812", acct: "127.0.0.1:21813" }
tacacs: { listen: "127.0.0.1:24949" }
clients: [{ name: bench, address: 127.0.0.0/8, secret: testing123, tacacsKey: tackey }]
users: [{ name: bench, password: benchpass }]
log: { level: info }
YAML
rate() { python3 -c 'import json,sys; print(round(json.load(sys.stdin)["perSecond"]))'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# measure PID REQUESTS ARGS...: "R/s (C µs CPU/req)" for one `tally bench` run against server PID.
measure() {
  local pid=$1 requests=$2 before after r
  shift 2
  before=$(ticks "$pid")
  r=$(node --import tsx src/cli/main.ts bench "$@" --json 2>/dev/null | rate)
  after=$(ticks "$pid")
  echo "${r}/s ($(( (after - before) * 1000000 / $(getconf CLK_TCK) / requests )) µs CPU/req)"
}
one() {
  local name=$1 rev=$2 dir
  dir=$(mktemp -d "$work/run-XXXX")
  cp "$work/tally.yaml" "$dir/"
  (cd "$work/tree-$name" && exec node --import tsx src/cli/main.ts --config "$dir/tally.yaml" serve 2>"$dir/serve.log") &
  local pid=$!
  for _ in $(seq 1 100); do grep -q "Tally is running" "$dir/serve.log" && break; sleep 0.2; done
  grep -q "Tally is running" "$dir/serve.log" || { echo "$rev: tally serve did not start" >&2; cat "$dir/serve.log" >&2; kill "$pid"; exit 1; }
  local acct pap tac
  acct=$(measure "$pid" 100000 acct --target 127.0.0.1:21813 --requests 100000 --concurrency 256 --sockets 8 --interims 3)
  pap=$(measure "$pid" 50000 auth --target 127.0.0.1:21812 --requests 50000)
  tac=$(measure "$pid" 30000 tacacs-acct --target 127.0.0.1:24949 --requests 30000 --concurrency 64)
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  echo "$rev acct=$acct pap=$pap tacacs-acct=$tac"
}
for _ in $(seq 1 "$rounds"); do
  one a "$a"
  one b "$b"
done
