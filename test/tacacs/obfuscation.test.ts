// The JavaScript MD5 and the obfuscation built on it (src/tacacs/md5.ts, obfuscation.ts) against
// node:crypto: the digest of any message, and the pad of any body, header and key, equal what
// the implementation before them computed (kept here as the reference). Any difference would
// put other bytes on the wire, so this is checked over generated input and every length near
// MD5's block boundaries.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { HeaderFlag } from "../../src/tacacs/constants.ts";
import { encodeHeader, type TacacsHeader } from "../../src/tacacs/header.ts";
import { md5Into } from "../../src/tacacs/md5.ts";
import { obfuscate, obfuscateInto } from "../../src/tacacs/obfuscation.ts";
import { sealPacket } from "../../src/tacacs/packet.ts";

/** The obfuscation as it was written before md5.ts: a node:crypto Hash per 16 octets. */
function referenceObfuscate(body: Buffer, header: Pick<TacacsHeader, "sessionId" | "majorVersion" | "minorVersion" | "seqNo">, key: Buffer): Buffer {
  const prefix = Buffer.alloc(4 + key.length + 2);
  prefix.writeUInt32BE(header.sessionId >>> 0, 0);
  key.copy(prefix, 4);
  prefix[4 + key.length] = ((header.majorVersion & 0x0f) << 4) | (header.minorVersion & 0x0f);
  prefix[5 + key.length] = header.seqNo & 0xff;
  const out = Buffer.alloc(body.length);
  let previous: Buffer | undefined;
  for (let offset = 0; offset < body.length; offset += 16) {
    const md5 = createHash("md5").update(prefix);
    if (previous) md5.update(previous);
    previous = md5.digest();
    const end = Math.min(offset + 16, body.length);
    for (let i = offset; i < end; i++) out[i] = body[i]! ^ previous[i - offset]!;
  }
  return out;
}

const md5 = (m: Uint8Array): Buffer => {
  const out = Buffer.alloc(16);
  md5Into(m, m.length, out, 0);
  return out;
};
const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

describe("md5Into", () => {
  test("RFC 1321 appendix A.5 test suite", () => {
    const suite: [string, string][] = [
      ["", "d41d8cd98f00b204e9800998ecf8427e"],
      ["a", "0cc175b9c0f1b6a831c399e269772661"],
      ["abc", "900150983cd24fb0d6963f7d28e17f72"],
      ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
      ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
      ["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"],
      ["12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a"],
    ];
    for (const [text, digest] of suite) assert.equal(md5(Buffer.from(text)).toString("hex"), digest, JSON.stringify(text));
  });

  test("equals node:crypto for every length from 0 to 300 (both padding cases, several blocks)", () => {
    for (let n = 0; n <= 300; n++) {
      const m = Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + n) & 0xff));
      assert.deepEqual(md5(m), createHash("md5").update(m).digest(), `length ${n}`);
    }
  });

  test("equals node:crypto for any message", () => {
    fc.assert(
      fc.property(bytes(600), (m) => assert.deepEqual(md5(m), createHash("md5").update(m).digest())),
      { numRuns: 500 },
    );
  });

  test("may write its digest over its own input", () => {
    const m = Buffer.from("session id, key, version, seq_no and sixteen more octets");
    const expected = createHash("md5").update(m.subarray(0, 40)).digest();
    md5Into(m, 40, m, 24);
    assert.deepEqual(m.subarray(24, 40), expected);
  });
});

describe("obfuscation equals the node:crypto reference", () => {
  const header = fc.record({
    sessionId: fc.nat({ max: 0xffffffff }),
    majorVersion: fc.integer({ min: 0, max: 15 }),
    minorVersion: fc.integer({ min: 0, max: 15 }),
    seqNo: fc.integer({ min: 0, max: 255 }),
  });

  test("for any body, header and key (keys of every length up to two MD5 blocks and beyond)", () => {
    fc.assert(
      fc.property(bytes(700), header, bytes(150), (body, h, key) => {
        assert.deepEqual(obfuscate(body, h, key), referenceObfuscate(body, h, key));
      }),
      { numRuns: 400 },
    );
  });

  test("with the keys and body lengths around block boundaries", () => {
    const h = { sessionId: 0xdeadbeef, majorVersion: 0xc, minorVersion: 0, seqNo: 1 };
    for (let keyLength = 0; keyLength <= 130; keyLength++) {
      const key = Buffer.alloc(keyLength, keyLength);
      for (const bodyLength of [0, 1, 15, 16, 17, 33, 100]) {
        const body = Buffer.alloc(bodyLength, 0x5a);
        assert.deepEqual(obfuscate(body, h, key), referenceObfuscate(body, h, key), `key ${keyLength}, body ${bodyLength}`);
      }
    }
  });

  test("obfuscateInto writes at an offset and in place", () => {
    fc.assert(
      fc.property(bytes(100), header, bytes(20), fc.nat({ max: 30 }), (body, h, key, at) => {
        const expected = referenceObfuscate(body, h, key);
        const out = Buffer.alloc(at + body.length + 5, 0xee);
        obfuscateInto(body, h, key, out, at);
        assert.deepEqual(out.subarray(at, at + body.length), expected);
        assert.ok(out.subarray(0, at).every((b) => b === 0xee) && out.subarray(at + body.length).every((b) => b === 0xee), "octets outside the body are left alone");
        const copy = Buffer.from(body);
        obfuscateInto(copy, h, key, copy, 0);
        assert.deepEqual(copy, expected);
      }),
      { numRuns: 200 },
    );
  });

  test("sealPacket gives the header followed by the reference's obfuscated body", () => {
    fc.assert(
      fc.property(bytes(300), header, fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 255 }), bytes(20), (body, h, flags, type, key) => {
        const full = { ...h, type, flags, length: body.length };
        const wire = flags & HeaderFlag.Unencrypted ? body : referenceObfuscate(body, full, key);
        assert.deepEqual(sealPacket({ ...h, type, flags }, body, key), Buffer.concat([encodeHeader(full), wire]));
      }),
      { numRuns: 200 },
    );
  });
});
