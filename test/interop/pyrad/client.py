#!/usr/bin/python3
"""pyrad (python3-pyrad) as a RADIUS client for Tally's interop tests.

pyrad 2.1 (Debian 12) builds and parses the packets; it predates Message-Authenticator
support, so this script adds that attribute itself as RFC 3579 section 3.2 describes.

  auth-ma HOST PORT SECRET USER PASSWORD     -> JSON {code, replyMessageAuthenticatorValid, attributes}
  auth HOST PORT SECRET USER PASSWORD [--no-ma] [--proxy-state HEX] [--source ADDRESS]
      an Access-Request with or without Message-Authenticator, optionally with a Proxy-State,
      sent from ADDRESS (any 127/8 address); -> JSON as auth-ma plus firstAttribute (the
      reply's first attribute type) and proxyState (the reply's Proxy-State values, hex);
      {code: null} when nothing came back within 2 s
  retransmit HOST PORT SECRET SESSION N      -> JSON {responses}  (one datagram sent N times)
  burst HOST PORT SECRET PREFIX N            -> JSON {acknowledged: [session ids]}
  order HOST PORT SECRET PREFIX SESSIONS STEPS -> JSON {acknowledged: n}
      every session's Start, Interim-Updates and Stop sent back to back without waiting,
      sessions interleaved round-robin, so a server must keep each session's order itself
  steady HOST PORT SECRET PREFIX WINDOW STOPFILE MAXSECONDS
      a steady load: WINDOW Starts of new sessions always in flight, each retransmitted
      (the identical datagram) every 0.3 s until answered, as a NAS does while its server
      restarts; prints each acknowledged session id on its own line the moment the answer is
      verified; stops starting sessions when STOPFILE exists (or after MAXSECONDS), then gives
      the outstanding ones 10 s more and prints {"done": sent, "acknowledged": n}
"""
import hashlib, hmac, json, os, select, socket, sys, time
import pyrad.packet
from pyrad.dictionary import Dictionary

DICT = Dictionary(os.path.join(os.path.dirname(os.path.abspath(__file__)), "dictionary"))


def add_message_authenticator(raw, secret):
    # Message-Authenticator was appended last with 16 zero octets; HMAC-MD5 over the whole packet.
    assert raw[-18] == 80 and raw[-17] == 18
    mac = hmac.new(secret, raw, hashlib.md5).digest()
    return raw[:-16] + mac


def check_reply_ma(reply_raw, request_auth, secret):
    i = 20
    while i < len(reply_raw):
        t, l = reply_raw[i], reply_raw[i + 1]
        if t == 80:
            zeroed = reply_raw[:4] + request_auth + reply_raw[20:i + 2] + b"\x00" * 16 + reply_raw[i + 18:]
            return hmac.compare_digest(hmac.new(secret, zeroed, hashlib.md5).digest(), reply_raw[i + 2:i + 18])
        i += l
    return None


def exchange(sock, addr, raw, timeout=2.0):
    sock.sendto(raw, addr)
    r, _, _ = select.select([sock], [], [], timeout)
    return sock.recv(4096) if r else None


def auth_ma(host, port, secret, user, password, ma=True, proxy_state=None, source=None):
    req = pyrad.packet.AuthPacket(code=pyrad.packet.AccessRequest, secret=secret, dict=DICT)
    req["User-Name"] = user
    req["User-Password"] = req.PwCrypt(password)
    req["NAS-Identifier"] = "pyrad"
    if proxy_state is not None:
        req.AddAttribute("Proxy-State", proxy_state)
    if ma:
        req.AddAttribute("Message-Authenticator", b"\x00" * 16)
        raw = add_message_authenticator(req.RequestPacket(), secret)
    else:
        raw = req.RequestPacket()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if source is not None:
        sock.bind((source, 0))
    data = exchange(sock, (host, port), raw)
    if data is None:
        return {"code": None}
    reply = pyrad.packet.Packet(packet=data, secret=secret, dict=DICT)
    ok = req.VerifyReply(reply, data)
    return {
        "code": reply.code,
        "responseAuthenticatorValid": bool(ok),
        "replyMessageAuthenticatorValid": check_reply_ma(data, req.authenticator, secret),
        "firstAttribute": data[20] if len(data) > 20 else None,
        "proxyState": [v.hex() for v in (reply["Proxy-State"] if "Proxy-State" in reply else [])],
        "attributes": {k: [v if isinstance(v, (int, str)) else v.hex() for v in reply[k]] for k in reply.keys() if k not in ("Message-Authenticator", "Proxy-State")},
    }


def acct_packet(secret, session, status, extra=None):
    req = pyrad.packet.AcctPacket(code=pyrad.packet.AccountingRequest, secret=secret, dict=DICT)
    req["User-Name"] = "alice"
    req["NAS-Identifier"] = "pyrad"
    req["Acct-Session-Id"] = session
    req["Acct-Status-Type"] = status
    for k, v in (extra or {}).items():
        req[k] = v
    return req


def retransmit(host, port, secret, session, n):
    req = acct_packet(secret, session, "Start")
    raw = req.RequestPacket()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    responses = 0
    for _ in range(n):
        data = exchange(sock, (host, port), raw)
        if data is not None and req.VerifyReply(pyrad.packet.Packet(packet=data, secret=secret, dict=DICT), data):
            responses += 1
    return {"responses": responses}


