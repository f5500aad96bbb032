// Attribute values through the dictionary: every data type both ways (RFC 8044 formats),
// Vendor-Specific (RFC 2865 §5.26), tags (RFC 2868 §3.1), TLVs, RFC 6929 extended and
// long-extended attributes with fragments and Extended-Vendor-Specific, the names of unknown
// attributes, and the rule that a value of the wrong shape never throws on decode.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeAttributes, encodeAttribute } from "../../src/radius/attributes.ts";
import type { DecodedAttribute } from "../../src/radius/attributes.ts";
import { hideTunnelPassword, hideUserPassword } from "../../src/radius/crypto.ts";
import { Dictionary } from "../../src/radius/dictionary.ts";
import type { RawAttribute } from "../../src/radius/packet.ts";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const raw = (type: number, value: string): RawAttribute => ({ type, value: hex(value) });

/** The built-in dictionary plus one attribute of every data type, in a test vendor and in 241. */
const dict = Dictionary.builtin();
dict.loadText(
  [
    "VENDOR Test 99999",
    "VENDOR Test-Wide 99998 format=2,2",
    "VENDOR Test-Bare 99997 format=4,0",
    "VENDOR Test-Cont 99996 format=1,1,c",
    "BEGIN-VENDOR Test",
    "ATTRIBUTE T-String 1 string",
    "ATTRIBUTE T-Octets 2 octets",
    "ATTRIBUTE T-Ipaddr 3 ipaddr",
    "ATTRIBUTE T-Ipv6addr 4 ipv6addr",
    "ATTRIBUTE T-Ipv6prefix 5 ipv6prefix",
    "ATTRIBUTE T-Ipv4prefix 6 ipv4prefix",
    "ATTRIBUTE T-Ifid 7 ifid",
    "ATTRIBUTE T-Integer 8 integer",
    "ATTRIBUTE T-Integer64 9 integer64",
    "ATTRIBUTE T-Date 10 date",
    "ATTRIBUTE T-Byte 11 byte",
    "ATTRIBUTE T-Short 12 short",
    "ATTRIBUTE T-Signed 13 signed",
    "ATTRIBUTE T-Ether 14 ether",
    "ATTRIBUTE T-Combo 15 combo-ip",
    "ATTRIBUTE T-Abinary 16 abinary",
    "ATTRIBUTE T-Fixed 17 octets[4]",
    "ATTRIBUTE T-Array 18 integer array",
    "ATTRIBUTE T-Tlv 19 tlv",
    "ATTRIBUTE T-Tlv-Name 19.1 string",
    "ATTRIBUTE T-Tlv-Count 19.2 short",
    "VALUE T-Integer Forty-Two 42",
    "VALUE T-Integer64 Big-One 4294967296",
    "END-VENDOR Test",
    "BEGIN-VENDOR Test-Wide",
    "ATTRIBUTE W-Text 1000 string",
    "END-VENDOR Test-Wide",
    "BEGIN-VENDOR Test-Bare",
    "ATTRIBUTE B-Text 70000 string",
    "END-VENDOR Test-Bare",
    "BEGIN-VENDOR Test-Cont",
    "ATTRIBUTE C-Text 1 string",
    "END-VENDOR Test-Cont",
    "BEGIN-VENDOR Test format=Extended-Vendor-Specific-1",
    "ATTRIBUTE E-Text 5 string",
    "END-VENDOR Test",
    "BEGIN-VENDOR Test format=Extended-Vendor-Specific-5",
    "ATTRIBUTE L-Blob 6 octets",
    "END-VENDOR Test",
    "ATTRIBUTE Ext-Long-Blob 245.4 octets",
    "ATTRIBUTE Ext-Tlv 241.9 tlv",
    "ATTRIBUTE Ext-Tlv-Port 241.9.2 integer",
  ].join("\n"),
  "attributes.test",
);

