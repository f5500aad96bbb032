// Building signed datagrams: replies (RFC 2865 §3, RFC 3579 §3.2 with Message-Authenticator
// first against BlastRADIUS), Access-Requests with password hiding, Status-Server (RFC 5997)
// and the self-signed Accounting/CoA/Disconnect requests (RFC 2866 §3, RFC 5176).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeAttributes, encodeAttribute } from "../../src/radius/attributes.ts";
import { Attr, PacketCode } from "../../src/radius/constants.ts";
import {
  checkMessageAuthenticator,
  unhideTunnelPassword,
  unhideUserPassword,
  verifyAccountingRequest,
  verifyResponse,
} from "../../src/radius/crypto.ts";
import { Dictionary } from "../../src/radius/dictionary.ts";
import {
  buildAccessRequest,
  buildAccountingRequest,
  buildResponse,
  buildSignedRequest,
  buildStatusServer,
} from "../../src/radius/message.ts";
import { decodePacket, findAttribute, findAttributes } from "../../src/radius/packet.ts";
import type { RadiusPacket } from "../../src/radius/packet.ts";

const secret = Buffer.from("shared");
const dict = Dictionary.builtin();

function decoded(buf: Buffer): RadiusPacket {
  const r = decodePacket(buf);
  assert.ok(r.ok, "r.ok");
  return r.packet;
}

const request = decoded(
  buildAccessRequest(
    77,
    [
      { type: Attr.UserName, value: Buffer.from("bob") },
      { type: Attr.ProxyState, value: Buffer.from("first") },
      { type: Attr.UserPassword, value: Buffer.from("pw") },
      { type: Attr.ProxyState, value: Buffer.from("second") },
    ],
    secret,
  ).datagram,
);

describe("buildResponse", () => {
  test("identifier, Message-Authenticator first, attributes, Proxy-States last in order, authenticators valid", () => {
    const reply = buildResponse(request, PacketCode.AccessAccept, encodeAttribute(dict, "Session-Timeout", 60), secret);
    const p = decoded(reply);
    assert.equal(p.code, PacketCode.AccessAccept);
    assert.equal(p.identifier, 77);
    assert.deepEqual(
      p.attributes.map((a) => a.type),
      [Attr.MessageAuthenticator, Attr.SessionTimeout, Attr.ProxyState, Attr.ProxyState],
    );
    assert.deepEqual(findAttributes(p, Attr.ProxyState).map(String), ["first", "second"]);
    assert.equal(verifyResponse(reply, request.authenticator, secret), true);
    assert.equal(checkMessageAuthenticator(reply, secret, request.authenticator), "valid");
  });

  test("messageAuthenticator: false leaves it out", () => {
    const reply = buildResponse(request, PacketCode.AccessReject, [], secret, { messageAuthenticator: false });
    assert.equal(findAttribute(decoded(reply), Attr.MessageAuthenticator), undefined);
    assert.equal(verifyResponse(reply, request.authenticator, secret), true);
  });

  test("Message-Authenticator and Proxy-State belong to the builder", () => {
    assert.throws(
      () => buildResponse(request, 2, [{ type: Attr.MessageAuthenticator, value: Buffer.alloc(16) }], secret),
      /attribute 80 is added by the builder/,
    );
    assert.throws(() => buildResponse(request, 2, [{ type: Attr.ProxyState, value: Buffer.from("x") }], secret), /attribute 33/);
  });

  test("RFC 2868 §3.5: a Tunnel-Password reply is hidden with the request's authenticator, salts distinct", () => {
    const attrs = [
      ...encodeAttribute(dict, "Tunnel-Password", "vpn-secret", { tag: 1 }),
      ...encodeAttribute(dict, "Tunnel-Password", "vpn-secret", { tag: 2 }),
    ];
    const p = decoded(buildResponse(request, PacketCode.AccessAccept, attrs, secret));
    const hidden = findAttributes(p, Attr.TunnelPassword);
    assert.equal(hidden.length, 2);
    assert.deepEqual(hidden.map((h) => h[0]), [1, 2], "tags stay in front");
    assert.notDeepEqual(hidden[0]!.subarray(1, 3), hidden[1]!.subarray(1, 3));
    for (const h of hidden) {
      assert.equal(unhideTunnelPassword(h.subarray(1), secret, request.authenticator)?.toString(), "vpn-secret");
    }
    assert.deepEqual(
      decodeAttributes(p.attributes.slice(1, 3), dict, { secret, authenticator: request.authenticator }),
      [
        { name: "Tunnel-Password", value: "vpn-secret", tag: 1 },
        { name: "Tunnel-Password", value: "vpn-secret", tag: 2 },
      ],
    );
  });

  test("hidePasswords: false sends values as given", () => {
    const value = Buffer.from([1, 0x80, 0x01, ...Buffer.alloc(16, 7)]);
    const p = decoded(buildResponse(request, 2, [{ type: Attr.TunnelPassword, value }], secret, { hidePasswords: false }));
    assert.deepEqual(findAttribute(p, Attr.TunnelPassword), value);
  });
});

