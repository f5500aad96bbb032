// The store's side of stale sessions (issue 8), on both stores (a real SQLite file and a real
// PostgreSQL server): reapOverdue's boundary (last update + interval x 2 + grace), what a stale
// session looks like, what records that arrive after the reaper do (stored, never reopening),
// and prune.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isOverdue } from "../../src/model/session.ts";
import type { Store } from "../../src/store/store.ts";
import { BACKENDS, withBackendStore, type Backdoor } from "./backends.ts";
import { MIN, SEC, T0, rec } from "./fixtures.ts";

const GRACE = 30 * SEC;
/** The first instant at which a session last updated at `at`, every `interval` s, is stale. */
const staleAfter = (at: number, interval: number) => at + 2 * interval * SEC + GRACE;

for (const backend of BACKENDS) {
  describe(`stale sessions: ${backend.name}`, { skip: backend.skip }, () => {
    before(() => backend.setup());
    after(() => backend.teardown());
    const withStore = (fn: (store: Store, db: Backdoor) => Promise<void>) => withBackendStore(backend, fn);

    describe("reapOverdue", () => {
      test("not reaped at exactly last update + interval x 2 + grace; reaped 1 ms later", () =>
        withStore(async (store) => {
          const [start] = await store.appendRecords([rec({ kind: "start", interimInterval: 60 })], null);
          await store.appendRecords([rec({ kind: "interim", eventTime: T0 + MIN, inputOctets: 100, sessionTime: 60 })], null);
          const last = T0 + MIN;

          assert.deepEqual(await store.reapOverdue(staleAfter(last, 60), GRACE), [], "at the boundary the session is still open");
          assert.equal((await store.getSession(start!.sessionPk!))!.status, "open");

          const reaped = await store.reapOverdue(staleAfter(last, 60) + 1, GRACE);
          assert.deepEqual(reaped.map((s) => s.id), [start!.sessionPk]);
          assert.equal(reaped[0]!.status, "stale");
        }));

      test("the grace counts: with a larger grace the same silence is not yet stale", () =>
        withStore(async (store) => {
          await store.appendRecords([rec({ kind: "start", interimInterval: 60 })], null);
          const now = T0 + 2 * MIN + GRACE + 1;
          assert.deepEqual(await store.reapOverdue(now, GRACE + 1), [], "grace + 1 ms: not stale");
          assert.equal((await store.reapOverdue(now, GRACE)).length, 1, "grace: stale");
        }));

      test("with `since`, silence before it does not count: since + interval x 2 + grace must have passed too", () =>
        withStore(async (store) => {
          await store.appendRecords([rec({ kind: "start", sessionId: "before-outage", interimInterval: 60 })], null);
          const since = T0 + 60 * MIN; // the server came back an hour later
          const [after] = await store.appendRecords([rec({ kind: "start", sessionId: "after-outage", interimInterval: 60, eventTime: since + 10 * SEC })], null);
          assert.deepEqual(await store.reapOverdue(staleAfter(since, 60), GRACE, since), [], "at since + interval x 2 + grace: nothing");
          const reaped = await store.reapOverdue(staleAfter(since, 60) + 1, GRACE, since);
          assert.deepEqual(reaped.map((s) => s.sessionId), ["before-outage"], "1 ms later the one silent since before the outage");
          assert.equal(reaped[0]!.stoppedAt, T0, "still stopped at its real last update");
          assert.equal((await store.getSession(after!.sessionPk!))!.status, "open", "a session updated after since follows its own last update");
          assert.equal((await store.reapOverdue(staleAfter(since + 10 * SEC, 60) + 1, GRACE, since)).length, 1, "and is reaped by it");
        }));

      test("sessions without an interval (null or 0) are never reaped", () =>
        withStore(async (store) => {
          // null: no default and none on the record; 0: the record's interval says no updates.
          const [none] = await store.appendRecords([rec({ kind: "start", sessionId: "no-interval" })], null);
          const [zero] = await store.appendRecords([rec({ kind: "start", sessionId: "zero", interimInterval: 0 })], 300);
          // A plugin (or CoA) that sets 0 stops updates on a session that had an interval.
          const [stopped] = await store.appendRecords([rec({ kind: "start", sessionId: "set-to-zero", interimInterval: 60 })], null);
          await store.updateSessionControl(stopped!.sessionPk!, { interimInterval: 0 });

          const years = T0 + 10 * 365 * 24 * 60 * MIN;
          assert.deepEqual(await store.reapOverdue(years, 0), [], "nothing without an interval is ever stale");
          for (const r of [none, zero, stopped]) {
            const s = (await store.getSession(r!.sessionPk!))!;
            assert.equal(s.status, "open", `${s.sessionId} stays open`);
            assert.equal(s.nextUpdateDue, null, `${s.sessionId} has no update due`);
          }
          assert.equal((await store.getSession(none!.sessionPk!))!.interimInterval, null);
          assert.equal((await store.getSession(zero!.sessionPk!))!.interimInterval, 0);
        }));

      test("a stale session: stopped at its last update, Lost-Service, a note saying why; counters kept", () =>
        withStore(async (store) => {
          const [start] = await store.appendRecords([rec({ kind: "start", interimInterval: 60, framedAddress: "10.0.0.9" })], null);
          await store.appendRecords([rec({ kind: "interim", eventTime: T0 + MIN, inputOctets: 5000, outputOctets: 7000, sessionTime: 60 })], null);
          const now = T0 + 10 * MIN;
          const [reaped] = await store.reapOverdue(now, GRACE);
          const stored = (await store.getSession(start!.sessionPk!))!;
          assert.deepEqual(stored, reaped, "what reapOverdue returns is what it stored");
          assert.equal(stored.status, "stale");
          assert.equal(stored.stoppedAt, T0 + MIN, "stopped at the last update, not at the reaper's time");
          assert.equal(stored.updatedAt, T0 + MIN, "the reaper is not an update from the NAS");
          assert.equal(stored.terminateCause, "Lost-Service");
          assert.equal(stored.nextUpdateDue, null);
          assert.equal(stored.note, "stale: no update for 540 s (expected every 60 s); closed by Tally's reaper");
          assert.deepEqual(
            [stored.inputOctets, stored.outputOctets, stored.sessionTime, stored.framedAddress],
            [5000, 7000, 60, "10.0.0.9"],
            "totals and addresses as the last record left them",
          );
        }));

      test("a note already on the session is kept, the reaper's reason appended", () =>
        withStore(async (store) => {
          const [start] = await store.appendRecords([rec({ kind: "start", interimInterval: 60 })], null);
          await store.updateSessionControl(start!.sessionPk!, { note: "from status 3" });
          const [reaped] = await store.reapOverdue(T0 + 5 * MIN, GRACE);
          assert.match(reaped!.note ?? "", /^from status 3; stale: no update for 300 s \(expected every 60 s\)/);
        }));

      test("a run after a run closes nothing more; only overdue sessions are taken, in id order", () =>
        withStore(async (store) => {
          const [a] = await store.appendRecords([rec({ kind: "start", sessionId: "a", interimInterval: 60 })], null);
          const [b] = await store.appendRecords([rec({ kind: "start", sessionId: "b", interimInterval: 60 })], null);
          const [fresh] = await store.appendRecords([rec({ kind: "start", sessionId: "fresh", interimInterval: 60, eventTime: T0 + 4 * MIN })], null);
          const [stopped] = await store.appendRecords([rec({ kind: "start", sessionId: "stopped", interimInterval: 60 })], null);
          await store.appendRecords([rec({ kind: "stop", sessionId: "stopped", eventTime: T0 + 30 * SEC, terminateCause: "User-Request" })], null);

          const now = T0 + 5 * MIN;
          const first = await store.reapOverdue(now, GRACE);
          assert.deepEqual(first.map((s) => s.id), [a!.sessionPk, b!.sessionPk], "the two silent sessions, not the fresh or stopped one");
          assert.deepEqual(await store.reapOverdue(now, GRACE), [], "the second run finds nothing");
          assert.deepEqual(await store.reapOverdue(now + 1000, GRACE), [], "nor a moment later");
          assert.equal((await store.getSession(fresh!.sessionPk!))!.status, "open");
          const closed = (await store.getSession(stopped!.sessionPk!))!;
          assert.deepEqual([closed.status, closed.terminateCause], ["closed", "User-Request"], "a closed session is left alone");
        }));

      test("isOverdue (what `tally reap --dry-run` lists) picks exactly the sessions reapOverdue closes", () =>
        withStore(async (store) => {
          const intervals = [null, 0, 1, 30, 60, 300];
          let i = 0;
          for (const interval of intervals) {
            for (const age of [0, 59, 60, 61, 119, 120, 121, 150, 600, 630, 631, 700]) {
              const fields = interval === null ? {} : { interimInterval: interval };
              await store.appendRecords([rec({ kind: "start", sessionId: `o${i++}`, eventTime: T0 - age * SEC, ...fields })], null);
            }
          }
          const now = T0 + 1;
          // With `since` 200 s before now, then without: each pass takes some but not all.
          for (const since of [now - 200 * SEC, undefined]) {
            const open = await store.listSessions({ status: "open", limit: 1000 });
            const predicted = open.filter((s) => isOverdue(s, now, GRACE, since)).map((s) => s.id).sort((a, b) => a - b);
            const reaped = (await store.reapOverdue(now, GRACE, since)).map((s) => s.id);
            assert.ok(predicted.length > 0 && predicted.length < open.length, `some but not all overdue (${predicted.length} of ${open.length}, since ${since})`);
            assert.deepEqual(reaped, predicted);
          }
        }));

      test("two reapers on one database (two threads or two connections, as two nodes would be) close each session once", () =>
        withStore(async (store, db) => {
          for (let i = 0; i < 200; i++) await store.appendRecords([rec({ kind: "start", sessionId: `m${i}`, interimInterval: 60 })], null);
          const [one, two] = await Promise.all([db.openOtherThread(), db.openOtherThread()]);
          try {
            const now = T0 + 5 * MIN;
            const [x, y] = await Promise.all([one.reapOverdue(now, GRACE), two.reapOverdue(now, GRACE)]);
            assert.equal(x.length + y.length, 200, `every session reaped exactly once (${x.length} + ${y.length})`);
            assert.equal(new Set([...x, ...y].map((s) => s.id)).size, 200, "no session reaped by both");
            assert.equal((await store.listSessions({ status: "stale" })).length, 200);
          } finally {
            await Promise.all([one.close(), two.close()]);
          }
        }));
    });

    describe("records after the reaper", () => {
      /** A session reaped as stale after Start at T0 and one interim at T0+1min (100/200 octets). */
      async function reapedSession(store: Store): Promise<number> {
        const [start] = await store.appendRecords([rec({ kind: "start", interimInterval: 60 })], null);
        await store.appendRecords([rec({ kind: "interim", eventTime: T0 + MIN, inputOctets: 100, outputOctets: 200, sessionTime: 60 })], null);
        const reaped = await store.reapOverdue(T0 + 10 * MIN, GRACE);
        assert.equal(reaped.length, 1, "the session was reaped");
        return start!.sessionPk!;
      }

      test("a late interim is stored in the stale session and changes neither status nor totals", () =>
        withStore(async (store) => {
          const pk = await reapedSession(store);
          const before = (await store.getSession(pk))!;
          const [late] = await store.appendRecords(
            [rec({ kind: "interim", eventTime: T0 + 11 * MIN, inputOctets: 9_000, outputOctets: 9_500, sessionTime: 660 })],
            null,
          );
          assert.equal(late!.sessionPk, pk, "the late interim belongs to the stale session");
          assert.equal(late!.duplicate, false, "it is a new record, stored");
          const records = await store.listRecords(pk);
          assert.deepEqual(records.map((r) => r.kind), ["start", "interim", "interim"]);
          assert.equal(records[2]!.inputOctets, 9_000, "the record is kept as received");
          assert.deepEqual(await store.getSession(pk), before, "the session is exactly as the reaper left it");
          // Its usage is what the session counted: the late record adds nothing.
          const usage = await store.usage("alice", null);
          assert.deepEqual([usage.inputOctets, usage.outputOctets, usage.sessionTime], [100, 200, 60]);
        }));

      test("a Stop after the reaper is stored and does not reopen or re-close the session", () =>
        withStore(async (store) => {
          const pk = await reapedSession(store);
          const before = (await store.getSession(pk))!;
          const [stop] = await store.appendRecords(
            [rec({ kind: "stop", eventTime: T0 + 12 * MIN, inputOctets: 10_000, sessionTime: 720, terminateCause: "User-Request" })],
            null,
          );
          assert.equal(stop!.sessionPk, pk);
          assert.deepEqual((await store.listRecords(pk)).map((r) => r.kind), ["start", "interim", "stop"]);
          const after = (await store.getSession(pk))!;
          assert.deepEqual(after, before, "still stale, Lost-Service, stopped at the last update before the reaper");
          assert.equal(after.status, "stale");
          assert.equal(after.terminateCause, "Lost-Service");
        }));

      test("a Start reusing the Acct-Session-Id later starts a new session", () =>
        withStore(async (store) => {
          const pk = await reapedSession(store);
          const [start] = await store.appendRecords([rec({ kind: "start", eventTime: T0 + 20 * MIN, interimInterval: 60 })], null);
          assert.notEqual(start!.sessionPk, pk, "a new session");
          const fresh = (await store.getSession(start!.sessionPk!))!;
          assert.deepEqual([fresh.status, fresh.sessionId, fresh.startedAt, fresh.inputOctets], ["open", "sess-1", T0 + 20 * MIN, 0]);
          assert.equal((await store.getSession(pk))!.status, "stale", "the old one stays stale");
          // An interim of the new session goes to the new session.
          const [interim] = await store.appendRecords([rec({ kind: "interim", eventTime: T0 + 21 * MIN, inputOctets: 1 })], null);
          assert.equal(interim!.sessionPk, start!.sessionPk);
        }));

      test("a late interim through the open-session cache of the connection that reaped", () =>
        withStore(async (store) => {
          // The cache holds the open session after Start and interim; the reaper must drop it there,
          // or the late interim would fold into a cached open copy.
          const pk = await reapedSession(store);
          await store.appendRecords([rec({ kind: "interim", eventTime: T0 + 11 * MIN, inputOctets: 5_000, sessionTime: 660 })], null);
          const s = (await store.getSession(pk))!;
          assert.deepEqual([s.status, s.inputOctets, s.sessionTime], ["stale", 100, 60]);
        }));

      test("a late interim in a process that cached the session open before another process reaped it", () =>
        withStore(async (store, db) => {
          const [start] = await store.appendRecords([rec({ kind: "start", interimInterval: 60 })], null);
          await store.appendRecords([rec({ kind: "interim", eventTime: T0 + MIN, inputOctets: 100, sessionTime: 60 })], null);
          const reaper = await db.openOther();
          try {
            assert.equal((await reaper.reapOverdue(T0 + 10 * MIN, GRACE)).length, 1, "reaped by the other connection");
          } finally {
            await reaper.close();
          }
          await store.appendRecords([rec({ kind: "interim", eventTime: T0 + 11 * MIN, inputOctets: 5_000, sessionTime: 660 })], null);
          const s = (await store.getSession(start!.sessionPk!))!;
          assert.deepEqual([s.status, s.inputOctets, s.sessionTime], ["stale", 100, 60]);
        }));
    });

    describe("prune", () => {
      test("removes records received before the date and closed or stale sessions left empty; never open sessions or later records", () =>
        withStore(async (store, db) => {
          const DAY = 24 * 60 * MIN;
          const cutoff = T0 + 10 * DAY;
          // closed before the cutoff: goes entirely.
          await store.appendRecords([rec({ kind: "start", sessionId: "old-closed" })], null);
          await store.appendRecords([rec({ kind: "stop", sessionId: "old-closed", eventTime: T0 + MIN })], null);
          // stale before the cutoff: goes entirely.
          await store.appendRecords([rec({ kind: "start", sessionId: "old-stale", interimInterval: 60 })], null);
          assert.equal((await store.reapOverdue(T0 + DAY, GRACE)).length, 1, "old-stale reaped");
          // open since before the cutoff: keeps the session, loses its old records.
          const [open] = await store.appendRecords([rec({ kind: "start", sessionId: "open", interimInterval: 0 })], null);
          await store.appendRecords([rec({ kind: "interim", sessionId: "open", eventTime: cutoff + DAY, inputOctets: 1 })], null);
          // closed, started before the cutoff, stopped after it: keeps the session and its stop.
          const [straddle] = await store.appendRecords([rec({ kind: "start", sessionId: "straddle" })], null);
          await store.appendRecords([rec({ kind: "stop", sessionId: "straddle", eventTime: cutoff + MIN })], null);
          // closed exactly at the cutoff: nothing of it is before the date.
          const [edge] = await store.appendRecords([rec({ kind: "start", sessionId: "edge", eventTime: cutoff })], null);
          await store.appendRecords([rec({ kind: "stop", sessionId: "edge", eventTime: cutoff })], null);
          // unattached (Accounting-On) before and after.
          await store.appendRecords([rec({ kind: "on", eventTime: T0 + 2 * DAY, nas: "nas-z" })], null);
          await store.appendRecords([rec({ kind: "on", eventTime: cutoff + 2 * DAY, nas: "nas-z" })], null);

          const result = await store.prune(cutoff);
          // records: old-closed 2, old-stale 1, open's start 1, straddle's start 1, first On 1.
          assert.deepEqual(result, { records: 6, sessions: 2 });

          const left = await store.listSessions({});
          assert.deepEqual(left.map((s) => s.sessionId).sort(), ["edge", "open", "straddle"]);
          assert.equal((await store.getSession(open!.sessionPk!))!.status, "open");
          assert.deepEqual((await store.listRecords(open!.sessionPk!)).map((r) => r.kind), ["interim"]);
          assert.deepEqual((await store.listRecords(straddle!.sessionPk!)).map((r) => r.kind), ["stop"]);
          assert.deepEqual((await store.listRecords(edge!.sessionPk!)).map((r) => r.kind), ["start", "stop"]);
          assert.equal(await db.countRecords(), 5, "interim of open, stop of straddle, edge's two, the later On");

          assert.deepEqual(await store.prune(cutoff), { records: 0, sessions: 0 }, "pruning again removes nothing");
        }));

      test("works through more rows than one transaction takes, up to the last id", () =>
        withStore(async (store, db) => {
          // 12,500 closed sessions (25,000 records: several of prune's windows), one a second; the
          // newest record, an Accounting-On, is old, so the last window must reach the last id.
          const batch = [];
          for (let i = 0; i < 12_500; i++) {
            batch.push(rec({ kind: "start", sessionId: `w${i}`, eventTime: T0 + i * SEC }));
            batch.push(rec({ kind: "stop", sessionId: `w${i}`, eventTime: T0 + i * SEC + 500 }));
          }
          await store.appendRecords(batch, null);
          await store.appendRecords([rec({ kind: "on", nas: "nas-z", eventTime: T0 })], null);
          const result = await store.prune(T0 + 12_000 * SEC);
          assert.deepEqual(result, { records: 24_001, sessions: 12_000 });
          const left = await store.listSessions({ limit: 100_000 });
          assert.equal(left.length, 500);
          assert.equal(left.at(-1)!.sessionId, "w12000", "the oldest session left is the first at the date");
          assert.equal(await db.countRecords(), 1000);
        }));

      test("an open session with no records left is still never removed", () =>
        withStore(async (store) => {
          const [open] = await store.appendRecords([rec({ kind: "start", sessionId: "quiet", interimInterval: 0 })], null);
          const result = await store.prune(T0 + 60 * MIN);
          assert.deepEqual(result, { records: 1, sessions: 0 });
          assert.equal((await store.getSession(open!.sessionPk!))!.status, "open");
          // An update after the prune still folds into it.
          await store.appendRecords([rec({ kind: "interim", sessionId: "quiet", eventTime: T0 + 2 * 60 * MIN, inputOctets: 42 })], null);
          assert.equal((await store.getSession(open!.sessionPk!))!.inputOctets, 42);
        }));
    });
  });
}