function decode(attrs: RawAttribute[], opts?: { secret?: Buffer; authenticator?: Buffer }): DecodedAttribute[] {
  return decodeAttributes(attrs, dict, opts);
}

/** Encode then decode one attribute. */
function roundTrip(name: string, value: string | number | bigint | Buffer, tag?: number): DecodedAttribute[] {
  return decode(encodeAttribute(dict, name, value, tag === undefined ? {} : { tag }));
}

describe("data types, decode and encode (RFC 8044)", () => {
  const cases: [name: string, input: string | number | bigint | Buffer, wire: string, shown: string | number][] = [
    ["T-String", "héllo", "68c3a96c6c6f", "héllo"],
    ["T-Octets", "0xdeadBEEF", "deadbeef", "0xdeadbeef"],
    ["T-Octets", "text", "74657874", "0x74657874"],
    ["T-Octets", Buffer.from([1, 2]), "0102", "0x0102"],
    ["T-Ipaddr", "192.0.2.1", "c0000201", "192.0.2.1"],
    ["T-Ipv6addr", "2001:DB8:0:0:0:0:0:1", "20010db8000000000000000000000001", "2001:db8::1"],
    ["T-Ipv6addr", "::ffff:10.1.2.3", "00000000000000000000ffff0a010203", "::ffff:10.1.2.3"],
    ["T-Ipv6prefix", "2001:db8::/32", "0020 20010db8", "2001:db8::/32"],
    ["T-Ipv6prefix", "2001:db8:1:2::/63", "003f 20010db800010002", "2001:db8:1:2::/63"],
    ["T-Ipv6prefix", "::/0", "0000", "::/0"],
    ["T-Ipv6prefix", "2001:db8::1", "0080 20010db8000000000000000000000001", "2001:db8::1/128"],
    ["T-Ipv4prefix", "10.0.0.0/8", "0008 0a000000", "10.0.0.0/8"],
    ["T-Ifid", "0011:22ff:fe33:4455", "001122fffe334455", "0011:22ff:fe33:4455"],
    ["T-Integer", 7, "00000007", 7],
    ["T-Integer", "Forty-Two", "0000002a", "Forty-Two"],
    ["T-Integer", "forty-two", "0000002a", "Forty-Two"],
    ["T-Integer", "42", "0000002a", "Forty-Two"],
    ["T-Integer", "0xffffffff", "ffffffff", 4294967295],
    ["T-Integer64", 5n, "0000000000000005", 5],
    ["T-Integer64", "4294967296", "0000000100000000", "Big-One"],
    ["T-Integer64", 2n ** 64n - 1n, "ffffffffffffffff", "18446744073709551615"],
    ["T-Integer64", Number.MAX_SAFE_INTEGER, "001fffffffffffff", Number.MAX_SAFE_INTEGER],
    ["T-Date", 1700000000, "6553f100", 1700000000],
    ["T-Date", "2023-11-14T22:13:20Z", "6553f100", 1700000000],
    ["T-Byte", 255, "ff", 255],
    ["T-Short", 65535, "ffff", 65535],
    ["T-Signed", -2, "fffffffe", -2],
    ["T-Ether", "00:11:22:AA:bb:cc", "001122aabbcc", "00:11:22:aa:bb:cc"],
    ["T-Ether", "00-11-22-aa-bb-cc", "001122aabbcc", "00:11:22:aa:bb:cc"],
    ["T-Combo", "192.0.2.9", "c0000209", "192.0.2.9"],
    ["T-Combo", "fe80::1", "fe800000000000000000000000000001", "fe80::1"],
    ["T-Abinary", "0x0101", "0101", "0x0101"],
    ["T-Fixed", "0x01020304", "01020304", "0x01020304"],
  ];
  for (const [name, input, wire, shown] of cases) {
    test(`${name} ${String(input)}`, () => {
      const encoded = encodeAttribute(dict, name, input);
      assert.equal(encoded.length, 1);
      const vsa = encoded[0]!;
      assert.equal(vsa.type, 26);
      const value = hex(wire);
      // Vendor-Id 99999, then type, length (1 octet each), value.
      assert.deepEqual(vsa.value, Buffer.concat([hex("0001869f"), Buffer.from([dict.attribute(name)!.type, value.length + 2]), value]));
      assert.deepEqual(decode(encoded), [{ name, value: shown }]);
    });
  }

  test("string octets that are not UTF-8 are shown as hex", () => {
    assert.deepEqual(roundTrip("T-String", Buffer.from([0xff, 0x41])), [{ name: "T-String", value: "0xff41" }]);
  });

  test("an array attribute gives one entry per element", () => {
    const vsa = raw(26, "0001869f 120e 00000001 00000002 00000003");
    assert.deepEqual(decode([vsa]), [
      { name: "T-Array", value: 1 },
      { name: "T-Array", value: 2 },
      { name: "T-Array", value: 3 },
    ]);
    assert.deepEqual(decode([raw(26, "0001869f 1207 00000001 02")]), [{ name: "T-Array", value: "0x0000000102" }]);
  });
});

