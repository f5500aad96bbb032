// Property tests for the management parser: it never throws, and how the bytes are cut
// into chunks never changes the events.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { ManagementParser } from "../../src/openvpn/management-codec.ts";
import type { ManagementEvent } from "../../src/openvpn/management-codec.ts";

const session = readFileSync(fileURLToPath(new URL("./vectors/full-session.txt", import.meta.url)));

/** Lines that look like the protocol, so the generators reach the interesting states. */
const protoLine = fc.oneof(
  fc.constantFrom(
    ">CLIENT:CONNECT,1,0", ">CLIENT:REAUTH,1,2", ">CLIENT:ESTABLISHED,1", ">CLIENT:DISCONNECT,1",
    ">CLIENT:ENV,a=b", ">CLIENT:ENV,x=y=z,w", ">CLIENT:ENV,END", ">CLIENT:ADDRESS,1,10.0.0.2,1",
    ">BYTECOUNT_CLI:1,2,3", ">BYTECOUNT:4,5", ">INFO:hi", ">STATE:1,CONNECTED", ">LOG:1,I,m,n",
    "SUCCESS: ok", "ERROR: no", "END", "TITLE\tx", "", ">", ">:", ">CLIENT:", ">CLIENT:ENV,",
  ),
  fc.string({ maxLength: 40 }),
);

const streamArb = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
  fc.array(fc.tuple(protoLine, fc.constantFrom("\n", "\r\n", "\r", "")), { maxLength: 40 })
    .map((ls) => Buffer.from(ls.map(([l, e]) => l + e).join(""), "utf8")),
);

/** Cut points, as fractions, turned into chunk boundaries of the buffer. */
function chunk(buf: Buffer, cuts: number[]): Buffer[] {
  const pos = [...new Set(cuts.map((c) => Math.floor(c * buf.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...pos, buf.length]) {
    out.push(buf.subarray(prev, p)); // empty chunks included on purpose
    prev = p;
  }
  return out;
}

function runAll(chunks: Buffer[], maxLineLength: number, multiline: number): ManagementEvent[] {
  const p = new ManagementParser({ maxLineLength });
  for (let i = 0; i < multiline; i++) p.expectMultiline();
  const evs: ManagementEvent[] = [];
  for (const c of chunks) evs.push(...p.push(c));
  evs.push(...p.end());
  return evs;
}

const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 });

test("the parser never throws, and chunking never changes the events", () => {
  fc.assert(
    fc.property(streamArb, cutsArb, fc.integer({ min: 8, max: 200 }), fc.integer({ min: 0, max: 3 }), (buf, cuts, max, ml) => {
      const one = runAll([buf], max, ml);
      const many = runAll(chunk(buf, cuts), max, ml);
      assert.deepEqual(many, one, "same events");
      // String chunks of the same text (when it is valid UTF-8 end to end) agree too.
      const text = buf.toString("utf8");
      if (Buffer.from(text, "utf8").equals(buf)) {
        const p = new ManagementParser({ maxLineLength: max });
        for (let i = 0; i < ml; i++) p.expectMultiline();
        const strEvents = [...p.push(text), ...p.end()];
        assert.deepEqual(strEvents, one, "string input");
      }
    }),
    { numRuns: 1500 },
  );
});

test("the real session transcript gives the same events under arbitrary chunking", () => {
  const ref = runAll([session], 65536, 0);
  // 9 CLIENT blocks with ENV plus 2 >CLIENT:ADDRESS lines.
  assert.equal(ref.filter((e) => e.type === "client").length, 11, "11 CLIENT events in the session");
  fc.assert(
    fc.property(cutsArb, (cuts) => {
      assert.deepEqual(runAll(chunk(session, cuts), 65536, 0), ref, "same events");
    }),
    { numRuns: 300 },
  );
});

test("every generated event is well-formed", () => {
  fc.assert(
    fc.property(streamArb, (buf) => {
      for (const e of runAll([buf], 64, 1)) {
        if (e.type === "client") {
          assert.ok(Number.isSafeInteger(e.cid) && e.cid >= 0, "cid is a non-negative integer");
          assert.ok(e.kid === null || Number.isSafeInteger(e.kid), "kid is null or an integer");
        }
        if (e.type === "bytecount") {
          assert.ok(Number.isSafeInteger(e.bytesIn) && Number.isSafeInteger(e.bytesOut), "counts are integers");
        }
        if (e.type === "malformed") assert.ok(e.line.length <= 200 || e.reason !== "", "reason given");
      }
    }),
    { numRuns: 500 },
  );
});
