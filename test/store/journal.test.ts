// The spool journal: its framing (fast-check properties: round trip, a cut tail yields exactly
// the complete frames, a flipped byte is caught) and the file (fsync before an append
// resolves, concurrent appends share one fdatasync, the replay position and a torn tail
// survive reopening).

import assert from "node:assert/strict";
import fs from "node:fs";
import fsp from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import type { AccountingRecord } from "../../src/model/record.ts";
import { decodeBatch, decodeFrame, encodeBatch, encodeReplayed, scanFrames, type Frame } from "../../src/store/journal-codec.ts";
import { Journal } from "../../src/store/journal.ts";
import { rec, T0, tempDir, type TempDir } from "./fixtures.ts";

const RUNS = 150;

const text = fc.string({ unit: "binary", maxLength: 40 });
const counter = fc.option(fc.nat({ max: Number.MAX_SAFE_INTEGER }), { nil: null });
const record: fc.Arbitrary<AccountingRecord> = fc
  .record({
    kind: fc.constantFrom("start", "interim", "stop", "on", "off"),
    sessionId: text,
    user: fc.option(text, { nil: null }),
    inputOctets: counter,
    outputOctets: counter,
    sessionTime: counter,
    eventTime: fc.integer({ min: T0, max: T0 + 1e10 }),
    attributes: fc.array(fc.record({ name: text, value: fc.oneof(text, fc.nat()) }).map((a) => ({ ...a })), { maxLength: 5 }),
    dedupKey: text,
  })
  .map((f) => rec({ ...f }));

type Spec = { kind: "batch"; interval: number | null; records: AccountingRecord[] } | { kind: "replayed" };
/** fc.record builds null-prototype objects; deepEqual wants plain ones. */
const spec: fc.Arbitrary<Spec> = fc
  .oneof(
    fc.record({ kind: fc.constant("batch" as const), interval: fc.option(fc.nat({ max: 86400 }), { nil: null }), records: fc.array(record, { maxLength: 4 }) }),
    fc.record({ kind: fc.constant("replayed" as const) }),
  )
  .map((s): Spec => ({ ...s }));

/** Specs as frames numbered 1, 2, ... (their seq), concatenated; and where each starts. */
function encodeAll(specs: Spec[]): { buf: Buffer; starts: number[]; sizes: number[] } {
  const parts = specs.map((s, i) => (s.kind === "batch" ? encodeBatch(i + 1, s.interval, s.records) : encodeReplayed(i + 1)));
  const starts: number[] = [];
  let at = 0;
  for (const p of parts) {
    starts.push(at);
    at += p.length;
  }
  return { buf: Buffer.concat(parts), starts, sizes: parts.map((p) => p.length) };
}

/** What a decoded frame says, in the shape of a Spec. */
function asSpec(f: Frame): Spec {
  if (f.kind === "replayed") return { kind: "replayed" };
  const b = decodeBatch(f);
  assert.ok(b !== null, `batch ${f.seq} decodes`);
  return { kind: "batch", interval: b.interval, records: b.records };
}