describe("encodeAttribute refuses bad values with a readable message", () => {
  const refusals: [name: string, value: string | number | bigint | Buffer, message: string][] = [
    ["Session-Timeout", "abc", 'attribute "Session-Timeout": expected an integer, got "abc"'],
    ["Session-Timeout", 1.5, 'attribute "Session-Timeout": expected an integer, got 1.5'],
    ["Session-Timeout", -1, 'attribute "Session-Timeout": -1 is out of range 0-4294967295'],
    ["Session-Timeout", 2 ** 32, 'attribute "Session-Timeout": 4294967296 is out of range 0-4294967295'],
    ["Session-Timeout", Buffer.alloc(3), 'attribute "Session-Timeout": expected 4 octets, got 3'],
    ["Acct-Status-Type", "Begin", 'attribute "Acct-Status-Type": expected an integer or one of Start, Stop, Interim-Update, Alive, Accounting-On, Accounting-Off, Tunnel-Start, Tunnel-Stop, ..., got "Begin"'],
    ["Framed-IP-Address", "10.0.0.256", 'attribute "Framed-IP-Address": expected an IPv4 address, got "10.0.0.256"'],
    ["Framed-IP-Address", "010.0.0.1", 'attribute "Framed-IP-Address": expected an IPv4 address, got "010.0.0.1"'],
    ["NAS-IPv6-Address", "2001:db8::1::2", 'attribute "NAS-IPv6-Address": expected an IPv6 address, got "2001:db8::1::2"'],
    ["Framed-IPv6-Prefix", "2001:db8::1/64", 'attribute "Framed-IPv6-Prefix": expected an IPv6 prefix like "2001:db8::/32" with no bits set past its length, got "2001:db8::1/64"'],
    ["Framed-IPv6-Prefix", "2001:db8::/129", 'attribute "Framed-IPv6-Prefix": expected an IPv6 prefix like "2001:db8::/32" with no bits set past its length, got "2001:db8::/129"'],
    ["T-Byte", 256, 'attribute "T-Byte": 256 is out of range 0-255'],
    ["T-Signed", 2 ** 31, 'attribute "T-Signed": 2147483648 is out of range -2147483648-2147483647'],
    ["T-Integer64", -1n, 'attribute "T-Integer64": -1 is out of range 0-18446744073709551615'],
    ["T-Ether", "00:11:22:33:44", 'attribute "T-Ether": expected an Ethernet address like "00:11:22:33:44:55", got "00:11:22:33:44"'],
    ["T-Fixed", "0x0102", 'attribute "T-Fixed": expected 4 octets, got 2'],
    ["T-Octets", 5, 'attribute "T-Octets": expected octets ("0x..." hex or text), got 5'],
    ["Reply-Message", "", 'attribute "Reply-Message": an empty value cannot be sent; leave the attribute out instead'],
    ["Reply-Message", "x".repeat(254), 'attribute "Reply-Message": value is 254 octets; at most 253 fit in one attribute'],
    ["Cisco-AVPair", "x".repeat(248), 'attribute "Cisco-AVPair": value is 248 octets; at most 247 fit in a Vendor-Specific attribute'],
    ["Session-Timeout", 60, "unused"],
    ["No-Such-Thing", "x", 'attribute "No-Such-Thing": no such attribute in the dictionary'],
    ["Vendor-Specific", "0x00", 'attribute "Vendor-Specific": is a vsa container; encode its members instead'],
    ["IPv6-6rd-Configuration", "0x00", 'attribute "IPv6-6rd-Configuration": is a tlv container; encode its members instead'],
    ["Tunnel-Type", 0x1000000, 'attribute "Tunnel-Type": 16777216 is out of range 0-16777215'],
  ];
  for (const [name, value, message] of refusals) {
    if (message === "unused") continue;
    test(`${name} ${typeof value === "string" && value.length > 20 ? `${value.length} chars` : String(value)}`, () => {
      assert.throws(() => encodeAttribute(dict, name, value), { message });
    });
  }

  test("tags: only on has_tag attributes, 0-31", () => {
    assert.throws(() => encodeAttribute(dict, "Session-Timeout", 1, { tag: 1 }), { message: 'attribute "Session-Timeout": does not take a tag' });
    assert.throws(() => encodeAttribute(dict, "Tunnel-Type", "VLAN", { tag: 32 }), { message: 'attribute "Tunnel-Type": tag 32 is not 0-31' });
  });

  test("internal attributes have no wire form", () => {
    const d = Dictionary.builtin();
    d.loadText("ATTRIBUTE Server-Only 1500 string", "internal");
    assert.throws(() => encodeAttribute(d, "Server-Only", "x"), /type 1500 cannot be sent/);
  });
});

