// Shared-secret cryptography: Request/Response Authenticators (RFC 2865 §3, RFC 2866 §3),
// Message-Authenticator (RFC 3579 §3.2, RFC 5176 §3.3, RFC 5997), User-Password and
// Tunnel-Password hiding (RFC 2865 §5.2, RFC 2868 §3.5) and CHAP (RFC 2865 §5.3), with known
// answers from the RFC and from FreeRADIUS's radclient (vectors/radclient.json).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { Attr, PacketCode } from "../../src/radius/constants.ts";
import {
  accountingRequestAuthenticator,
  chapPasswordMatches,
  chapResponse,
  checkMessageAuthenticator,
  hideTunnelPassword,
  hideUserPassword,
  responseAuthenticator,
  unhideTunnelPassword,
  unhideUserPassword,
  verifyAccountingRequest,
  verifyResponse,
} from "../../src/radius/crypto.ts";
import {
  buildAccessRequest,
  buildAccountingRequest,
  buildResponse,
  buildSignedRequest,
  buildStatusServer,
} from "../../src/radius/message.ts";
import { decodePacket, encodePacket, findAttribute } from "../../src/radius/packet.ts";
import type { RadiusPacket } from "../../src/radius/packet.ts";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const secret = Buffer.from("s3cr3t");

interface RadclientVector {
  name: string;
  command: string;
  secret: string;
  hex: string;
}
const radclient = (
  JSON.parse(readFileSync(new URL("./vectors/radclient.json", import.meta.url), "utf8")) as { vectors: RadclientVector[] }
).vectors;
function radclientVector(prefix: string): { raw: Buffer; secret: Buffer; packet: RadiusPacket } {
  const v = radclient.find((x) => x.name.startsWith(prefix));
  assert.ok(v, prefix);
  const raw = hex(v.hex);
  const r = decodePacket(raw);
  assert.ok(r.ok, "r.ok");
  return { raw, secret: Buffer.from(v.secret), packet: r.packet };
}

function decoded(buf: Buffer): RadiusPacket {
  const r = decodePacket(buf);
  assert.ok(r.ok, "r.ok");
  return r.packet;
}

/** Flips one bit of the octet at `offset`. */
function flip(buf: Buffer, offset: number): Buffer {
  const copy = Buffer.from(buf);
  copy[offset] = copy[offset]! ^ 0x01;
  return copy;
}

describe("RFC 2866 §3 Accounting Request Authenticator", () => {
  test("known answer: radclient's Accounting-Request", () => {
    const { raw, secret: s } = radclientVector("radclient Accounting-Request Start");
    assert.deepEqual(accountingRequestAuthenticator(raw, s), raw.subarray(4, 20));
    // Whatever sits in the authenticator field does not enter the computation.
    const scrambled = Buffer.from(raw);
    scrambled.fill(0x5a, 4, 20);
    assert.deepEqual(accountingRequestAuthenticator(scrambled, s), raw.subarray(4, 20));
  });

  test("round trip through buildAccountingRequest, and every tampering is caught", () => {
    const raw = buildAccountingRequest(
      9,
      [
        { type: Attr.AcctStatusType, value: hex("00000001") },
        { type: Attr.AcctSessionId, value: Buffer.from("abc") },
      ],
      secret,
      { messageAuthenticator: false },
    );
    assert.equal(verifyAccountingRequest(raw, secret), true);
    assert.equal(verifyAccountingRequest(raw, Buffer.from("other")), false);
    for (let i = 0; i < raw.length; i++) {
      if (i === 2 || i === 3) continue; // Length: a changed Length is a different, malformed frame
      assert.equal(verifyAccountingRequest(flip(raw, i), secret), false, `octet ${i}`);
    }
  });

  test("malformed input is false, not an exception", () => {
    assert.equal(verifyAccountingRequest(Buffer.alloc(5), secret), false);
    const raw = buildAccountingRequest(1, [], secret);
    assert.equal(verifyAccountingRequest(raw.subarray(0, raw.length - 1), secret), false);
    assert.throws(() => accountingRequestAuthenticator(Buffer.alloc(5), secret), /well-formed/);
  });

  test("RFC 5176: CoA-Request and Disconnect-Request use the same computation (radclient)", () => {
    for (const prefix of ["radclient CoA-Request", "radclient Disconnect-Request"]) {
      const { raw, secret: s } = radclientVector(prefix);
      assert.equal(verifyAccountingRequest(raw, s), true, prefix);
    }
  });
});

