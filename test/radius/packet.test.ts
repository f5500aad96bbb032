// The packet frame (RFC 2865 §3, §5): decode failures with their offsets, padding, limits,
// encodePacket's refusals, attribute lookup and the raw value readers. The RFC 2865 §7
// examples themselves run in vectors.test.ts from vectors/rfc2865.json.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PacketCode, packetCodeName } from "../../src/radius/constants.ts";
import { verifyAccountingRequest } from "../../src/radius/crypto.ts";
import { buildAccountingRequest } from "../../src/radius/message.ts";
import {
  decodePacket,
  encodePacket,
  findAttribute,
  findAttributes,
  packetDecodeFailureText,
  readInteger,
  readInteger64,
  readIpv4,
  readIpv6,
  readIpv6Prefix,
  readText,
} from "../../src/radius/packet.ts";
import type { PacketDecodeFailure, RadiusPacket } from "../../src/radius/packet.ts";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

/** RFC 2865 §7.1 Access-Request. */
const RFC_7_1_REQUEST = hex(
  "01000038 0f403f9473978057bd83d5cb98f4227a 01066e656d6f 02120dbe708d93d413ce3196e43f782a0aee 0406c0a80110 050600000003",
);

/** A header with `length` in the Length field, followed by `body`. */
function datagram(code: number, length: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(20);
  head[0] = code;
  head[1] = 7;
  head.writeUInt16BE(length, 2);
  return Buffer.concat([head, body]);
}

function failure(buf: Buffer): { reason: PacketDecodeFailure; offset: number } {
  const r = decodePacket(buf);
  assert.equal(r.ok, false, "expected a decode failure");
  return r.ok ? { reason: "too-short", offset: -1 } : { reason: r.reason, offset: r.offset };
}

describe("RFC 2865 §3 decode failures, each with the offset of the field at fault", () => {
  test("too-short: fewer than 20 octets; offset is where the data ended", () => {
    assert.deepEqual(failure(Buffer.alloc(0)), { reason: "too-short", offset: 0 });
    assert.deepEqual(failure(RFC_7_1_REQUEST.subarray(0, 19)), { reason: "too-short", offset: 19 });
  });

  test("length-too-short: Length below 20", () => {
    assert.deepEqual(failure(datagram(1, 19)), { reason: "length-too-short", offset: 2 });
    assert.deepEqual(failure(datagram(1, 0)), { reason: "length-too-short", offset: 2 });
  });

  test("length-too-long: Length above 4096, even when the datagram is that long", () => {
    assert.deepEqual(failure(datagram(1, 4097, Buffer.alloc(4077))), { reason: "length-too-long", offset: 2 });
    assert.deepEqual(failure(datagram(1, 0xffff)), { reason: "length-too-long", offset: 2 });
  });

  test("length-exceeds-datagram: Length says more than arrived", () => {
    assert.deepEqual(failure(RFC_7_1_REQUEST.subarray(0, 55)), { reason: "length-exceeds-datagram", offset: 2 });
    assert.deepEqual(failure(datagram(4, 21)), { reason: "length-exceeds-datagram", offset: 2 });
  });

  test("unknown-code: offset 0", () => {
    assert.deepEqual(failure(datagram(0, 20)), { reason: "unknown-code", offset: 0 });
    assert.deepEqual(failure(datagram(99, 20)), { reason: "unknown-code", offset: 0 });
    assert.deepEqual(failure(datagram(255, 20)), { reason: "unknown-code", offset: 0 });
  });

  test("attribute-truncated: a lone octet, or a Length past the packet end", () => {
    assert.deepEqual(failure(datagram(1, 21, hex("01"))), { reason: "attribute-truncated", offset: 20 });
    // Second attribute claims 10 octets with 4 left.
    assert.deepEqual(failure(datagram(1, 30, hex("0106616c6963 010a6263"))), { reason: "attribute-truncated", offset: 26 });
  });

  test("attribute-length-invalid: Length octet 0 or 1", () => {
    assert.deepEqual(failure(datagram(1, 22, hex("0100"))), { reason: "attribute-length-invalid", offset: 20 });
    assert.deepEqual(failure(datagram(1, 28, hex("050600000001 1f01"))), { reason: "attribute-length-invalid", offset: 26 });
  });

  test("an attribute is judged against Length, not the datagram: padding cannot complete it", () => {
    // Length 24 ends the packet inside an attribute that the padding would have completed.
    const buf = datagram(1, 24, hex("010661626364"));
    assert.deepEqual(failure(buf), { reason: "attribute-truncated", offset: 20 });
  });

  test("every reason has a log text", () => {
    const reasons: PacketDecodeFailure[] = [
      "too-short", "length-too-short", "length-too-long", "length-exceeds-datagram",
      "attribute-truncated", "attribute-length-invalid", "unknown-code",
    ];
    assert.deepEqual(Object.keys(packetDecodeFailureText).sort(), [...reasons].sort());
    for (const r of reasons) assert.match(packetDecodeFailureText[r], /\w{4,}/);
  });
});