describe("long values", () => {
  test("concat attributes are split over consecutive attributes (EAP-Message)", () => {
    const eap = Buffer.alloc(600, 0xab);
    const attrs = encodeAttribute(dict, "EAP-Message", eap);
    assert.deepEqual(attrs.map((a) => [a.type, a.value.length]), [[79, 253], [79, 253], [79, 94]]);
    assert.deepEqual(Buffer.concat(attrs.map((a) => a.value)), eap);
  });

  test("RFC 6929 §2.2: long-extended values are fragmented with the More flag and reassembled", () => {
    const blob = Buffer.alloc(600, 0x5c);
    const attrs = encodeAttribute(dict, "Ext-Long-Blob", blob);
    assert.deepEqual(attrs.map((a) => [a.type, a.value[0], a.value[1], a.value.length]), [
      [245, 4, 0x80, 253],
      [245, 4, 0x80, 253],
      [245, 4, 0x00, 600 - 2 * 251 + 2],
    ]);
    assert.deepEqual(decode(attrs), [{ name: "Ext-Long-Blob", value: `0x${blob.toString("hex")}` }]);
  });

  test("a fragment chain broken by another attribute shows what it has, undecoded, and goes on", () => {
    const attrs = encodeAttribute(dict, "Ext-Long-Blob", Buffer.alloc(300, 1));
    const broken = [attrs[0]!, ...encodeAttribute(dict, "User-Name", "x"), attrs[1]!];
    const shown = decode(broken);
    assert.deepEqual(shown.map((a) => a.name), ["Ext-Long-Blob", "User-Name", "Ext-Long-Blob"]);
    assert.equal(shown[0]!.value, `0x${Buffer.alloc(251, 1).toString("hex")}`);
  });

  test("Extended-Vendor-Specific in a long-extended container (245.26)", () => {
    const attrs = encodeAttribute(dict, "L-Blob", Buffer.alloc(400, 7));
    assert.equal(attrs.length, 2);
    assert.deepEqual(attrs[0]!.value.subarray(0, 7), hex("1a80 0001869f 06"));
    assert.deepEqual(decode(attrs), [{ name: "L-Blob", value: `0x${Buffer.alloc(400, 7).toString("hex")}` }]);
  });
});