describe("RFC 2865 §3 Response Authenticator", () => {
  const request = decoded(buildAccessRequest(3, [{ type: Attr.UserName, value: Buffer.from("u") }], secret).datagram);

  test("responseAuthenticator is MD5(Code+ID+Length+RequestAuth+Attributes+Secret)", () => {
    const reply = buildResponse(request, PacketCode.AccessAccept, [{ type: Attr.SessionTimeout, value: hex("00000e10") }], secret);
    assert.deepEqual(responseAuthenticator(reply, request.authenticator, secret), reply.subarray(4, 20));
    assert.equal(verifyResponse(reply, request.authenticator, secret), true);
    assert.equal(verifyResponse(reply, Buffer.alloc(16), secret), false);
    assert.equal(verifyResponse(reply, request.authenticator, Buffer.from("x")), false);
    assert.equal(verifyResponse(flip(reply, reply.length - 1), request.authenticator, secret), false);
    assert.equal(verifyResponse(reply.subarray(0, 10), request.authenticator, secret), false);
    assert.equal(verifyResponse(reply, Buffer.alloc(3), secret), false);
  });
});

describe("RFC 3579 §3.2 Message-Authenticator", () => {
  test("Access-Request: valid, tampered, wrong secret, absent", () => {
    const { datagram } = buildAccessRequest(1, [{ type: Attr.UserName, value: Buffer.from("bob") }], secret);
    assert.equal(checkMessageAuthenticator(datagram, secret), "valid");
    assert.equal(checkMessageAuthenticator(flip(datagram, datagram.length - 1), secret), "invalid");
    assert.equal(checkMessageAuthenticator(flip(datagram, 4), secret), "invalid", "the authenticator is covered");
    assert.equal(checkMessageAuthenticator(datagram, Buffer.from("nope")), "invalid");
    const without = buildAccessRequest(1, [], secret, { messageAuthenticator: false }).datagram;
    assert.equal(checkMessageAuthenticator(without, secret), "absent");
  });

  test("Access-Request from radclient is valid", () => {
    const { raw, secret: s } = radclientVector("radclient Access-Request PAP");
    assert.equal(checkMessageAuthenticator(raw, s), "valid");
  });

  test("two Message-Authenticators, or one of the wrong length, are invalid", () => {
    const { datagram } = buildAccessRequest(1, [], secret);
    const p = decoded(datagram);
    const twice = encodePacket({ ...p, attributes: [...p.attributes, p.attributes[0]!] });
    assert.equal(checkMessageAuthenticator(twice, secret), "invalid");
    const short = encodePacket({ ...p, attributes: [{ type: Attr.MessageAuthenticator, value: Buffer.alloc(15) }] });
    assert.equal(checkMessageAuthenticator(short, secret), "invalid");
  });

  test("a malformed packet is invalid, not an exception", () => {
    assert.equal(checkMessageAuthenticator(Buffer.alloc(3), secret), "invalid");
    const broken = Buffer.concat([Buffer.from([1, 0, 0, 23]), Buffer.alloc(16), Buffer.from([80, 18, 0])]);
    assert.equal(checkMessageAuthenticator(broken, secret), "invalid");
  });

  test("responses are keyed with the request's authenticator", () => {
    const request = decoded(buildAccessRequest(5, [], secret).datagram);
    for (const code of [PacketCode.AccessAccept, PacketCode.AccessReject, PacketCode.AccessChallenge]) {
      const reply = buildResponse(request, code, [], secret);
      assert.equal(checkMessageAuthenticator(reply, secret, request.authenticator), "valid");
      assert.equal(checkMessageAuthenticator(reply, secret, Buffer.alloc(16, 9)), "invalid");
      assert.throws(() => checkMessageAuthenticator(reply, secret), /pass requestAuthenticator/);
    }
  });

  test("RFC 5176 §3.3: CoA/Disconnect requests are keyed with zeros, their ACK/NAK with the request's", () => {
    const { raw, secret: s, packet } = radclientVector("radclient CoA-Request with Message-Authenticator");
    assert.equal(checkMessageAuthenticator(raw, s), "valid");
    const built = buildSignedRequest(PacketCode.DisconnectRequest, 2, [{ type: Attr.UserName, value: Buffer.from("a") }], secret);
    assert.equal(checkMessageAuthenticator(built, secret), "valid");
    assert.equal(verifyAccountingRequest(built, secret), true, "MA first, then the Request Authenticator over it");
    for (const code of [PacketCode.CoAACK, PacketCode.CoANAK]) {
      const reply = buildResponse(packet, code, [], s);
      assert.equal(checkMessageAuthenticator(reply, s, packet.authenticator), "valid");
    }
  });

  test("Accounting-Response: zeros for an Accounting-Request, the request's for a Status-Server (RFC 5997)", () => {
    const { packet: acct, secret: s } = radclientVector("radclient Accounting-Request Interim-Update");
    const reply = buildResponse(acct, PacketCode.AccountingResponse, [], s);
    assert.equal(checkMessageAuthenticator(reply, s), "valid");
    assert.equal(checkMessageAuthenticator(reply, s, acct.authenticator, PacketCode.StatusServer), "invalid");

    const status = decoded(buildStatusServer(4, [], secret).datagram);
    const statusReply = buildResponse(status, PacketCode.AccountingResponse, [], secret);
    assert.equal(checkMessageAuthenticator(statusReply, secret, status.authenticator, PacketCode.StatusServer), "valid");
    assert.equal(checkMessageAuthenticator(statusReply, secret), "invalid");
  });

  test("Status-Server from radclient is valid (RFC 5997 §3)", () => {
    const { raw, secret: s } = radclientVector("radclient Status-Server");
    assert.equal(checkMessageAuthenticator(raw, s), "valid");
  });
});