describe("RFC 2865 §3 lengths and padding", () => {
  test("octets past Length are padding and ignored", () => {
    const padded = Buffer.concat([RFC_7_1_REQUEST, Buffer.from("trailing junk \x00\x01\x02")]);
    const a = decodePacket(RFC_7_1_REQUEST);
    const b = decodePacket(padded);
    assert.ok(a.ok && b.ok, "a.ok && b.ok");
    assert.deepEqual(b.packet, a.packet);
    assert.equal(b.packet.attributes.length, 4);
  });

  test("verifiers only read up to Length, so a padded datagram still verifies", () => {
    const secret = Buffer.from("s");
    const acct = buildAccountingRequest(1, [{ type: 44, value: Buffer.from("abc") }], secret);
    assert.equal(verifyAccountingRequest(Buffer.concat([acct, Buffer.alloc(30, 0xee)]), secret), true);
  });

  test("a header-only packet decodes with no attributes", () => {
    const r = decodePacket(datagram(PacketCode.AccessReject, 20));
    assert.ok(r.ok, "r.ok");
    assert.deepEqual(r.packet.attributes, []);
    assert.equal(r.packet.identifier, 7);
  });

  test("a 4096-octet packet is accepted and round-trips", () => {
    const attributes = [];
    let length = 20;
    while (length + 255 <= 4096) {
      attributes.push({ type: 26, value: Buffer.alloc(253, attributes.length) });
      length += 255;
    }
    attributes.push({ type: 25, value: Buffer.alloc(4096 - length - 2, 0xab) });
    const p: RadiusPacket = { code: 4, identifier: 200, authenticator: Buffer.alloc(16, 1), attributes };
    const buf = encodePacket(p);
    assert.equal(buf.length, 4096);
    const r = decodePacket(buf);
    assert.ok(r.ok, "r.ok");
    assert.deepEqual(r.packet, p);
  });

  test("zero-length attribute values survive a round trip", () => {
    const p: RadiusPacket = { code: 2, identifier: 1, authenticator: Buffer.alloc(16), attributes: [{ type: 18, value: Buffer.alloc(0) }] };
    const r = decodePacket(encodePacket(p));
    assert.ok(r.ok, "r.ok");
    assert.deepEqual(r.packet, p);
  });

  test("decoded buffers are copies: reusing the datagram changes nothing", () => {
    const buf = Buffer.from(RFC_7_1_REQUEST);
    const r = decodePacket(buf);
    assert.ok(r.ok, "r.ok");
    buf.fill(0);
    assert.equal(r.packet.authenticator.toString("hex"), "0f403f9473978057bd83d5cb98f4227a");
    assert.equal(r.packet.attributes[0]!.value.toString(), "nemo");
  });
});

describe("encodePacket refuses what cannot be sent", () => {
  const base: RadiusPacket = { code: 1, identifier: 0, authenticator: Buffer.alloc(16), attributes: [] };

  test("a value over 253 octets", () => {
    assert.throws(() => encodePacket({ ...base, attributes: [{ type: 1, value: Buffer.alloc(254) }] }), /254 octets/);
    assert.doesNotThrow(() => encodePacket({ ...base, attributes: [{ type: 1, value: Buffer.alloc(253) }] }));
  });

  test("a packet over 4096 octets", () => {
    const attributes = Array.from({ length: 17 }, () => ({ type: 26, value: Buffer.alloc(253) }));
    assert.throws(() => encodePacket({ ...base, attributes }), /4096/);
  });

  test("fields out of range", () => {
    assert.throws(() => encodePacket({ ...base, code: 256 }), /code/);
    assert.throws(() => encodePacket({ ...base, identifier: -1 }), /identifier/);
    assert.throws(() => encodePacket({ ...base, authenticator: Buffer.alloc(15) }), /16 octets/);
    assert.throws(() => encodePacket({ ...base, attributes: [{ type: 300, value: Buffer.alloc(1) }] }), /type 300/);
  });
});