describe("RFC 2865 §5.26 Vendor-Specific", () => {
  test("Cisco-AVPair both ways", () => {
    const attrs = encodeAttribute(dict, "Cisco-AVPair", "shell:priv-lvl=15");
    assert.deepEqual(attrs, [raw(26, `00000009 0113 ${Buffer.from("shell:priv-lvl=15").toString("hex")}`)]);
    assert.deepEqual(decode(attrs), [{ name: "Cisco-AVPair", value: "shell:priv-lvl=15" }]);
  });

  test("several sub-attributes in one VSA, and unknown ones named by vendor and type", () => {
    const vsa = raw(26, "0000000e 0106 00000001 6306 000000ff 0805 616263");
    // Vendor 14 is not in the dictionary: default 1,1 format, numbered names.
    assert.deepEqual(decode([vsa]), [
      { name: "Vendor-14-Attr-1", value: "0x00000001" },
      { name: "Vendor-14-Attr-99", value: "0x000000ff" },
      { name: "Vendor-14-Attr-8", value: "0x616263" },
    ]);
    assert.deepEqual(decode([raw(26, "0000372a 0806 00000400 3c03 00")]), [
      { name: "WISPr-Bandwidth-Max-Down", value: 1024 },
      { name: "Vendor-14122-Attr-60", value: "0x00" },
    ]);
  });

  test("a malformed VSA stays one Attr-26 octets entry", () => {
    for (const bad of ["00000009", "000009", "00000009 0110 616263", "00000009 0101", "00000009 01"]) {
      assert.deepEqual(decode([raw(26, bad)]), [{ name: "Attr-26", value: `0x${bad.replace(/\s+/g, "")}` }], bad);
    }
  });

  test("vendor formats 2,2 and 4,0", () => {
    const wide = encodeAttribute(dict, "W-Text", "hi");
    assert.deepEqual(wide, [raw(26, "0001869e 03e8 0006 6869")]);
    assert.deepEqual(decode(wide), [{ name: "W-Text", value: "hi" }]);
    const bare = encodeAttribute(dict, "B-Text", "hi");
    assert.deepEqual(bare, [raw(26, "0001869d 00011170 6869")]);
    assert.deepEqual(decode(bare), [{ name: "B-Text", value: "hi" }]);
  });

  test("format 1,1,c: continuation octet, long values split and joined again", () => {
    const text = "c".repeat(400);
    const attrs = encodeAttribute(dict, "C-Text", text);
    assert.equal(attrs.length, 2);
    assert.equal(attrs[0]!.value[6], 0x80, "first VSA says more follows");
    assert.equal(attrs[1]!.value[6], 0x00);
    assert.deepEqual(decode(attrs), [{ name: "C-Text", value: text }]);
    assert.deepEqual(decode(encodeAttribute(dict, "C-Text", "short")), [{ name: "C-Text", value: "short" }]);
    // A continuation that never comes: shown as hex under the right name.
    assert.deepEqual(decode([attrs[0]!]), [{ name: "C-Text", value: `0x${Buffer.from("c".repeat(246)).toString("hex")}` }]);
  });

  test("a vendor TLV is decoded member by member", () => {
    const attrs = [
      ...encodeAttribute(dict, "T-Tlv-Name", "eth0"),
      ...encodeAttribute(dict, "T-Tlv-Count", 3),
    ];
    assert.deepEqual(attrs[0], raw(26, "0001869f 1308 0106 65746830"));
    assert.deepEqual(decode(attrs), [
      { name: "T-Tlv-Name", value: "eth0" },
      { name: "T-Tlv-Count", value: 3 },
    ]);
    assert.deepEqual(decode([raw(26, "0001869f 130a 0106 65746830 0902")]), [
      { name: "T-Tlv-Name", value: "eth0" },
      { name: "Vendor-99999-Attr-19.9", value: "0x" },
    ]);
    assert.deepEqual(decode([raw(26, "0001869f 1306 0109 6574")]), [{ name: "T-Tlv", value: "0x01096574" }]);
  });
});