describe("journal framing", () => {
  test("property: frames round-trip in order, with their seq and record count", () => {
    fc.assert(
      fc.property(fc.array(spec, { maxLength: 8 }), (specs) => {
        const { buf } = encodeAll(specs);
        const scan = scanFrames(buf);
        assert.equal(scan.stopped, null);
        assert.equal(scan.end, buf.length);
        assert.deepEqual(scan.frames.map((f) => f.seq), specs.map((_, i) => i + 1));
        assert.deepEqual(scan.frames.map((f) => f.count), specs.map((s) => (s.kind === "batch" ? s.records.length : 0)));
        assert.deepEqual(scan.frames.map(asSpec), specs);
      }),
      { numRuns: RUNS },
    );
  });

  test("property: any cut of the tail yields exactly the frames wholly before the cut", () => {
    fc.assert(
      fc.property(
        fc.array(spec, { minLength: 1, maxLength: 6 }).chain((specs) => {
          const { buf } = encodeAll(specs);
          return fc.tuple(fc.constant(specs), fc.integer({ min: 0, max: buf.length - 1 }));
        }),
        ([specs, cut]) => {
          const { buf, starts, sizes } = encodeAll(specs);
          const whole = starts.filter((s, i) => s + sizes[i]! <= cut).length;
          const scan = scanFrames(buf.subarray(0, cut));
          assert.equal(scan.frames.length, whole);
          assert.deepEqual(scan.frames.map(asSpec), specs.slice(0, whole));
          const end = whole === 0 ? 0 : starts[whole - 1]! + sizes[whole - 1]!;
          assert.equal(scan.end, end);
          // A cut inside a frame is a short header or a short body, never a bad checksum.
          assert.equal(scan.stopped, cut === end ? null : cut - end < 8 ? "short-header" : "short-body");
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("property: a flipped byte is detected; the frames before it are intact", () => {
    fc.assert(
      fc.property(
        fc.array(spec, { minLength: 1, maxLength: 6 }).chain((specs) => {
          const { buf } = encodeAll(specs);
          return fc.tuple(fc.constant(specs), fc.integer({ min: 0, max: buf.length - 1 }), fc.integer({ min: 1, max: 255 }));
        }),
        ([specs, at, xor]) => {
          const { buf, starts, sizes } = encodeAll(specs);
          buf[at]! ^= xor;
          const hit = starts.findIndex((s, i) => at >= s && at < s + sizes[i]!);
          const scan = scanFrames(buf);
          assert.notEqual(scan.stopped, null, `flip at ${at} (frame ${hit}) went unnoticed`);
          assert.equal(scan.frames.length, hit);
          assert.deepEqual(scan.frames.map(asSpec), specs.slice(0, hit));
          assert.equal(scan.end, starts[hit]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("property: decoding arbitrary bytes never throws", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const r = decodeFrame(buf);
        const scan = scanFrames(buf);
        assert.ok(scan.end <= buf.length, "scan.end within the buffer");
        if (r.ok) assert.ok(scan.frames.length >= 1, "a decodable first frame is scanned");
      }),
      { numRuns: RUNS * 3 },
    );
  });

  test("a length field beyond the limit is corruption, not a frame to wait for", () => {
    const buf = Buffer.alloc(16);
    buf.writeUInt32BE(0xffffffff, 0);
    assert.deepEqual(decodeFrame(buf), { ok: false, reason: "bad-length" });
  });
});

describe("journal file", () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir();
  });
  after(() => tmp.cleanup());

  const batch = (n: number, size = 3) =>
    Array.from({ length: size }, (_, i) => rec({ kind: "interim", sessionId: `j-${n}`, inputOctets: i, dedupKey: `j-${n}-${i}` }));

  test("an append resolves only after its fdatasync has completed", async () => {
    const { journal } = await Journal.open(tmp.file("order.journal"));
    const events: string[] = [];
    // The FileHandle class is not exported: reach its prototype through an open handle.
    const probe = await fsp.open(tmp.file("order.journal"), "r");
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const original = proto.datasync;
    proto.datasync = async function (this: unknown) {
      events.push("datasync start");
      await new Promise((r) => setTimeout(r, 30));
      await original.call(this);
      events.push("datasync end");
    };
    try {
      await journal.append(batch(1), 600).then(() => events.push("append resolved"));
    } finally {
      proto.datasync = original;
    }
    assert.deepEqual(events, ["datasync start", "datasync end", "append resolved"]);
    await journal.close();
  });

  test("appends made together share one write and one fdatasync", async () => {
    const { journal } = await Journal.open(tmp.file("group.journal"));
    const probe = await fsp.open(tmp.file("group.journal"), "r");
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const original = proto.datasync;
    let syncs = 0;
    proto.datasync = function (this: unknown) {
      syncs++;
      return original.call(this);
    };
    try {
      await Promise.all(Array.from({ length: 50 }, (_, n) => journal.append(batch(n), 600)));
    } finally {
      proto.datasync = original;
    }
    // The first append is written at once; the 49 that arrive meanwhile go in one more write.
    assert.equal(syncs, 2);
    assert.equal(journal.depth, 150);
    const read = await journal.readPending(1_000_000);
    assert.deepEqual(
      read.map((b) => ("records" in b ? b.records[0]!.sessionId : "unreadable")),
      Array.from({ length: 50 }, (_, n) => `j-${n}`),
    );
    await journal.close();
  });

  test("reopened, the journal has what was appended and not replayed, in order; fully replayed, it is emptied", async () => {
    const file = tmp.file("reopen.journal");
    {
      const { journal, recovery } = await Journal.open(file);
      assert.deepEqual(recovery, { records: 0, batches: 0, torn: null });
      // Batches 0..4 get seq 1..5; the first two are replayed.
      for (let n = 0; n < 5; n++) await journal.append(batch(n), n === 4 ? null : 600);
      await journal.markReplayed(2);
      assert.equal(journal.depth, 9);
      await journal.close();
    }
    {
      const { journal, recovery } = await Journal.open(file);
      assert.deepEqual(recovery, { records: 9, batches: 3, torn: null });
      const read = await journal.readPending(1_000_000);
      assert.deepEqual(read.map((b) => b.seq), [3, 4, 5]);
      assert.deepEqual(read.map((b) => ("records" in b ? [b.interval, b.records] : null)), [
        [600, batch(2)],
        [600, batch(3)],
        [null, batch(4)],
      ]);
      // At least one batch, then only what fits.
      assert.deepEqual((await journal.readPending(1)).map((b) => b.seq), [3]);
      assert.deepEqual((await journal.readPending(6)).map((b) => b.seq), [3, 4]);
      // Appends go on after what was there, with later seqs.
      await journal.append(batch(9), 600);
      assert.deepEqual((await journal.readPending(100)).map((b) => b.seq), [3, 4, 5, 6]);
      await journal.markReplayed(6);
      assert.equal(journal.depth, 0);
      await journal.close();
    }
    assert.equal(fs.statSync(file).size, 0, "a fully replayed journal is truncated");
    const { recovery } = await Journal.open(file).then(async (o) => (await o.journal.close(), o));
    assert.deepEqual(recovery, { records: 0, batches: 0, torn: null });
  });

  test("thousands of batches: replayed ones are dropped from the front in order, pending ones read back right", async () => {
    const file = tmp.file("many.journal");
    const { journal } = await Journal.open(file);
    const one = (n: number) => [rec({ kind: "interim", sessionId: `m-${n}`, dedupKey: `m-${n}` })];
    await Promise.all(Array.from({ length: 3000 }, (_, n) => journal.append(one(n), 600)));
    assert.equal(journal.batches, 3000);
    const started = performance.now();
    for (let seq = 1; seq <= 1500; seq++) await journal.markReplayed(seq);
    const ms = performance.now() - started;
    assert.equal(journal.batches, 1500);
    assert.equal(journal.depth, 1500);
    const next = await journal.readPending(3);
    assert.deepEqual(next.map((b) => ("records" in b ? b.records[0]!.sessionId : null)), ["m-1500", "m-1501", "m-1502"]);
    await journal.markReplayed(2999);
    assert.deepEqual((await journal.readPending(10)).map((b) => b.seq), [3000]);
    await journal.markReplayed(3000);
    assert.equal(journal.batches, 0);
    await journal.close();
    assert.equal(fs.statSync(file).size, 0, "emptied");
    process.stdout.write(`# 1500 markReplayed calls in ${ms.toFixed(0)} ms\n`);
  });

  test("a torn last frame (a crash mid-write) is cut off; the complete frames before it stay", async () => {
    const file = tmp.file("torn.journal");
    {
      const { journal } = await Journal.open(file);
      for (let n = 0; n < 3; n++) await journal.append(batch(n), 600);
      await journal.close();
    }
    const complete = fs.statSync(file).size;
    const fourth = encodeBatch(4, 600, batch(3));
    fs.appendFileSync(file, fourth.subarray(0, Math.floor(fourth.length / 2)));
    const { journal, recovery } = await Journal.open(file);
    assert.deepEqual(recovery, { records: 9, batches: 3, torn: { offset: complete, bytes: Math.floor(fourth.length / 2), reason: "short-body" } });
    assert.equal(fs.statSync(file).size, complete, "the torn tail is truncated");
    assert.deepEqual((await journal.readPending(100)).map((b) => b.seq), [1, 2, 3]);
    // The next append goes where the torn frame was, and reads back whole.
    await journal.append(batch(7), 600);
    await journal.close();
    const again = await Journal.open(file);
    assert.deepEqual(again.recovery, { records: 12, batches: 4, torn: null });
    assert.deepEqual((await again.journal.readPending(100)).map((b) => ("records" in b ? b.records[0]!.sessionId : null)), ["j-0", "j-1", "j-2", "j-7"]);
    await again.journal.close();
  });

  test("garbage after the last frame is cut off as corrupt", async () => {
    const file = tmp.file("garbage.journal");
    {
      const { journal } = await Journal.open(file);
      await journal.append(batch(0), 600);
      await journal.close();
    }
    const complete = fs.statSync(file).size;
    fs.appendFileSync(file, Buffer.from("0000001c deadbeef this is not a frame at all", "latin1"));
    const { journal, recovery } = await Journal.open(file);
    assert.equal(recovery.records, 3);
    assert.equal(recovery.torn?.offset, complete);
    assert.ok(["bad-length", "short-body", "bad-checksum"].includes(recovery.torn?.reason ?? ""), `reason ${recovery.torn?.reason}`);
    assert.equal(fs.statSync(file).size, complete, "the garbage is truncated");
    await journal.close();
  });

  test("a journal larger than one read chunk is read whole", async () => {
    const file = tmp.file("large.journal");
    const big = (n: number) => [rec({ kind: "interim", sessionId: `big-${n}`, attributes: [{ name: "Class", value: "x".repeat(300_000) }], dedupKey: `big-${n}` })];
    {
      const { journal } = await Journal.open(file);
      for (let n = 0; n < 30; n++) await journal.append(big(n), 600);
      await journal.close();
    }
    assert.ok(fs.statSync(file).size > 8 * 1024 * 1024, "the file spans several 4 MiB chunks");
    const { journal, recovery } = await Journal.open(file);
    assert.deepEqual(recovery, { records: 30, batches: 30, torn: null });
    const read = await journal.readPending(1_000_000);
    assert.deepEqual(read.map((b) => ("records" in b ? b.records[0]!.sessionId : null)), Array.from({ length: 30 }, (_, n) => `big-${n}`));
    await journal.close();
  });
});
