#!/usr/bin/python3
"""pyrad (python3-pyrad) as a NAS for Tally's rate-limit and overload tests.

  burst HOST PORT SECRET PREFIX N SOURCE WAIT [RELEASEFILE]
      N Accounting-Request Starts (sessions PREFIX-0 .. PREFIX-N-1, identifiers 0 .. N-1, N <= 256)
      sent back to back from SOURCE (any 127/8 address), once each; the verified answers are
      collected for WAIT seconds (less once all are in) -> "first".
      With RELEASEFILE: then creates that file (the test's slow plugin waits for it), collects
      answers for WAIT s more -> "afterRelease", then resends each request still unanswered (the
      identical datagram, as a NAS retransmits), one at a time, waiting up to WAIT s for its
      answer -> "retransmitted".
      Prints JSON {first, afterRelease, retransmitted}: lists of session ids.
"""
import json, socket, sys, time
import pyrad.packet
# client.py beside this file (a script's own directory is on sys.path): its dictionary and its
# reading of verified answers.
from client import DICT, collect_verified


def burst(host, port, secret, prefix, n, source, wait, releasefile=None):
    assert n <= 256, "identifiers would repeat"
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((source, 0))
    pending = {}
    for i in range(n):
        req = pyrad.packet.AcctPacket(code=pyrad.packet.AccountingRequest, secret=secret, dict=DICT)
        req["User-Name"] = "alice"
        req["NAS-Identifier"] = "pyrad"
        req["Acct-Session-Id"] = "%s-%d" % (prefix, i)
        req["Acct-Status-Type"] = "Start"
        req.id = i
        pending[i] = (req, req.RequestPacket())

    def collect(expected=None):
        answered = collect_verified(sock, pending, secret, time.time() + wait, expected)
        return [r["Acct-Session-Id"][0] for r in answered]

    for _, raw in list(pending.values()):
        sock.sendto(raw, (host, port))
    out = {"first": collect(), "afterRelease": [], "retransmitted": []}
    if releasefile is not None:
        open(releasefile, "w").close()
        out["afterRelease"] = collect()
        # One at a time, each waited for (a NAS's retransmission timers are per request).
        for _, raw in list(pending.values()):
            sock.sendto(raw, (host, port))
            out["retransmitted"] += collect(1)
    return out


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "burst":
        host, port, secret, prefix, n, source, wait = args[:7]
        print(json.dumps(burst(host, int(port), secret.encode(), prefix, int(n), source, float(wait), args[7] if len(args) > 7 else None)))
    else:
        sys.exit("unknown command " + cmd)
