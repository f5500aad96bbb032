#!/usr/bin/python3
"""A NAS's dynamic-authorization server (RFC 5176) built on pyrad (python3-pyrad), for Tally's
Disconnect/CoA tests. Listens on 127.0.0.1 (an ephemeral port, printed first), answers ACK for
the Acct-Session-Ids in ACK_IDS, NAK (Error-Cause 503 Session-Context-Not-Found) for NAK_IDS,
and nothing for any other. Prints one JSON line per request it receives. Runs until killed.

  das.py SECRET ACK_IDS NAK_IDS        (comma-separated lists; "-" for none)
"""
import hashlib, hmac, json, os, socket, sys
import pyrad.packet
from pyrad.dictionary import Dictionary

DICT = Dictionary(os.path.join(os.path.dirname(os.path.abspath(__file__)), "dictionary"))


def ma_valid(raw, secret):
    # RFC 5176 section 3.3: HMAC-MD5 over the packet with the authenticator and the
    # Message-Authenticator value zeroed.
    i = 20
    while i + 2 <= len(raw):
        t, l = raw[i], raw[i + 1]
        if l < 2:
            return False
        if t == 80:
            zeroed = raw[:4] + b"\x00" * 16 + raw[20:i + 2] + b"\x00" * 16 + raw[i + 18:]
            return hmac.compare_digest(hmac.new(secret, zeroed, hashlib.md5).digest(), raw[i + 2:i + 18])
        i += l
    return None


def first(pkt, name):
    try:
        v = pkt[name]
        return v[0] if v else None
    except KeyError:
        return None


def main():
    secret = sys.argv[1].encode()
    ack = set(sys.argv[2].split(",")) - {"-"}
    nak = set(sys.argv[3].split(",")) - {"-"}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    print(json.dumps({"port": sock.getsockname()[1]}), flush=True)
    while True:
        data, addr = sock.recvfrom(4096)
        pkt = pyrad.packet.CoAPacket(packet=data, secret=secret, dict=DICT)
        session = first(pkt, "Acct-Session-Id")
        answered = "ack" if session in ack else "nak" if session in nak else "silent"
        print(json.dumps({
            "code": pkt.code,
            "identifier": pkt.id,
            "sessionId": session,
            "user": first(pkt, "User-Name"),
            "nasIp": first(pkt, "NAS-IP-Address"),
            "framedIp": first(pkt, "Framed-IP-Address"),
            "eventTimestamp": first(pkt, "Event-Timestamp"),
            "interimInterval": first(pkt, "Acct-Interim-Interval"),
            "authenticatorValid": pkt.VerifyCoARequest(),
            "messageAuthenticatorValid": ma_valid(data, secret),
            "answered": answered,
        }), flush=True)
        if answered == "silent":
            continue
        ok = answered == "ack"
        if pkt.code == pyrad.packet.DisconnectRequest:
            code = pyrad.packet.DisconnectACK if ok else pyrad.packet.DisconnectNAK
        else:
            code = pyrad.packet.CoAACK if ok else pyrad.packet.CoANAK
        # pyrad 2.1's CoAPacket.CreateReply passes `code` twice; a plain Packet with the
        # request's identifier and authenticator makes the same reply.
        reply = pyrad.packet.Packet(code=code, id=pkt.id, secret=secret, authenticator=pkt.authenticator, dict=DICT)
        if not ok:
            reply["Error-Cause"] = 503
        sock.sendto(reply.ReplyPacket(), addr)


if __name__ == "__main__":
    main()
