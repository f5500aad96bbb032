// The session rows SQLite keeps are the pure fold (model/session.ts foldRecord) of the records
// stored under them, in the order they were stored. The store writes a fold with one of three
// UPDATEs (every column; without the user; an interim's narrow one, which leaves status, start,
// stop and terminate cause alone), chosen per record: a column one of them forgot would show
// here as a row that differs from the fold of its own records. Random sessions, out-of-order
// and repeated records, random batch boundaries.

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { AccountingRecord, RecordKind } from "../../src/model/record.ts";
import { foldRecord, type SessionState } from "../../src/model/session.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { T0, SEC, rec } from "./fixtures.ts";

const INTERVAL = 300;

const recordArb = fc.record({
  session: fc.constantFrom("s1", "s2", "s3"),
  kind: fc.constantFrom<RecordKind>("start", "interim", "interim", "interim", "stop"),
  at: fc.integer({ min: 0, max: 600 }),
  octets: fc.option(fc.integer({ min: 0, max: 10_000_000 }), { nil: null }),
  packets: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: null }),
  time: fc.option(fc.integer({ min: 0, max: 600 }), { nil: null }),
  user: fc.constantFrom<string | null>("alice", "alice", null, "bob"),
  framed: fc.constantFrom<string | null>(null, "10.0.0.1", "10.0.0.2"),
  port: fc.constantFrom<string | null>(null, "7", "8"),
  cause: fc.constantFrom<string | null>(null, "User-Request", "Idle-Timeout"),
  interim: fc.constantFrom<number | null>(null, 60, 600),
});

type Drawn = typeof recordArb extends fc.Arbitrary<infer T> ? T : never;

function toRecord(d: Drawn, n: number): AccountingRecord {
  return rec({
    kind: d.kind,
    sessionId: d.session,
    user: d.user,
    eventTime: T0 + d.at * SEC,
    inputOctets: d.octets,
    outputOctets: d.octets === null ? null : d.octets * 3,
    inputPackets: d.packets,
    outputPackets: d.packets,
    sessionTime: d.time,
    framedAddress: d.framed,
    nasPort: d.port,
    terminateCause: d.kind === "stop" ? d.cause : null,
    ...(d.interim === null ? {} : { interimInterval: d.interim }),
    dedupKey: `fold-rows-${n}`,
  });
}

const FIELDS = [
  "protocol", "client", "nas", "user", "sessionId", "status", "startedAt", "updatedAt", "stoppedAt",
  "inputOctets", "outputOctets", "inputPackets", "outputPackets", "sessionTime", "terminateCause",
  "framedAddress", "clientAddress", "nasPort", "interimInterval", "nextUpdateDue",
] as const satisfies readonly (keyof SessionState)[];

test("every session row is the fold of its own records, in the order they were stored", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(recordArb, { minLength: 1, maxLength: 40 }),
      // Indices of records sent again (a NAS's retransmission: same dedupKey).
      fc.array(fc.nat(), { maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 10 }),
      async (drawn, repeats, batchSizes) => {
        const records = drawn.map(toRecord);
        for (const i of repeats) records.splice(i % (records.length + 1), 0, records[i % records.length]!);
        // In memory: the statements are the same as on a file, and 300 runs stay quick.
        const sent = new Map(records.map((r) => [r.dedupKey, r]));
        const store = SqliteStore.open(":memory:");
        try {
          for (let i = 0, b = 0; i < records.length; b++) {
            const size = batchSizes[b % batchSizes.length]!;
            await store.appendRecords(records.slice(i, i + size), INTERVAL);
            i += size;
          }
          const sessions = await store.listSessions({});
          assert.ok(sessions.length > 0, "the records opened at least one session");
          for (const s of sessions) {
            const stored = await store.listRecords(s.id);
            let folded: SessionState | null = null;
            // The records as sent (a stored record does not keep what is only in the fold, such
            // as Acct-Interim-Interval), in the order the store kept them.
            for (const r of stored) folded = foldRecord(folded, sent.get(r.dedupKey)!, INTERVAL);
            assert.ok(folded !== null, `session ${s.id} has no records`);
            for (const f of FIELDS) assert.deepEqual(s[f], folded[f], `session ${s.id} (${s.sessionId}) ${f}`);
          }
        } finally {
          await store.close();
        }
      },
    ),
    { numRuns: 300 },
  );
});