def burst(host, port, secret, prefix, n):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pending = {}
    for i in range(n):
        req = acct_packet(secret, "%s-%d" % (prefix, i), "Start", {"Acct-Delay-Time": 0})
        req.id = i % 256
        pending[i] = (req, req.RequestPacket())
    acked = []
    # Identifiers repeat every 256 requests, so send in windows of at most 256 outstanding.
    ids = list(pending)
    while ids:
        window, ids = ids[:256], ids[256:]
        outstanding = {pending[i][0].id: i for i in window}
        for attempt in range(5):
            for i in outstanding.values():
                sock.sendto(pending[i][1], (host, port))
            deadline = time.time() + 1.0
            while outstanding and time.time() < deadline:
                r, _, _ = select.select([sock], [], [], max(0, deadline - time.time()))
                if not r:
                    break
                data = sock.recv(4096)
                i = outstanding.get(data[1])
                if i is None:
                    continue
                req = pending[i][0]
                if req.VerifyReply(pyrad.packet.Packet(packet=data, secret=secret, dict=DICT), data):
                    acked.append(req["Acct-Session-Id"][0])
                    del outstanding[data[1]]
            if not outstanding:
                break
    return {"acknowledged": acked}


def collect_verified(sock, pending, secret, deadline, want=None):
    """Reads answers on sock until deadline, until `want` have come or nothing is pending.
    pending maps identifier -> (request, raw); the request of each answer whose Response
    Authenticator verifies leaves pending and is returned, in the order the answers came."""
    got = []
    while pending and time.time() < deadline and (want is None or len(got) < want):
        r, _, _ = select.select([sock], [], [], max(0, deadline - time.time()))
        if not r:
            break
        data = sock.recv(4096)
        entry = pending.get(data[1])
        if entry and entry[0].VerifyReply(pyrad.packet.Packet(packet=data, secret=secret, dict=DICT), data):
            got.append(entry[0])
            del pending[data[1]]
    return got


def order(host, port, secret, prefix, sessions, steps):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    pending = {}
    n = 0
    for step in range(steps):
        status = "Start" if step == 0 else ("Stop" if step == steps - 1 else "Interim-Update")
        for s in range(sessions):
            extra = {} if step == 0 else {"Acct-Session-Time": step * 10, "Acct-Input-Octets": step * 1000}
            req = acct_packet(secret, "%s-%d" % (prefix, s), status, extra)
            req.id = n % 256
            pending[req.id] = (req, req.RequestPacket())
            n += 1
    assert n <= 256, "identifiers would repeat"
    # dicts keep insertion order: step by step, every session's record of that step
    for _, raw in list(pending.values()):
        sock.sendto(raw, (host, port))
    acked = 0
    for attempt in range(5):
        acked += len(collect_verified(sock, pending, secret, time.time() + 3.0))
        if not pending:
            break
        for _, raw in pending.values():
            sock.sendto(raw, (host, port))
    return {"acknowledged": acked}


def steady(host, port, secret, prefix, window, stopfile, maxseconds):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    outstanding = {}  # identifier -> (req, raw, last send)
    free = list(range(256))[:window]
    sent = acked = 0
    started = time.time()
    stopping_at = None
    while True:
        now = time.time()
        if stopping_at is None and (os.path.exists(stopfile) or now - started > maxseconds):
            stopping_at = now
        if stopping_at is not None and (not outstanding or now - stopping_at > 10):
            break
        while stopping_at is None and free:
            ident = free.pop()
            req = acct_packet(secret, "%s-%d" % (prefix, sent), "Start", {"Acct-Delay-Time": 0})
            req.id = ident
            raw = req.RequestPacket()
            sock.sendto(raw, (host, port))
            outstanding[ident] = (req, raw, now)
            sent += 1
        for ident, (req, raw, last) in list(outstanding.items()):
            if now - last > 0.3:
                sock.sendto(raw, (host, port))
                outstanding[ident] = (req, raw, now)
        r, _, _ = select.select([sock], [], [], 0.05)
        if not r:
            continue
        data = sock.recv(4096)
        entry = outstanding.get(data[1])
        if entry and entry[0].VerifyReply(pyrad.packet.Packet(packet=data, secret=secret, dict=DICT), data):
            print(entry[0]["Acct-Session-Id"][0], flush=True)
            acked += 1
            del outstanding[data[1]]
            if stopping_at is None:
                free.append(data[1])
    return {"done": sent, "acknowledged": acked}


def main():
    mode = sys.argv[1]
    host, port, secret = sys.argv[2], int(sys.argv[3]), sys.argv[4].encode()
    if mode == "auth-ma":
        out = auth_ma(host, port, secret, sys.argv[5], sys.argv[6])
    elif mode == "auth":
        opts = sys.argv[7:]
        def opt(name):
            return opts[opts.index(name) + 1] if name in opts else None
        ps = opt("--proxy-state")
        out = auth_ma(host, port, secret, sys.argv[5], sys.argv[6], ma="--no-ma" not in opts,
                      proxy_state=bytes.fromhex(ps) if ps is not None else None, source=opt("--source"))
    elif mode == "retransmit":
        out = retransmit(host, port, secret, sys.argv[5], int(sys.argv[6]))
    elif mode == "burst":
        out = burst(host, port, secret, sys.argv[5], int(sys.argv[6]))
    elif mode == "steady":
        out = steady(host, port, secret, sys.argv[5], int(sys.argv[6]), sys.argv[7], float(sys.argv[8]))
    elif mode == "order":
        out = order(host, port, secret, sys.argv[5], int(sys.argv[6]), int(sys.argv[7]))
    else:
        raise SystemExit("unknown mode " + mode)
    print(json.dumps(out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
