#!/usr/bin/env bash
# capture-transcripts.sh -- record what a real OpenVPN 2.6 server sends on its
# management interface, as raw bytes (CRLF preserved), into test/openvpn/vectors/.
#
# Why: the management codec's tests must be driven by the real peer's output, not by
# our reading of the docs.  This script runs one OpenVPN server and short-lived clients,
# each in its own network namespace (unique names per run, joined by a veth pair), and a
# small python3 recorder (stdlib only) that drives the management port and cuts the
# byte stream into one file per scenario, at line boundaries.
#
# Usage: sudo test/openvpn/capture-transcripts.sh [OUT_DIR]   (default: the vectors dir)
# Note: ports, times, CIDs and cert serials differ on every run, so a new capture into
# the vectors dir needs the hand-written *.expected.json files re-checked; pass another
# OUT_DIR to capture without touching them.
# Only addresses inside our own namespaces (10.231.0.0/24, 10.232.0.0/24) and
# 127.0.0.1 inside the server namespace are used.  Cleanup is by PID and namespace.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/vectors}
TAG=$$
NS_SRV=tvec-srv-$TAG NS_CLI=tvec-cli-$TAG
VS=tvs$TAG VC=tvc$TAG
SRV_IP=10.231.0.1 CLI_IP=10.231.0.2
MGMT_PORT=7505
PY=/usr/bin/python3

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
need=()
command -v openvpn >/dev/null || need+=(openvpn)
command -v openssl >/dev/null || need+=(openssl)
command -v ip      >/dev/null || need+=(iproute2)
[ -x "$PY" ]                  || need+=(python3)
if ((${#need[@]})); then
  [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ] || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

WORK=$(mktemp -d /tmp/tally-ovpn-vec.XXXXXX)
PIDS=(); CREATED_NS=()
cleanup() {
  local rc=$?
  set +e
  for ((i=${#PIDS[@]}-1; i>=0; i--)); do kill "${PIDS[i]}" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  for ns in "${CREATED_NS[@]}"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
    sleep 0.3
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  [ $rc = 0 ] || { echo "--- server log tail"; tail -20 "$WORK/server.log" 2>/dev/null; cat "$WORK/recorder.log" 2>/dev/null; }
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT INT TERM

# ---------------------------------------------------------------- network
ip netns add "$NS_SRV"; CREATED_NS+=("$NS_SRV")
ip netns add "$NS_CLI"; CREATED_NS+=("$NS_CLI")
ip -n "$NS_SRV" link set lo up
ip -n "$NS_CLI" link set lo up
ip -n "$NS_SRV" link add "$VS" type veth peer name "$VC" netns "$NS_CLI"
ip -n "$NS_SRV" addr add "$SRV_IP/24" dev "$VS"
ip -n "$NS_CLI" addr add "$CLI_IP/24" dev "$VC"
ip -n "$NS_SRV" link set "$VS" up
ip -n "$NS_CLI" link set "$VC" up

# ---------------------------------------------------------------- PKI (test-only keys)
P="$WORK/pki"; mkdir -p "$P"
(
  cd "$P"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout ca.key -out ca.crt -days 2 -subj /CN=tally-vec-ca \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  for n in server client1; do
    eku=clientAuth; [ $n = server ] && eku=serverAuth
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout $n.key -out $n.csr -subj "/CN=$n" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=%s\n' $eku > $n.ext
    openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $n.crt -days 2 -extfile $n.ext 2>/dev/null
  done
)

# ---------------------------------------------------------------- server
# reneg-sec 12: a TLS renegotiation during the run gives us a real >CLIENT:REAUTH.
cat > "$WORK/server.conf" <<EOF
dev tun
proto udp4
local $SRV_IP
port 1194
topology subnet
server 10.232.0.0 255.255.255.0
ca $P/ca.crt
cert $P/server.crt
key $P/server.key
dh none
keepalive 5 30
reneg-sec 12
disable-dco
management 127.0.0.1 $MGMT_PORT
management-client-auth
verb 3
EOF
ip netns exec "$NS_SRV" openvpn --config "$WORK/server.conf" --log "$WORK/server.log" &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q 'Initialization Sequence Completed' "$WORK/server.log" 2>/dev/null && break; sleep 0.1; done
grep -q 'Initialization Sequence Completed' "$WORK/server.log" || exit 1

printf 'alice\nalicepass\n' > "$WORK/good.txt"
printf 'alice\nwrongpass\n' > "$WORK/bad.txt"
chmod 600 "$WORK/good.txt" "$WORK/bad.txt"
for kind in good bad; do
cat > "$WORK/client-$kind.conf" <<EOF
client
dev tun
proto udp4
remote $SRV_IP 1194
nobind
ca $P/ca.crt
cert $P/client1.crt
key $P/client1.key
remote-cert-tls server
auth-user-pass $WORK/$kind.txt
auth-retry none
disable-dco
connect-retry 2
connect-retry-max 2
setenv UV_TALLY_VEC 1
push-peer-info
verb 3
EOF
done

# ---------------------------------------------------------------- recorder
cat > "$WORK/recorder.py" <<'PYEOF'
import os, select, socket, subprocess, sys, time

WORK, NS_CLI, PORT, OUT = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
raw = []            # every complete line received, as raw bytes incl. its CRLF
buf = b""
procs = []

def say(*a):
    print("%s" % " ".join(str(x) for x in a), flush=True)

sock = None
for _ in range(50):
    try:
        sock = socket.create_connection(("127.0.0.1", PORT), timeout=2); break
    except OSError:
        time.sleep(0.1)
sock.setblocking(False)

def read_line(deadline):
    """next complete raw line (bytes incl. terminator); raises TimeoutError"""
    global buf
    while b"\n" not in buf:
        left = deadline - time.time()
        if left <= 0:
            raise TimeoutError()
        r, _, _ = select.select([sock], [], [], left)
        if r:
            d = sock.recv(65536)
            if not d:
                raise SystemExit("management socket closed")
            buf += d
    line, buf = buf.split(b"\n", 1)
    line += b"\n"
    raw.append(line)
    say("<<", line.decode(errors="replace").rstrip("\r\n")[:120])
    return line.decode(errors="replace").rstrip("\r\n")

def wait(pred, timeout=20, what="?"):
    end = time.time() + timeout
    while True:
        try:
            l = read_line(end)
        except TimeoutError:
            raise SystemExit("timeout waiting for " + what)
        if pred(l):
            return l

def drain(seconds):
    end = time.time() + seconds
    try:
        while True:
            read_line(end)
    except TimeoutError:
        pass

def client_block(prefix, timeout=20):
    """wait for >CLIENT:<prefix>,... and its ENV block; returns (args, env)"""
    head = wait(lambda l: l.startswith(">CLIENT:" + prefix + ","), timeout, prefix)
    env = {}
    while True:
        l = wait(lambda l: True, 10, "ENV")
        if l == ">CLIENT:ENV,END":
            break
        if l.startswith(">CLIENT:ENV,"):
            k, _, v = l[len(">CLIENT:ENV,"):].partition("=")
            env[k] = v
    return head.split(",", 1)[1].split(","), env

def send(cmd):
    say(">>", cmd)
    sock.sendall((cmd + "\n").encode())

mark = [0]
def save(name):
    """write every line received since the previous save() to OUT/name.txt"""
    with open(os.path.join(OUT, name + ".txt"), "wb") as f:
        f.write(b"".join(raw[mark[0]:]))
    say("-- saved", name, len(raw) - mark[0], "lines")
    mark[0] = len(raw)

def start_client(kind):
    p = subprocess.Popen(["ip", "netns", "exec", NS_CLI, "openvpn", "--config",
                          os.path.join(WORK, "client-%s.conf" % kind),
                          "--log", os.path.join(WORK, "client-%s.log" % kind)])
    procs.append(p)
    return p

try:
    wait(lambda l: l.startswith(">INFO:"), 10, "greeting")
    save("greeting")

    send("nosuchcommand 1 2")
    wait(lambda l: l.startswith("ERROR:"), 5, "ERROR")
    save("error-unknown-command")

    # wrong password -> client-deny (reason texts with spaces and a double quote)
    p = start_client("bad")
    args, env = client_block("CONNECT")
    assert env.get("password") == "wrongpass", env.get("password")
    send('client-deny %s %s "bad password for \\"alice\\"" "wrong credentials"' % (args[0], args[1]))
    wait(lambda l: l.startswith("SUCCESS:"), 5, "SUCCESS deny")
    client_block("DISCONNECT", 15)
    save("client-deny")
    p.wait(20)

    # right password -> client-auth-nt, ESTABLISHED (+ ADDRESS if sent)
    p = start_client("good")
    args, env = client_block("CONNECT")
    cid, kid = args[0], args[1]
    send("client-auth-nt %s %s" % (cid, kid))
    wait(lambda l: l.startswith("SUCCESS:"), 5, "SUCCESS auth-nt")
    client_block("ESTABLISHED")
    drain(2)
    save("connect-auth-nt-established")

    subprocess.run(["ip", "netns", "exec", NS_CLI, "ping", "-q", "-c", "5", "-i", "0.2",
                    "-s", "1000", "10.232.0.1"], capture_output=True)
    send("bytecount 1")
    wait(lambda l: l.startswith("SUCCESS:"), 5, "SUCCESS bytecount")
    drain(2.5)
    send("bytecount 0")
    wait(lambda l: l.startswith("SUCCESS:"), 5, "SUCCESS bytecount 0")
    save("bytecount")

    send("status 3")
    wait(lambda l: l == "END", 5, "status END")
    save("status3")

    # TLS renegotiation (server reneg-sec 12) -> >CLIENT:REAUTH, answered client-auth-nt
    args, env = client_block("REAUTH", 30)
    send("client-auth-nt %s %s" % (args[0], args[1]))
    wait(lambda l: l.startswith("SUCCESS:"), 5, "SUCCESS reauth")
    drain(1)
    save("reauth")

    send("client-kill %s HALT" % cid)
    wait(lambda l: l.startswith("SUCCESS:"), 5, "SUCCESS kill")
    client_block("DISCONNECT", 20)
    save("client-kill-halt-disconnect")
    p.wait(20)

    # client-auth with config lines (a multi-line block)
    p = start_client("good")
    args, env = client_block("CONNECT")
    cid, kid = args[0], args[1]
    send("client-auth %s %s" % (cid, kid))
    send('push "setenv-safe TALLY_CLASS gold"')
    send('push "dhcp-option DOMAIN vec.test"')
    send("END")
    wait(lambda l: l.startswith("SUCCESS:"), 5, "SUCCESS client-auth")
    client_block("ESTABLISHED")
    drain(1)
    send("client-kill %s HALT" % cid)
    wait(lambda l: l.startswith("SUCCESS:"), 5, "SUCCESS kill 2")
    client_block("DISCONNECT", 20)
    send("client-kill 999999")
    wait(lambda l: l.startswith("ERROR:"), 5, "ERROR kill unknown")
    save("client-auth-kill-unknown")

    with open(os.path.join(OUT, "full-session.txt"), "wb") as f:
        f.write(b"".join(raw))
    send("quit")
finally:
    for p in procs:
        if p.poll() is None:
            p.terminate()
            try: p.wait(5)
            except subprocess.TimeoutExpired: p.kill()
say("RECORDER_DONE")
PYEOF

mkdir -p "$OUT"
ip netns exec "$NS_SRV" timeout 150 "$PY" -u "$WORK/recorder.py" "$WORK" "$NS_CLI" "$MGMT_PORT" "$OUT" > "$WORK/recorder.log" 2>&1 &
REC=$!; PIDS+=($REC)
wait $REC
grep -q RECORDER_DONE "$WORK/recorder.log"
echo "Vectors captured with: $(openvpn --version | head -1)" > "$OUT/README.md"
echo "Captured by test/openvpn/capture-transcripts.sh on $(date -u +%Y-%m-%d); raw management-interface bytes (CRLF kept). Passwords and keys are throwaway test values." >> "$OUT/README.md"
ls -l "$OUT"