describe("attribute lookup", () => {
  const p: RadiusPacket = {
    code: 1,
    identifier: 0,
    authenticator: Buffer.alloc(16),
    attributes: [
      { type: 33, value: Buffer.from("one") },
      { type: 1, value: Buffer.from("user") },
      { type: 33, value: Buffer.from("two") },
    ],
  };

  test("findAttribute gives the first, findAttributes all in order", () => {
    assert.equal(findAttribute(p, 33)?.toString(), "one");
    assert.deepEqual(findAttributes(p, 33).map(String), ["one", "two"]);
    assert.equal(findAttribute(p, 2), undefined);
    assert.deepEqual(findAttributes(p, 2), []);
  });
});

describe("raw value readers never throw", () => {
  test("readInteger / readInteger64", () => {
    assert.equal(readInteger(hex("000005dc")), 1500);
    assert.equal(readInteger(hex("ffffffff")), 4294967295);
    assert.equal(readInteger(hex("0005dc")), undefined);
    assert.equal(readInteger(hex("000005dc00")), undefined);
    assert.equal(readInteger64(hex("0000000100000000")), 4294967296n);
    assert.equal(readInteger64(hex("00")), undefined);
  });

  test("readText is strict UTF-8", () => {
    assert.equal(readText(Buffer.from("héllo ✓", "utf8")), "héllo ✓");
    assert.equal(readText(Buffer.alloc(0)), "");
    assert.equal(readText(hex("ff fe")), undefined);
    assert.equal(readText(hex("c3")), undefined);
    // A byte-order mark is content here, not something to strip.
    assert.equal(readText(hex("efbbbf41")), "\ufeffA");
  });

  test("readIpv4", () => {
    assert.equal(readIpv4(hex("c0a80110")), "192.168.1.16");
    assert.equal(readIpv4(hex("c0a801")), undefined);
  });

  test("readIpv6 gives RFC 5952 text", () => {
    const cases: [string, string][] = [
      ["20010db8000000000000000000000001", "2001:db8::1"],
      ["20010db8000000010001000100010001", "2001:db8:0:1:1:1:1:1"], // a single zero group stays
      ["20010db8000000000001000000000001", "2001:db8::1:0:0:1"], // the first of equal runs
      ["20010db8000000000000000100000000", "2001:db8::1:0:0"],
      ["00000000000000000000000000000000", "::"],
      ["00000000000000000000000000000001", "::1"],
      ["00000000000000000000ffffc0000201", "::ffff:192.0.2.1"],
      ["fe800000000000000000000000000000", "fe80::"],
      ["00010002000300040005000600070008", "1:2:3:4:5:6:7:8"],
    ];
    for (const [h, text] of cases) assert.equal(readIpv6(hex(h)), text, h);
    assert.equal(readIpv6(hex("20010db8")), undefined);
  });

  test("readIpv6Prefix pads short prefixes and refuses impossible ones", () => {
    assert.equal(readIpv6Prefix(hex("0040 20010db800000000")), "2001:db8::/64");
    assert.equal(readIpv6Prefix(hex("0030 20010db8")), "2001:db8::/48");
    assert.equal(readIpv6Prefix(hex("0000")), "::/0");
    assert.equal(readIpv6Prefix(hex("0081 20010db8")), undefined);
    assert.equal(readIpv6Prefix(hex("00")), undefined);
    assert.equal(readIpv6Prefix(Buffer.alloc(19)), undefined);
  });
});

test("packetCodeName", () => {
  assert.equal(packetCodeName(PacketCode.AccessRequest), "Access-Request");
  assert.equal(packetCodeName(PacketCode.CoANAK), "CoA-NAK");
  assert.equal(packetCodeName(PacketCode.DisconnectACK), "Disconnect-ACK");
  assert.equal(packetCodeName(99), "Code-99");
});