describe("RFC 2865 §5.2 User-Password", () => {
  const auth = hex("0f403f9473978057bd83d5cb98f4227a");

  test("known answer: RFC 2865 §7.1 hides \"arctangent\" with xyzzy5461", () => {
    const hidden = hideUserPassword(Buffer.from("arctangent"), Buffer.from("xyzzy5461"), auth);
    assert.deepEqual(hidden, hex("0dbe708d93d413ce3196e43f782a0aee"));
    assert.equal(unhideUserPassword(hidden, Buffer.from("xyzzy5461"), auth)?.toString(), "arctangent");
  });

  test("round trip at block edges: 0, 1, 15, 16, 17, 31, 32, 127, 128 octets", () => {
    for (const n of [0, 1, 15, 16, 17, 31, 32, 127, 128]) {
      const password = Buffer.alloc(n, "p");
      const hidden = hideUserPassword(password, secret, auth);
      assert.equal(hidden.length, Math.max(16, Math.ceil(n / 16) * 16), `length for ${n}`);
      assert.deepEqual(unhideUserPassword(hidden, secret, auth), password, `round trip ${n}`);
    }
  });

  test("the blocks are chained: equal plaintext blocks hide differently", () => {
    const hidden = hideUserPassword(Buffer.alloc(32, "a"), secret, auth);
    assert.notDeepEqual(hidden.subarray(0, 16), hidden.subarray(16, 32));
  });

  test("refusals: hiding more than 128 octets throws; impossible hidden lengths unhide to null", () => {
    assert.throws(() => hideUserPassword(Buffer.alloc(129), secret, auth), /128/);
    for (const n of [0, 15, 17, 144]) assert.equal(unhideUserPassword(Buffer.alloc(n), secret, auth), null, `${n}`);
  });

  test("the wrong secret gives other octets (RFC 2865 has no integrity check here)", () => {
    const hidden = hideUserPassword(Buffer.from("secret-pass"), secret, auth);
    assert.notEqual(unhideUserPassword(hidden, Buffer.from("wrong"), auth)?.toString(), "secret-pass");
  });
});