describe("RFC 2868 §3.1 tags", () => {
  test("tagged integers: tag octet and a 24-bit value", () => {
    const attrs = encodeAttribute(dict, "Tunnel-Type", "VLAN", { tag: 1 });
    assert.deepEqual(attrs, [raw(64, "0100000d")]);
    assert.deepEqual(decode(attrs), [{ name: "Tunnel-Type", value: "VLAN", tag: 1 }]);
    assert.deepEqual(roundTrip("Tunnel-Medium-Type", "IEEE-802"), [{ name: "Tunnel-Medium-Type", value: "IEEE-802" }]);
  });

  test("tagged strings: a tag octet only when given or needed", () => {
    assert.deepEqual(encodeAttribute(dict, "Tunnel-Private-Group-Id", "100", { tag: 2 }), [raw(81, "02313030")]);
    assert.deepEqual(encodeAttribute(dict, "Tunnel-Private-Group-Id", "100"), [raw(81, "313030")]);
    // A first octet below 0x20 would read as a tag, so a zero tag goes in front.
    assert.deepEqual(encodeAttribute(dict, "Tunnel-Private-Group-Id", "\x05x"), [raw(81, "000578")]);
    assert.deepEqual(decode([raw(81, "02313030")]), [{ name: "Tunnel-Private-Group-Id", value: "100", tag: 2 }]);
    assert.deepEqual(decode([raw(81, "313030")]), [{ name: "Tunnel-Private-Group-Id", value: "100" }]);
    assert.deepEqual(decode([raw(81, "000578")]), [{ name: "Tunnel-Private-Group-Id", value: "\x05x" }]);
  });

  test("Tunnel-Password: tag and salted value, revealed only with secret and authenticator", () => {
    const secret = Buffer.from("s");
    const authenticator = Buffer.alloc(16, 0x11);
    const encoded = encodeAttribute(dict, "Tunnel-Password", "open sesame", { tag: 4 });
    assert.deepEqual(encoded, [{ type: 69, value: Buffer.concat([Buffer.from([4]), Buffer.from("open sesame")]) }], "cleartext until message.ts hides it");
    const hidden = Buffer.concat([Buffer.from([4]), hideTunnelPassword(Buffer.from("open sesame"), secret, authenticator, hex("8abc"))]);
    assert.deepEqual(decode([{ type: 69, value: hidden }], { secret, authenticator }), [
      { name: "Tunnel-Password", value: "open sesame", tag: 4 },
    ]);
    assert.deepEqual(decode([{ type: 69, value: hidden }]), [
      { name: "Tunnel-Password", value: `0x${hidden.subarray(1).toString("hex")}`, tag: 4 },
    ]);
  });
});

test("RFC 2865 §5.2 User-Password is shown in clear only with secret and authenticator", () => {
  const secret = Buffer.from("s");
  const authenticator = Buffer.alloc(16, 0x22);
  const hidden = hideUserPassword(Buffer.from("p@ss"), secret, authenticator);
  assert.deepEqual(decode([{ type: 2, value: hidden }], { secret, authenticator }), [{ name: "User-Password", value: "p@ss" }]);
  assert.deepEqual(decode([{ type: 2, value: hidden }]), [{ name: "User-Password", value: `0x${hidden.toString("hex")}` }]);
  assert.deepEqual(decode([raw(2, "0102")], { secret, authenticator }), [{ name: "User-Password", value: "0x0102" }]);
});

