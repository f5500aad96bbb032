// FrameReader over a TCP byte stream: packets split anywhere, several per chunk, a hostile
// length refused before it is buffered, a bad header poisoning the reader, and offsets that
// count from the start of the stream.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeAuthorRequest } from "../../src/tacacs/bodies.ts";
import { HeaderFlag, PacketType, TAC_PLUS_MAJOR_VERSION } from "../../src/tacacs/constants.ts";
import { encodeHeader } from "../../src/tacacs/header.ts";
import type { TacacsHeader } from "../../src/tacacs/header.ts";
import { FrameReader, openPacket, sealPacket } from "../../src/tacacs/packet.ts";
import type { Frame } from "../../src/tacacs/packet.ts";

const key = Buffer.from("framing-key");

function packet(sessionId: number, user: string, flags = 0): { wire: Buffer; body: Buffer } {
  const body = encodeAuthorRequest({ authenMethod: 6, privLvl: 1, authenType: 1, authenService: 1, user, port: "tty0", remAddr: "", args: ["service=shell"] });
  const header = { majorVersion: TAC_PLUS_MAJOR_VERSION, minorVersion: 0, type: PacketType.Authorization, seqNo: 1, flags, sessionId };
  return { wire: sealPacket(header, body, key), body };
}

function header(h: Partial<TacacsHeader>): Buffer {
  return encodeHeader({ majorVersion: 0xc, minorVersion: 0, type: 1, seqNo: 1, flags: 0, sessionId: 1, length: 0, ...h });
}

const opened = (f: Frame) => openPacket(f.header, f.rawBody, key);

describe("FrameReader", () => {
  test("one byte at a time: a frame appears exactly when its last byte arrives", () => {
    const a = packet(0x11111111, "alice");
    const b = packet(0x22222222, "bob", HeaderFlag.SingleConnect);
    const stream = Buffer.concat([a.wire, b.wire]);
    const reader = new FrameReader({ maxBodyLength: 1024 });
    const frames: Frame[] = [];
    for (let i = 0; i < stream.length; i++) {
      const r = reader.push(stream.subarray(i, i + 1));
      assert.equal(r.failure, undefined);
      if (i === a.wire.length - 1 || i === stream.length - 1) assert.equal(r.frames.length, 1, `frame at byte ${i}`);
      else assert.equal(r.frames.length, 0, `no frame at byte ${i}`);
      frames.push(...r.frames);
      const framed = frames.reduce((n, f) => n + 12 + f.rawBody.length, 0);
      assert.equal(reader.buffered, i + 1 - framed);
    }
    assert.equal(frames.length, 2);
    assert.equal(frames[0]!.header.sessionId, 0x11111111);
    assert.equal(frames[1]!.header.flags, HeaderFlag.SingleConnect);
    assert.deepEqual(opened(frames[0]!), a.body);
    assert.deepEqual(opened(frames[1]!), b.body);
    assert.equal(reader.buffered, 0);
  });

  test("several packets and a partial one in one chunk, the rest in the next", () => {
    const ps = [packet(1, "a"), packet(2, "bb"), packet(3, "ccc")];
    const all = Buffer.concat(ps.map((p) => p.wire));
    const cut = ps[0]!.wire.length + ps[1]!.wire.length + 5;
    const reader = new FrameReader({ maxBodyLength: 1024 });
    const first = reader.push(all.subarray(0, cut));
    assert.deepEqual(first.frames.map((f) => f.header.sessionId), [1, 2]);
    assert.equal(reader.buffered, 5);
    const second = reader.push(all.subarray(cut));
    assert.deepEqual(second.frames.map((f) => f.header.sessionId), [3]);
    assert.deepEqual(opened(second.frames[0]!), ps[2]!.body);
    assert.equal(reader.buffered, 0);
  });

  test("frames own their bytes: reusing the pushed chunk does not change them", () => {
    const p = packet(7, "owner");
    const chunk = Buffer.from(p.wire);
    const reader = new FrameReader({ maxBodyLength: 1024 });
    const [frame] = reader.push(chunk).frames;
    chunk.fill(0);
    assert.deepEqual(opened(frame!), p.body);
  });

  test("a zero-length body is a frame (the body decoder rejects it, not the framer)", () => {
    const reader = new FrameReader({ maxBodyLength: 1024 });
    const r = reader.push(header({ length: 0 }));
    assert.equal(r.frames.length, 1);
    assert.equal(r.frames[0]!.rawBody.length, 0);
  });

  test("an oversized length fails at the header, offset of the length field, without waiting for the body", () => {
    const ok = packet(1, "first").wire;
    const reader = new FrameReader({ maxBodyLength: 100 });
    const r = reader.push(Buffer.concat([ok, header({ length: 0xffffffff })]));
    assert.equal(r.frames.length, 1, "the good packet before it still comes out");
    assert.deepEqual(r.failure, { reason: "body-too-large", offset: ok.length + 8 });
    assert.equal(reader.buffered, 0, "nothing is held for the hostile body");
    // Exactly the limit is fine.
    const edge = new FrameReader({ maxBodyLength: 100 });
    assert.equal(edge.push(header({ length: 100 })).failure, undefined);
    assert.equal(edge.buffered, 12);
  });

  test("a bad major version poisons the reader; later pushes return the same failure", () => {
    const reader = new FrameReader({ maxBodyLength: 1024 });
    const r = reader.push(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert.deepEqual(r, { frames: [], failure: { reason: "bad-major-version", offset: 0 } });
    assert.deepEqual(reader.push(packet(1, "late").wire), { frames: [], failure: { reason: "bad-major-version", offset: 0 } });
    assert.equal(reader.buffered, 0);
  });

  test("header failures are reported at their stream offset", () => {
    const ok = packet(1, "first").wire;
    const cases: [Partial<TacacsHeader>, string, number][] = [
      [{ majorVersion: 0xd }, "bad-major-version", 0],
      [{ minorVersion: 5 }, "bad-minor-version", 0],
      [{ type: 7 }, "bad-type", 1],
    ];
    for (const [h, reason, offset] of cases) {
      const reader = new FrameReader({ maxBodyLength: 1024 });
      const bytes = Buffer.concat([ok, header(h)]);
      let failure;
      for (const b of bytes) failure ??= reader.push(Buffer.from([b])).failure;
      assert.deepEqual(failure, { reason, offset: ok.length + offset });
    }
  });

  test("empty chunks are harmless", () => {
    const reader = new FrameReader({ maxBodyLength: 1024 });
    assert.deepEqual(reader.push(Buffer.alloc(0)), { frames: [] });
    assert.equal(reader.buffered, 0);
  });
});
