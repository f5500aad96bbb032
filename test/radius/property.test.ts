// Properties over generated input (fast-check): decoding never throws on any bytes, encoding
// and decoding are inverse for packets and for typed attribute values. Run counts are kept
// modest so the file takes a few seconds.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { decodeAttributes, encodeAttribute } from "../../src/radius/attributes.ts";
import { PacketCode } from "../../src/radius/constants.ts";
import { checkMessageAuthenticator, verifyAccountingRequest } from "../../src/radius/crypto.ts";
import { Dictionary } from "../../src/radius/dictionary.ts";
import { decodePacket, encodePacket } from "../../src/radius/packet.ts";
import type { RadiusPacket, RawAttribute } from "../../src/radius/packet.ts";
import { readIpv6 } from "../../src/radius/values.ts";

const dict = Dictionary.builtin();
const codes = Object.values(PacketCode);

const rawAttribute: fc.Arbitrary<RawAttribute> = fc.record({
  // Bias towards the types with inner structure: VSA and the RFC 6929 containers.
  type: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(26, 241, 242, 245, 246, 64, 69, 2, 173)),
  value: fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.from(a)),
}).map((a) => ({ ...a })); // fc.record builds null-prototype objects; deepEqual wants plain ones

const packet: fc.Arbitrary<RadiusPacket> = fc.record({
  code: fc.constantFrom(...codes),
  identifier: fc.integer({ min: 0, max: 255 }),
  authenticator: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a)),
  attributes: fc.array(rawAttribute, { maxLength: 40 }),
}).map((p) => ({ ...p }));

describe("decoding never throws", () => {
  test("decodePacket on arbitrary bytes, and a success re-encodes to the same octets", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const r = decodePacket(buf);
        if (r.ok) assert.deepEqual(encodePacket(r.packet), buf.subarray(0, buf.readUInt16BE(2)));
        else assert.ok(r.offset >= 0 && r.offset <= buf.length, "r.offset >= 0 && r.offset <= buf.length");
      }),
      { numRuns: 1000 },
    );
  });

  test("decodePacket, decodeAttributes and the verifiers on mutated valid packets", () => {
    fc.assert(
      fc.property(
        packet,
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 6 }),
        fc.nat(40),
        (p, mutations, cut) => {
          const buf = encodePacket(p);
          for (const m of mutations) buf[m.at % buf.length] = m.value;
          const bytes = buf.subarray(0, Math.max(0, buf.length - cut));
          const r = decodePacket(bytes);
          verifyAccountingRequest(bytes, Buffer.from("k"));
          try {
            checkMessageAuthenticator(bytes, Buffer.from("k"), Buffer.alloc(16));
          } catch (e) {
            assert.fail(`checkMessageAuthenticator threw with a request authenticator: ${String(e)}`);
          }
          if (r.ok) {
            const shown = decodeAttributes(r.packet.attributes, dict, { secret: Buffer.from("k"), authenticator: r.packet.authenticator });
            JSON.stringify(shown);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test("decodeAttributes on arbitrary attribute lists gives JSON-safe values", () => {
    fc.assert(
      fc.property(fc.array(rawAttribute, { maxLength: 20 }), (attrs) => {
        for (const a of decodeAttributes(attrs, dict)) {
          assert.equal(typeof a.name, "string");
          assert.ok(typeof a.value === "string" || Number.isSafeInteger(a.value), `${a.name}=${String(a.value)}`);
          if (a.tag !== undefined) assert.ok(a.tag >= 1 && a.tag <= 31, "a.tag >= 1 && a.tag <= 31");
        }
      }),
      { numRuns: 1000 },
    );
  });
});

test("decodePacket ∘ encodePacket is the identity on valid packets", () => {
  const valid = packet.filter((p) => p.attributes.reduce((n, a) => n + 2 + a.value.length, 20) <= 4096);
  fc.assert(
    fc.property(valid, (p) => {
      const r = decodePacket(encodePacket(p));
      assert.ok(r.ok, "r.ok");
      assert.deepEqual(r.packet, p);
    }),
    { numRuns: 500 },
  );
});

describe("encodeAttribute → decodeAttributes round trips", () => {
  const roundTrip = (name: string, value: string | number | bigint): DecodedValue => {
    const shown = decodeAttributes(encodeAttribute(dict, name, value), dict);
    assert.equal(shown.length, 1);
    assert.equal(shown[0]!.name, name);
    return shown[0]!.value;
  };
  type DecodedValue = string | number;

  test("integer (Session-Timeout)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        assert.equal(roundTrip("Session-Timeout", n), n);
      }),
      { numRuns: 500 },
    );
  });

  test("integer64 (MIP6-Feature-Vector): numbers while safe, decimal text beyond", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (n) => {
        const shown = roundTrip("MIP6-Feature-Vector", n);
        assert.equal(shown, n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString());
      }),
      { numRuns: 500 },
    );
  });

  test("string (Reply-Message), any Unicode that fits", () => {
    const text = fc
      .string({ unit: "grapheme", minLength: 1, maxLength: 80 })
      .filter((s) => Buffer.byteLength(s) <= 253);
    fc.assert(
      fc.property(text, (s) => {
        assert.equal(roundTrip("Reply-Message", s), s);
      }),
      { numRuns: 500 },
    );
  });

  test("ipaddr (Framed-IP-Address)", () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        assert.equal(roundTrip("Framed-IP-Address", ip), ip);
      }),
      { numRuns: 500 },
    );
  });

  test("ipv6addr (NAS-IPv6-Address): any text form comes back as the same address", () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const shown = roundTrip("NAS-IPv6-Address", ip);
        const again = decodeAttributes(encodeAttribute(dict, "NAS-IPv6-Address", String(shown)), dict);
        assert.equal(again[0]!.value, shown, "the canonical form is a fixed point");
        assert.deepEqual(
          encodeAttribute(dict, "NAS-IPv6-Address", String(shown)),
          encodeAttribute(dict, "NAS-IPv6-Address", ip),
        );
      }),
      { numRuns: 500 },
    );
  });

  test("ipv6prefix (Framed-IPv6-Prefix)", () => {
    const prefix = fc
      .record({ bytes: fc.uint8Array({ minLength: 16, maxLength: 16 }), bits: fc.integer({ min: 0, max: 128 }) })
      .map(({ bytes, bits }) => {
        const addr = Buffer.from(bytes);
        for (let i = bits; i < 128; i++) addr[i >> 3] = addr[i >> 3]! & ~(0x80 >> (i & 7));
        return `${readIpv6(addr)!}/${bits}`;
      });
    fc.assert(
      fc.property(prefix, (text) => {
        assert.equal(roundTrip("Framed-IPv6-Prefix", text), text);
      }),
      { numRuns: 500 },
    );
  });

  test("tagged integer (Tunnel-Type with tags 0-31)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffff }), fc.integer({ min: 0, max: 31 }), (n, tag) => {
        const shown = decodeAttributes(encodeAttribute(dict, "Tunnel-Type", n, { tag }), dict);
        const name = dict.attribute("Tunnel-Type")!.valueNames.get(n);
        assert.deepEqual(shown, [{ name: "Tunnel-Type", value: name ?? n, ...(tag > 0 ? { tag } : {}) }]);
      }),
      { numRuns: 300 },
    );
  });
});