describe("RFC 6929 extended attributes", () => {
  test("Frag-Status (241.1) both ways", () => {
    const attrs = encodeAttribute(dict, "Frag-Status", "More-Data-Pending");
    assert.deepEqual(attrs, [raw(241, "01 00000002")]);
    assert.deepEqual(decode(attrs), [{ name: "Frag-Status", value: "More-Data-Pending" }]);
  });

  test("a TLV inside an extended attribute (241.9.2)", () => {
    const attrs = encodeAttribute(dict, "Ext-Tlv-Port", 8080);
    assert.deepEqual(attrs, [raw(241, "09 0206 00001f90")]);
    assert.deepEqual(decode(attrs), [{ name: "Ext-Tlv-Port", value: 8080 }]);
  });

  test("Extended-Vendor-Specific (241.26): vendor id, vendor type, value", () => {
    const attrs = encodeAttribute(dict, "E-Text", "evs");
    assert.deepEqual(attrs, [raw(241, "1a 0001869f 05 657673")]);
    assert.deepEqual(decode(attrs), [{ name: "E-Text", value: "evs" }]);
  });

  test("unknown and malformed extended attributes are named and shown as hex", () => {
    assert.deepEqual(decode([raw(241, "63 0102")]), [{ name: "Attr-241.99", value: "0x0102" }]);
    assert.deepEqual(decode([raw(242, "01 ff")]), [{ name: "Attr-242.1", value: "0xff" }]);
    assert.deepEqual(decode([raw(241, "")]), [{ name: "Extended-Attribute-1", value: "0x" }]);
    assert.deepEqual(decode([raw(241, "1a 0000000901")]), [{ name: "Attr-241.26.9.1", value: "0x" }]);
    assert.deepEqual(decode([raw(241, "1a 000009")]), [{ name: "Extended-Vendor-Specific-1", value: "0x000009" }]);
    assert.deepEqual(decode([raw(245, "04")]), [{ name: "Extended-Attribute-5", value: "0x04" }]);
    assert.deepEqual(decode([raw(246, "07 00 aa")]), [{ name: "Attr-246.7", value: "0xaa" }]);
    assert.deepEqual(decode([raw(241, "01 000002")]), [{ name: "Frag-Status", value: "0x000002" }]);
  });
});

describe("names of unknown attributes, and values of the wrong length", () => {
  test("Attr-<n> for unknown standard attributes", () => {
    assert.deepEqual(decode([raw(230, "0102")]), [{ name: "Attr-230", value: "0x0102" }]);
  });

  test("wrong lengths keep the proper name, shown as hex", () => {
    assert.deepEqual(decode([raw(27, "0001")]), [{ name: "Session-Timeout", value: "0x0001" }]);
    assert.deepEqual(decode([raw(8, "0a0000")]), [{ name: "Framed-IP-Address", value: "0x0a0000" }]);
    assert.deepEqual(decode([raw(97, "00ff20010db8")]), [{ name: "Framed-IPv6-Prefix", value: "0x00ff20010db8" }]);
    assert.deepEqual(decode([raw(64, "01000d")]), [{ name: "Tunnel-Type", value: "0x01000d" }]);
    assert.deepEqual(decode([raw(70, "00")]), [{ name: "ARAP-Password", value: "0x00" }]);
  });

  test("no attribute of the built-in dictionary throws on values of any length 0-253", () => {
    const d = Dictionary.builtin();
    let seed = 1;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
    for (const def of d.attributes()) {
      if (def.vendorId !== 0 || def.oid.length !== 1 || def.type > 255) continue;
      for (const length of [0, 1, 2, 3, 4, 5, 6, 8, 15, 16, 17, 18, 19, 253]) {
        const value = Buffer.from(Array.from({ length }, random));
        const shown = decodeAttributes([{ type: def.type, value }], d, { secret: Buffer.from("k"), authenticator: Buffer.alloc(16) });
        assert.ok(shown.length >= 1, `${def.name} ${length}`);
        for (const a of shown) assert.ok(typeof a.value === "string" || Number.isFinite(a.value), `${def.name} ${length}`);
      }
    }
  });
});