describe("buildAccessRequest", () => {
  test("random authenticators, User-Password hidden with it, Message-Authenticator valid", () => {
    const a = buildAccessRequest(1, [{ type: Attr.UserPassword, value: Buffer.from("hunter2") }], secret);
    const b = buildAccessRequest(1, [{ type: Attr.UserPassword, value: Buffer.from("hunter2") }], secret);
    assert.equal(a.authenticator.length, 16);
    assert.notDeepEqual(a.authenticator, b.authenticator);
    const p = decoded(a.datagram);
    assert.deepEqual(p.authenticator, a.authenticator);
    assert.equal(p.attributes[0]!.type, Attr.MessageAuthenticator);
    const hidden = findAttribute(p, Attr.UserPassword)!;
    assert.notDeepEqual(hidden.subarray(0, 7), Buffer.from("hunter2"));
    assert.equal(unhideUserPassword(hidden, secret, a.authenticator)?.toString(), "hunter2");
    assert.equal(checkMessageAuthenticator(a.datagram, secret), "valid");
  });

  test("a given authenticator is used; hidePasswords: false passes values through", () => {
    const authenticator = Buffer.alloc(16, 3);
    const r = buildAccessRequest(2, [{ type: Attr.UserPassword, value: Buffer.alloc(16, 9) }], secret, {
      authenticator,
      hidePasswords: false,
      messageAuthenticator: false,
    });
    assert.deepEqual(r.authenticator, authenticator);
    const p = decoded(r.datagram);
    assert.deepEqual(findAttribute(p, Attr.UserPassword), Buffer.alloc(16, 9));
    assert.equal(checkMessageAuthenticator(r.datagram, secret), "absent");
  });

  test("refusals", () => {
    assert.throws(() => buildAccessRequest(1, [], secret, { authenticator: Buffer.alloc(8) }), /16 octets/);
    assert.throws(() => buildAccessRequest(1, [{ type: Attr.MessageAuthenticator, value: Buffer.alloc(16) }], secret), /builder/);
    assert.throws(() => buildAccessRequest(1, [{ type: Attr.UserPassword, value: Buffer.alloc(129) }], secret), /128/);
  });
});

test("buildStatusServer always carries a valid Message-Authenticator (RFC 5997 §3)", () => {
  const { datagram } = buildStatusServer(9, [], secret);
  const p = decoded(datagram);
  assert.equal(p.code, PacketCode.StatusServer);
  assert.equal(checkMessageAuthenticator(datagram, secret), "valid");
});

describe("buildSignedRequest", () => {
  test("Accounting, CoA and Disconnect requests verify, with and without Message-Authenticator", () => {
    const attrs = encodeAttribute(dict, "User-Name", "alice");
    for (const code of [PacketCode.AccountingRequest, PacketCode.CoARequest, PacketCode.DisconnectRequest]) {
      for (const messageAuthenticator of [true, false]) {
        const raw = buildSignedRequest(code, 5, attrs, secret, { messageAuthenticator });
        assert.equal(decoded(raw).code, code);
        assert.equal(verifyAccountingRequest(raw, secret), true);
        assert.equal(checkMessageAuthenticator(raw, secret), messageAuthenticator ? "valid" : "absent");
      }
    }
  });

  test("buildAccountingRequest is buildSignedRequest for code 4", () => {
    const attrs = encodeAttribute(dict, "Acct-Status-Type", "Start");
    assert.deepEqual(buildAccountingRequest(3, attrs, secret), buildSignedRequest(4, 3, attrs, secret));
  });

  test("other codes are refused", () => {
    assert.throws(() => buildSignedRequest(PacketCode.AccessRequest, 1, [], secret), /not an Accounting, CoA or Disconnect/);
  });
});