describe("RFC 2868 §3.5 Tunnel-Password", () => {
  const auth = Buffer.alloc(16, 0x42);

  test("round trip for several lengths, salt high bit set", () => {
    for (const n of [0, 1, 14, 15, 16, 31, 100, 239]) {
      const password = Buffer.alloc(n, "t");
      const hidden = hideTunnelPassword(password, secret, auth);
      assert.equal(hidden[0]! & 0x80, 0x80, "salt MSB");
      assert.equal((hidden.length - 2) % 16, 0);
      assert.deepEqual(unhideTunnelPassword(hidden, secret, auth), password, `length ${n}`);
    }
  });

  test("a given salt is deterministic; another salt changes the key stream", () => {
    const a = hideTunnelPassword(Buffer.from("pw"), secret, auth, hex("8001"));
    assert.deepEqual(hideTunnelPassword(Buffer.from("pw"), secret, auth, hex("8001")), a);
    const b = hideTunnelPassword(Buffer.from("pw"), secret, auth, hex("8002"));
    assert.notDeepEqual(a.subarray(2), b.subarray(2));
    const salts = new Set(Array.from({ length: 20 }, () => hideTunnelPassword(Buffer.from("pw"), secret, auth).subarray(0, 2).toString("hex")));
    assert.ok(salts.size > 1, "salts are drawn at random");
  });

  test("the salt and the authenticator both key the hiding", () => {
    const hidden = hideTunnelPassword(Buffer.from("pw"), secret, auth, hex("8123"));
    assert.notDeepEqual(unhideTunnelPassword(hidden, secret, Buffer.alloc(16, 1)), Buffer.from("pw"));
    const otherSalt = Buffer.from(hidden);
    otherSalt[1] = otherSalt[1]! ^ 1;
    assert.notDeepEqual(unhideTunnelPassword(otherSalt, secret, auth), Buffer.from("pw"));
  });

  test("refusals", () => {
    assert.throws(() => hideTunnelPassword(Buffer.alloc(240), secret, auth), /239/);
    assert.throws(() => hideTunnelPassword(Buffer.from("x"), secret, auth, hex("0001")), /high bit/);
    assert.equal(unhideTunnelPassword(Buffer.alloc(17), secret, auth), null);
    assert.equal(unhideTunnelPassword(Buffer.alloc(19), secret, auth), null);
    // A length octet pointing past the data: hide 15 octets, then claim 16 (key stream XOR).
    const hidden = hideTunnelPassword(Buffer.alloc(15, 1), secret, auth, hex("8000"));
    hidden[2] = hidden[2]! ^ 15 ^ 16;
    assert.equal(unhideTunnelPassword(hidden, secret, auth), null);
  });
});

describe("RFC 2865 §5.3 CHAP", () => {
  test("RFC 2865 §7.2: the CHAP-Password is the CHAP ident (22) and a 16-octet MD5", () => {
    const request = decoded(
      hex("01010047 2aee86f08d0d55969ca5978e0d3367a2 0108666c6f707379 031316e97557c316185895f293ff6344077275 0406c0a80110 050600000014 060600000002 070600000001"),
    );
    const chap = findAttribute(request, Attr.ChapPassword)!;
    assert.equal(chap.length, 17);
    assert.equal(chap[0], 22);
  });

  test("known answer: radclient computed CHAP-Password for \"rabbit-hole\" with the Request Authenticator", () => {
    const { packet } = radclientVector("radclient Access-Request CHAP");
    const chap = findAttribute(packet, Attr.ChapPassword)!;
    const challenge = findAttribute(packet, Attr.ChapChallenge) ?? packet.authenticator;
    assert.equal(chapPasswordMatches(chap, challenge, Buffer.from("rabbit-hole")), true);
    assert.deepEqual(chapResponse(chap[0]!, Buffer.from("rabbit-hole"), challenge), chap);
    assert.equal(chapPasswordMatches(chap, challenge, Buffer.from("rabbit-holes")), false);
    assert.equal(chapPasswordMatches(chap, Buffer.alloc(16), Buffer.from("rabbit-hole")), false);
  });

  test("chapResponse round trip, and malformed CHAP-Passwords never match", () => {
    const challenge = Buffer.from("0123456789abcdef0123");
    const response = chapResponse(200, Buffer.from("pw"), challenge);
    assert.equal(response.length, 17);
    assert.equal(response[0], 200);
    assert.equal(chapPasswordMatches(response, challenge, Buffer.from("pw")), true);
    const otherId = Buffer.from(response);
    otherId[0] = 201;
    assert.equal(chapPasswordMatches(otherId, challenge, Buffer.from("pw")), false, "the ident is hashed");
    assert.equal(chapPasswordMatches(response.subarray(0, 16), challenge, Buffer.from("pw")), false);
    assert.equal(chapPasswordMatches(Buffer.concat([response, Buffer.alloc(1)]), challenge, Buffer.from("pw")), false);
    assert.throws(() => chapResponse(256, Buffer.from("pw"), challenge), /octet/);
  });
});
