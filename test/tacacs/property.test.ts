// Properties over generated input (fast-check): every body round-trips, decoders never throw
// on any bytes, obfuscation is its own inverse, and the FrameReader neither throws nor cares
// how the stream was chunked. Run counts are kept modest so the file takes a few seconds.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  decodeAcctReply,
  decodeAcctRequest,
  decodeAuthenContinue,
  decodeAuthenReply,
  decodeAuthenStart,
  decodeAuthorRequest,
  decodeAuthorResponse,
  encodeAcctReply,
  encodeAcctRequest,
  encodeAuthenContinue,
  encodeAuthenReply,
  encodeAuthenStart,
  encodeAuthorRequest,
  encodeAuthorResponse,
  formatArg,
  parseArg,
} from "../../src/tacacs/bodies.ts";
import type { BodyResult } from "../../src/tacacs/bodies.ts";
import { obfuscate } from "../../src/tacacs/obfuscation.ts";
import { FrameReader, sealPacket } from "../../src/tacacs/packet.ts";
import type { FrameResult } from "../../src/tacacs/packet.ts";

const octet = fc.integer({ min: 0, max: 255 });
const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));
// At most 4 UTF-8 octets per code point, so 60 code points always fit a 1-octet length.
const shortText = fc.string({ unit: "binary", maxLength: 60 });
const longText = fc.string({ unit: "binary", maxLength: 400 });
const args = fc.array(shortText, { maxLength: 20 });
/** fc.record builds null-prototype objects; deepEqual wants plain ones. */
const plain = <T extends object>(a: fc.Arbitrary<T>): fc.Arbitrary<T> => a.map((v) => ({ ...v }));
const who = { user: shortText, port: shortText, remAddr: shortText };

interface Codec {
  name: string;
  arbitrary: fc.Arbitrary<object>;
  encode: (v: never) => Buffer;
  decode: (b: Buffer) => BodyResult<unknown>;
}

const codecs: Codec[] = [
  {
    name: "authentication START",
    arbitrary: plain(fc.record({ action: octet, privLvl: octet, authenType: octet, authenService: octet, ...who, data: bytes(255) })),
    encode: encodeAuthenStart,
    decode: decodeAuthenStart,
  },
  {
    name: "authentication REPLY",
    arbitrary: plain(fc.record({ status: octet, flags: octet, serverMsg: longText, data: bytes(600) })),
    encode: encodeAuthenReply,
    decode: decodeAuthenReply,
  },
  {
    name: "authentication CONTINUE",
    arbitrary: plain(fc.record({ flags: octet, userMsg: bytes(600), data: bytes(600) })),
    encode: encodeAuthenContinue,
    decode: decodeAuthenContinue,
  },
  {
    name: "authorization REQUEST",
    arbitrary: plain(fc.record({ authenMethod: octet, privLvl: octet, authenType: octet, authenService: octet, ...who, args })),
    encode: encodeAuthorRequest,
    decode: decodeAuthorRequest,
  },
  {
    name: "authorization RESPONSE",
    arbitrary: plain(fc.record({ status: octet, args, serverMsg: longText, data: bytes(600) })),
    encode: encodeAuthorResponse,
    decode: decodeAuthorResponse,
  },
  {
    name: "accounting REQUEST",
    arbitrary: plain(fc.record({ flags: octet, authenMethod: octet, privLvl: octet, authenType: octet, authenService: octet, ...who, args })),
    encode: encodeAcctRequest,
    decode: decodeAcctRequest,
  },
  {
    name: "accounting REPLY",
    arbitrary: plain(fc.record({ status: octet, serverMsg: longText, data: bytes(600) })),
    encode: encodeAcctReply,
    decode: decodeAcctReply,
  },
];

describe("every body round-trips and its decoder never throws", () => {
  for (const c of codecs) {
    test(`${c.name}: decode(encode(v)) is v`, () => {
      fc.assert(
        fc.property(c.arbitrary, (v) => {
          assert.deepEqual(c.decode(c.encode(v as never)), { ok: true, value: v });
        }),
        { numRuns: 200 },
      );
    });

    test(`${c.name}: arbitrary bytes give a result, never an exception, with an offset inside the body`, () => {
      fc.assert(
        fc.property(bytes(80), (b) => {
          const r = c.decode(b);
          if (!r.ok) assert.ok(r.offset >= 0 && r.offset <= b.length, `offset ${r.offset} of ${b.length}`);
        }),
        { numRuns: 500 },
      );
    });

    test(`${c.name}: mutated valid bodies never throw`, () => {
      fc.assert(
        fc.property(c.arbitrary, fc.array(fc.tuple(fc.nat(), octet), { minLength: 1, maxLength: 4 }), fc.nat(20), (v, edits, cut) => {
          const b = Buffer.from(c.encode(v as never));
          for (const [at, value] of edits) if (b.length > 0) b[at % b.length] = value;
          c.decode(b);
          c.decode(b.subarray(0, Math.max(0, b.length - cut)));
        }),
        { numRuns: 200 },
      );
    });
  }
});

describe("obfuscation and args", () => {
  test("obfuscate is its own inverse for any body, header and key", () => {
    fc.assert(
      fc.property(bytes(200), fc.nat({ max: 0xffffffff }), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 1, max: 255 }), bytes(40), (body, sessionId, minorVersion, seqNo, key) => {
        const h = { sessionId, majorVersion: 0xc, minorVersion, seqNo };
        const hidden = obfuscate(body, h, key);
        assert.equal(hidden.length, body.length);
        assert.deepEqual(obfuscate(hidden, h, key), body);
      }),
      { numRuns: 200 },
    );
  });

  test("parseArg(formatArg(name, value, m)) gives back name, value and m", () => {
    const name = fc.string({ maxLength: 20 }).filter((s) => !s.includes("=") && !s.includes("*"));
    fc.assert(
      fc.property(name, fc.string({ maxLength: 40 }), fc.boolean(), (n, value, mandatory) => {
        assert.deepEqual(parseArg(formatArg(n, value, mandatory)), { name: n, value, mandatory });
      }),
      { numRuns: 300 },
    );
  });
});

/** Pushes `stream` in pieces cut at `cuts`, collecting everything the reader returns. */
function feed(stream: Buffer, cuts: number[], maxBodyLength: number): { frames: Buffer[]; failure: FrameResult["failure"] } {
  const reader = new FrameReader({ maxBodyLength });
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const frames: Buffer[] = [];
  let failure: FrameResult["failure"];
  let from = 0;
  for (const to of [...points, stream.length]) {
    const r = reader.push(stream.subarray(from, to));
    frames.push(...r.frames.map((f) => Buffer.concat([Buffer.from([f.header.seqNo, f.header.sessionId & 0xff]), f.rawBody])));
    failure ??= r.failure;
    from = to;
  }
  return { frames, failure };
}

describe("FrameReader never throws, whatever the chunking", () => {
  const packetArb = fc
    .record({ seqNo: fc.integer({ min: 1, max: 255 }), sessionId: fc.nat({ max: 0xffffffff }), type: fc.integer({ min: 1, max: 3 }), body: bytes(100) })
    .map(({ body, ...h }) => sealPacket({ majorVersion: 0xc, minorVersion: 0, flags: 0, ...h }, body, Buffer.from("k")));

  test("valid packets come out whole and in order for any chunking", () => {
    fc.assert(
      fc.property(fc.array(packetArb, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 30 }), (packets, cuts) => {
        const stream = Buffer.concat(packets);
        const { frames, failure } = feed(stream, cuts, 100);
        assert.equal(failure, undefined);
        assert.equal(frames.length, packets.length);
        assert.deepEqual(feed(stream, [], 100), { frames, failure });
      }),
      { numRuns: 300 },
    );
  });

  test("arbitrary bytes: never throws, and the outcome does not depend on the chunking", () => {
    // Mostly plausible headers with small lengths, so streams get past the first header.
    const header = fc
      .tuple(fc.constantFrom(0xc0, 0xc1, 0xc2, 0xd0), fc.constantFrom(1, 2, 3, 9), bytes(6), fc.integer({ min: 0, max: 60 }))
      .map(([v, t, mid, len]) => {
        const h = Buffer.concat([Buffer.from([v, t]), mid, Buffer.alloc(10)]).subarray(0, 12);
        h.writeUInt32BE(len, 8);
        return h;
      });
    const stream = fc.array(fc.oneof(header, bytes(40)), { maxLength: 8 }).map((parts) => Buffer.concat(parts));
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 30 }), fc.integer({ min: 0, max: 400 }), (s, cuts, max) => {
        const chunked = feed(s, cuts, max);
        assert.deepEqual(chunked, feed(s, [], max));
        if (chunked.failure) assert.ok(chunked.failure.offset >= 0 && chunked.failure.offset < s.length, "chunked.failure.offset >= 0 && chunked.failure.offset < s.length");
      }),
      { numRuns: 500 },
    );
  });
});
