// The store's behaviour, run against every backend: SQLite (a real file) and PostgreSQL (a
// private server started for this file, a fresh database per test). One suite, two stores:
// what an operator sees must not depend on which they chose. SQLite-only matters (pragmas, its
// migration history) are in sqlite.test.ts.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AccountingRecord } from "../../src/model/record.ts";
import type { Store } from "../../src/store/store.ts";
import { BACKENDS, withBackendStore, type Backdoor } from "./backends.ts";
import { MIN, SEC, T0, rec } from "./fixtures.ts";

for (const backend of BACKENDS) {
  describe(`store behaviour: ${backend.name}`, { skip: backend.skip }, () => {
    before(() => backend.setup());
    after(() => backend.teardown());

    const withStore = (fn: (store: Store, db: Backdoor) => Promise<void>) => withBackendStore(backend, fn);

    describe("folding records into sessions", () => {
      test("start, interim, stop make one closed session with the stop's totals", () =>
        withStore(async (store, db) => {
          const start = rec({ kind: "start", eventTime: T0, framedAddress: "10.0.0.5", nasPort: "7" });
          const interim = rec({
            kind: "interim",
            eventTime: T0 + 10 * MIN,
            inputOctets: 1000,
            outputOctets: 5000,
            inputPackets: 10,
            outputPackets: 20,
            sessionTime: 600,
          });
          const stop = rec({
            kind: "stop",
            eventTime: T0 + 15 * MIN,
            inputOctets: 1500,
            outputOctets: 9000,
            inputPackets: 15,
            outputPackets: 30,
            sessionTime: 900,
            terminateCause: "User-Request",
          });
          const [r1] = await store.appendRecords([start], 300);
          const [r2, r3] = await store.appendRecords([interim, stop], 300);
          assert.ok(r1 && r2 && r3, "r1 && r2 && r3");
          assert.equal(r1.duplicate, false);
          assert.equal(r1.sessionPk, r2.sessionPk);
          assert.equal(r2.sessionPk, r3.sessionPk);
          assert.ok(r1.recordId < r2.recordId && r2.recordId < r3.recordId, "r1.recordId < r2.recordId && r2.recordId < r3.recordId");

          const sessions = await store.listSessions();
          assert.equal(sessions.length, 1);
          const s = await store.getSession(r1.sessionPk ?? -1);
          assert.ok(s, "s");
          assert.deepEqual(s, sessions[0]);
          assert.equal(s.status, "closed");
          assert.equal(s.user, "alice");
          assert.equal(s.sessionId, "sess-1");
          assert.equal(s.startedAt, T0);
          assert.equal(s.stoppedAt, T0 + 15 * MIN);
          assert.equal(s.updatedAt, T0 + 15 * MIN);
          assert.equal(s.terminateCause, "User-Request");
          assert.equal(s.inputOctets, 1500);
          assert.equal(s.outputOctets, 9000);
          assert.equal(s.inputPackets, 15);
          assert.equal(s.outputPackets, 30);
          assert.equal(s.sessionTime, 900);
          assert.equal(s.framedAddress, "10.0.0.5");
          assert.equal(s.nasPort, "7");
          assert.equal(s.interimInterval, 300);
          assert.equal(s.nextUpdateDue, null);

          const records = await store.listRecords(s.id);
          assert.deepEqual(
            records.map((r) => r.kind),
            ["start", "interim", "stop"],
          );
          // Everything round-trips, attributes included.
          assert.deepEqual(records[1], { ...interim, id: r2.recordId, sessionPk: s.id });
          assert.deepEqual(records[2], { ...stop, id: r3.recordId, sessionPk: s.id });

          const deltas = (await db.all(
            "SELECT delta_input_octets AS i, delta_output_octets AS o, delta_session_time AS t FROM records WHERE session_pk = ? ORDER BY id",
            s.id,
          )) as { i: number; o: number; t: number }[];
          assert.deepEqual(deltas, [
            { i: 0, o: 0, t: 0 },
            { i: 1000, o: 5000, t: 600 },
            { i: 500, o: 4000, t: 300 },
          ]);
          const sum = deltas.reduce((a, d) => ({ i: a.i + d.i, o: a.o + d.o, t: a.t + d.t }), { i: 0, o: 0, t: 0 });
          assert.deepEqual(sum, { i: s.inputOctets, o: s.outputOctets, t: s.sessionTime });
        }));

      test("an open session expects its next update one interim interval after the last", () =>
        withStore(async (store) => {
          const [r] = await store.appendRecords([rec({ kind: "start", eventTime: T0 })], 300);
          const s = await store.getSession(r?.sessionPk ?? -1);
          assert.equal(s?.status, "open");
          assert.equal(s?.nextUpdateDue, T0 + 300 * SEC);
        }));

      test("a record that knows the NAS's interval sets it: on a new session and on later folds; a note is kept", () =>
        withStore(async (store) => {
          const [a] = await store.appendRecords([rec({ kind: "start", eventTime: T0, interimInterval: 60 })], 300);
          assert.equal((await store.getSession(a!.sessionPk!))!.interimInterval, 60, "the granted interval, not the default 300");
          await store.appendRecords([rec({ kind: "interim", eventTime: T0 + 60_000, sessionTime: 60 })], 300);
          assert.equal((await store.getSession(a!.sessionPk!))!.interimInterval, 60, "a record that does not say keeps it");
          await store.appendRecords([rec({ kind: "interim", eventTime: T0 + 120_000, sessionTime: 120, interimInterval: 10 })], 300);
          const s = await store.getSession(a!.sessionPk!);
          assert.equal(s!.interimInterval, 10);
          assert.equal(s!.nextUpdateDue, T0 + 130_000);
          const noted = await store.updateSessionControl(a!.sessionPk!, { note: "counters from status 3" });
          assert.equal(noted!.note, "counters from status 3");
          await store.appendRecords([rec({ kind: "stop", eventTime: T0 + 150_000, sessionTime: 150 })], 300);
          assert.equal((await store.getSession(a!.sessionPk!))!.note, "counters from status 3", "the note survives folds");
        }));

      test("64-bit counters are stored and read back exactly", () =>
        withStore(async (store, db) => {
          const big = 5 * 2 ** 32 + 7;
          const bigOut = 3 * 2 ** 32 + 1;
          const stop = rec({ kind: "stop", eventTime: T0 + 3600 * SEC, sessionTime: 3600, inputOctets: big, outputOctets: bigOut });
          const [r] = await store.appendRecords([rec({ kind: "start" }), stop], null).then((rs) => rs.slice(1));
          const s = await store.getSession(r?.sessionPk ?? -1);
          assert.equal(s?.inputOctets, big);
          assert.equal(s?.outputOctets, bigOut);
          const records = await store.listRecords(s?.id ?? -1);
          assert.equal(records[1]?.inputOctets, big);
          assert.equal(records[1]?.outputOctets, bigOut);
          // Stored as 64-bit integers, not as text or floating point.
          const [types] = await db.all(db.typesOfOctetsSql, r?.recordId);
          assert.deepEqual(types, db.integerTypes);
          const u = await store.usage("alice", null);
          assert.equal(u.inputOctets, big);
          assert.equal(u.outputOctets, bigOut);
        }));

      test("a duplicate dedupKey, across batches and within one, is stored and counted once", () =>
        withStore(async (store, db) => {
          const start = rec({ kind: "start", dedupKey: "k-start" });
          const interim = rec({ kind: "interim", eventTime: T0 + MIN, inputOctets: 100, sessionTime: 60, dedupKey: "k-int" });
          // Same keys, different content: the store must keep the first copy and change nothing.
          const interimAgain = { ...interim, inputOctets: 999_999, sessionTime: 6000, receivedAt: T0 + 2 * MIN };
          const startAgain = { ...start, eventTime: T0 - 60 * MIN };

          const [a] = await store.appendRecords([start], 600);
          const [b, bDup, aDup] = await store.appendRecords([interim, interimAgain, startAgain], 600);
          assert.ok(a && b && bDup && aDup, "a && b && bDup && aDup");
          assert.equal(a.duplicate, false);
          assert.equal(b.duplicate, false);
          assert.deepEqual(bDup, { recordId: b.recordId, sessionPk: b.sessionPk, duplicate: true });
          assert.deepEqual(aDup, { recordId: a.recordId, sessionPk: a.sessionPk, duplicate: true });

          const [again] = await store.appendRecords([interimAgain], 600);
          assert.deepEqual(again, { recordId: b.recordId, sessionPk: b.sessionPk, duplicate: true });

          assert.equal(await db.countRecords(), 2);
          const s = await store.getSession(a.sessionPk ?? -1);
          assert.equal(s?.inputOctets, 100);
          assert.equal(s?.sessionTime, 60);
          assert.equal(s?.startedAt, T0);
          assert.equal(s?.updatedAt, T0 + MIN);
          const records = await store.listRecords(a.sessionPk ?? -1);
          assert.equal(records[1]?.inputOctets, 100, "the first copy is kept");
          assert.equal((await store.usage("alice", null)).inputOctets, 100);
        }));

      test("an interim after the stop is stored but leaves the closed session alone", () =>
        withStore(async (store, db) => {
          const [, stopRes] = await store.appendRecords(
            [
              rec({ kind: "start" }),
              rec({ kind: "stop", eventTime: T0 + 5 * MIN, inputOctets: 50, outputOctets: 60, sessionTime: 300, terminateCause: "Idle-Timeout" }),
            ],
            60,
          );
          const closed = await store.getSession(stopRes?.sessionPk ?? -1);
          const [late] = await store.appendRecords(
            [rec({ kind: "interim", eventTime: T0 + 6 * MIN, inputOctets: 70, outputOctets: 80, sessionTime: 360 })],
            60,
          );
          assert.equal(late?.duplicate, false);
          assert.equal(late?.sessionPk, stopRes?.sessionPk);
          const afterIt = await store.getSession(stopRes?.sessionPk ?? -1);
          assert.deepEqual(afterIt, closed);
          assert.equal(afterIt?.status, "closed");
          assert.equal(afterIt?.inputOctets, 50);
          assert.equal(afterIt?.terminateCause, "Idle-Timeout");
          const records = await store.listRecords(afterIt?.id ?? -1);
          assert.equal(records.length, 3);
          assert.equal(records[2]?.inputOctets, 70);
          const [delta] = (await db.all("SELECT delta_input_octets + delta_output_octets + delta_session_time AS d FROM records WHERE id = ?", late?.recordId)) as { d: number }[];
          assert.equal(delta!.d, 0);
        }));

      test("a Start reusing an ended session's Acct-Session-Id begins a new session", () =>
        withStore(async (store) => {
          const [a] = await store.appendRecords(
            [rec({ kind: "start", eventTime: T0 }), rec({ kind: "stop", eventTime: T0 + MIN, sessionTime: 60, inputOctets: 10 })],
            300,
          );
          // The NAS rebooted and counts session ids from the start again.
          const [b] = await store.appendRecords([rec({ kind: "start", eventTime: T0 + 10 * MIN })], 300);
          const [c] = await store.appendRecords([rec({ kind: "interim", eventTime: T0 + 11 * MIN, sessionTime: 60, inputOctets: 3 })], 300);
          assert.ok(a && b && c, "a && b && c");
          assert.notEqual(a.sessionPk, b.sessionPk);
          assert.equal(b.sessionPk, c.sessionPk);
          const old = await store.getSession(a.sessionPk!);
          const fresh = await store.getSession(b.sessionPk!);
          assert.equal(old!.status, "closed");
          assert.equal(old!.inputOctets, 10);
          assert.equal(fresh!.status, "open");
          assert.equal(fresh!.inputOctets, 3);
        }));

      test("a Start without User-Name and an interim with one fold into one session", () =>
        withStore(async (store) => {
          const [a, b] = await store.appendRecords(
            [rec({ kind: "start", user: null, eventTime: T0 }), rec({ kind: "interim", user: "alice", eventTime: T0 + MIN, sessionTime: 60 })],
            300,
          );
          assert.equal(a!.sessionPk, b!.sessionPk);
          assert.equal((await store.getSession(a!.sessionPk!))!.user, "alice");
        }));

      test("a stop without a start creates a closed session that began sessionTime earlier", () =>
        withStore(async (store) => {
          const [r] = await store.appendRecords(
            [rec({ kind: "stop", eventTime: T0 + 3600 * SEC, sessionTime: 1800, inputOctets: 42, terminateCause: "Lost-Carrier" })],
            null,
          );
          const s = await store.getSession(r?.sessionPk ?? -1);
          assert.equal(s?.status, "closed");
          assert.equal(s?.startedAt, T0 + 1800 * SEC);
          assert.equal(s?.stoppedAt, T0 + 3600 * SEC);
          assert.equal(s?.inputOctets, 42);
          assert.equal(s?.terminateCause, "Lost-Carrier");
        }));

      test("an interim before its start (reordered): the start keeps the counters and fixes startedAt", () =>
        withStore(async (store) => {
          // The interim claims 50 s of session time at T0+60s, so alone it implies a start at T0+10s.
          const [i] = await store.appendRecords(
            [rec({ kind: "interim", eventTime: T0 + 60 * SEC, sessionTime: 50, inputOctets: 100, outputOctets: 200 })],
            null,
          );
          const early = await store.getSession(i?.sessionPk ?? -1);
          assert.equal(early?.startedAt, T0 + 10 * SEC);
          const [s] = await store.appendRecords([rec({ kind: "start", eventTime: T0 })], null);
          assert.equal(s?.sessionPk, i?.sessionPk);
          const fixed = await store.getSession(s?.sessionPk ?? -1);
          assert.equal(fixed?.startedAt, T0);
          assert.equal(fixed?.status, "open");
          assert.equal(fixed?.inputOctets, 100);
          assert.equal(fixed?.outputOctets, 200);
          assert.equal(fixed?.sessionTime, 50);
          assert.equal(fixed?.updatedAt, T0 + 60 * SEC);
          assert.deepEqual(
            (await store.listRecords(fixed?.id ?? -1)).map((r) => r.kind),
            ["interim", "start"],
          );
        }));

      test("Accounting-On closes only the open sessions of that NAS and protocol", () =>
        withStore(async (store, db) => {
          const open = (nas: string, sessionId: string, protocol: AccountingRecord["protocol"] = "radius") =>
            rec({ kind: "start", nas, sessionId, protocol, eventTime: T0 });
          const results = await store.appendRecords(
            [
              open("nas-a", "a1"),
              open("nas-a", "a2"),
              open("nas-a", "a3"),
              rec({ kind: "stop", nas: "nas-a", sessionId: "a3", eventTime: T0 + MIN, terminateCause: "User-Request" }),
              open("nas-b", "b1"),
              open("nas-a", "t1", "tacacs"),
            ],
            null,
          );
          const pk = (i: number) => results[i]?.sessionPk ?? -1;
          const [on] = await store.appendRecords([rec({ kind: "on", nas: "nas-a", eventTime: T0 + 10 * MIN })], null);
          assert.deepEqual(on?.closedSessionPks, [pk(0), pk(1)]);
          assert.equal(on?.sessionPk, null);
          assert.equal(on?.duplicate, false);

          for (const i of [0, 1]) {
            const s = await store.getSession(pk(i));
            assert.equal(s?.status, "closed");
            assert.equal(s?.terminateCause, "NAS-Reboot");
            assert.equal(s?.stoppedAt, T0 + 10 * MIN);
          }
          const stopped = await store.getSession(pk(2));
          assert.equal(stopped?.terminateCause, "User-Request");
          assert.equal(stopped?.stoppedAt, T0 + MIN);
          assert.equal((await store.getSession(pk(4)))?.status, "open", "other NAS untouched");
          assert.equal((await store.getSession(pk(5)))?.status, "open", "other protocol untouched");

          const [off] = await store.appendRecords([rec({ kind: "off", nas: "nas-a", eventTime: T0 + 11 * MIN })], null);
          assert.deepEqual(off?.closedSessionPks, []);
          const stored = await db.all("SELECT kind, session_pk FROM records WHERE id IN (?, ?) ORDER BY id", on?.recordId, off?.recordId);
          assert.deepEqual(stored, [
            { kind: "on", session_pk: null },
            { kind: "off", session_pk: null },
          ]);
        }));

      test("a session record without a session id is stored unattached", () =>
        withStore(async (store, db) => {
          const [r] = await store.appendRecords([rec({ kind: "interim", sessionId: null, inputOctets: 5 })], null);
          assert.equal(r?.duplicate, false);
          assert.equal(r?.sessionPk, null);
          assert.equal(await db.countRecords(), 1);
          assert.deepEqual(await store.listSessions(), []);
        }));

      test("a batch that fails part-way leaves nothing behind", () =>
        withStore(async (store, db) => {
          const bad = { ...rec({ kind: "interim", sessionId: "s2" }), kind: "bogus" } as unknown as AccountingRecord;
          await assert.rejects(store.appendRecords([rec({ kind: "start" }), bad], null));
          assert.equal(await db.countRecords(), 0);
          assert.deepEqual(await store.listSessions(), []);
          // The store is still usable afterwards.
          const [ok] = await store.appendRecords([rec({ kind: "start" })], null);
          assert.equal(ok?.duplicate, false);
        }));

      test("a late copy of a record of an earlier session under the same key (the NAS reused the id) is a duplicate and leaves the new session alone", () =>
        withStore(async (store, db) => {
          const interimA = rec({ kind: "interim", eventTime: T0 + MIN, inputOctets: 7000, sessionTime: 60, dedupKey: "a-int" });
          const [a] = await store.appendRecords([rec({ kind: "start", dedupKey: "a-start" }), interimA, rec({ kind: "stop", eventTime: T0 + 2 * MIN, inputOctets: 8000, sessionTime: 120, dedupKey: "a-stop" })], 300);
          // After a reboot the NAS uses the same Acct-Session-Id again.
          const [b] = await store.appendRecords([rec({ kind: "start", eventTime: T0 + 10 * MIN, dedupKey: "b-start" })], 300);
          assert.notEqual(b!.sessionPk, a!.sessionPk);
          const [late] = await store.appendRecords([interimA], 300);
          assert.equal(late!.duplicate, true);
          assert.equal(late!.sessionPk, a!.sessionPk, "found in the earlier session");
          const sb = await store.getSession(b!.sessionPk!);
          assert.equal(sb!.inputOctets, 0, "the new session did not take the old counters");
          assert.equal(await db.countRecords(), 4);
        }));

      test("a Start replayed after its session closed (later receipt, same record) is a duplicate, not a new session; a new Start under the reused id still opens one", () =>
        withStore(async (store, db) => {
          const start = rec({ kind: "start", eventTime: T0, dedupKey: "a-start" });
          const [a] = await store.appendRecords([start, rec({ kind: "stop", eventTime: T0 + 2 * MIN, inputOctets: 800, sessionTime: 120, dedupKey: "a-stop" })], 300);
          // Without Event-Timestamp a replay's event time is its receipt time: after the Stop.
          const replay = { ...start, eventTime: T0 + 30 * MIN, receivedAt: T0 + 30 * MIN };
          const [again] = await store.appendRecords([replay], 300);
          assert.equal(again!.duplicate, true);
          assert.equal(again!.sessionPk, a!.sessionPk);
          // The same in one batch with a second replay of it behind it.
          const [twice, thrice] = await store.appendRecords([replay, replay], 300);
          assert.deepEqual([twice!.duplicate, thrice!.duplicate], [true, true]);
          assert.equal((await store.listSessions()).length, 1, "no session opened by the replays");
          assert.equal(await db.countRecords(), 2);
          // A different Start under the same key (the NAS reused the id) is a new session.
          const [b] = await store.appendRecords([rec({ kind: "start", eventTime: T0 + 40 * MIN, dedupKey: "b-start" })], 300);
          assert.equal(b!.duplicate, false);
          assert.notEqual(b!.sessionPk, a!.sessionPk);
          assert.equal((await store.getSession(a!.sessionPk!))!.inputOctets, 800);
        }));

      test("a Start replayed in the same batch as its Stop is a duplicate", () =>
        withStore(async (store, db) => {
          const start = rec({ kind: "start", eventTime: T0, dedupKey: "c-start" });
          const results = await store.appendRecords(
            [start, rec({ kind: "stop", eventTime: T0 + MIN, inputOctets: 10, sessionTime: 60, dedupKey: "c-stop" }), { ...start, eventTime: T0 + 5 * MIN, receivedAt: T0 + 5 * MIN }],
            300,
          );
          assert.deepEqual(results.map((r) => r.duplicate), [false, false, true]);
          assert.equal((await store.listSessions()).length, 1);
          assert.equal(await db.countRecords(), 2);
        }));

      test("a late record of an earlier session that never arrived before goes to that session, not to the new one under the reused id", () =>
        withStore(async (store) => {
          const [a] = await store.appendRecords([rec({ kind: "start", eventTime: T0 }), rec({ kind: "stop", eventTime: T0 + 5 * MIN, inputOctets: 900, sessionTime: 300 })], 300);
          const [b] = await store.appendRecords([rec({ kind: "start", eventTime: T0 + 10 * MIN })], 300);
          // An interim of the first session, sent before its Stop, delivered only now.
          const [late] = await store.appendRecords([rec({ kind: "interim", eventTime: T0 + 2 * MIN, inputOctets: 5000, sessionTime: 120 })], 300);
          assert.equal(late!.duplicate, false);
          assert.equal(late!.sessionPk, a!.sessionPk, "stored with the session it belongs to");
          const sa = await store.getSession(a!.sessionPk!);
          assert.deepEqual([sa!.status, sa!.inputOctets], ["closed", 900], "the closed session keeps its Stop's totals");
          const sb = await store.getSession(b!.sessionPk!);
          assert.deepEqual([sb!.status, sb!.inputOctets], ["open", 0], "the new session did not take the old counters");
          // The new session still takes its own records.
          const [own] = await store.appendRecords([rec({ kind: "interim", eventTime: T0 + 11 * MIN, inputOctets: 10, sessionTime: 60 })], 300);
          assert.equal(own!.sessionPk, b!.sessionPk);
          assert.equal((await store.getSession(b!.sessionPk!))!.inputOctets, 10);
        }));

      test("another connection's commits are seen: no fold from a stale copy of the session", () =>
        withStore(async (store, db) => {
          const other = await db.openOther();
          try {
            const [start] = await store.appendRecords([rec({ kind: "start" })], 300);
            await store.appendRecords([rec({ kind: "interim", eventTime: T0 + MIN, inputOctets: 100, sessionTime: 60 })], 300);
            // Another process (a second node, tally disconnect) moves the session on.
            await other.appendRecords([rec({ kind: "interim", eventTime: T0 + 2 * MIN, inputOctets: 500, sessionTime: 120 })], 300);
            await other.updateSessionControl(start!.sessionPk!, { interimInterval: 30 });
            await store.appendRecords([rec({ kind: "interim", eventTime: T0 + 3 * MIN, inputOctets: 400, sessionTime: 180 })], 300);
            const s = await store.getSession(start!.sessionPk!);
            assert.equal(s!.inputOctets, 500, "the other connection's larger counter stands");
            assert.equal(s!.sessionTime, 180);
            assert.equal(s!.interimInterval, 30, "and its interval change");
          } finally {
            await other.close();
          }
        }));

      test("an empty batch is a no-op", () =>
        withStore(async (store) => {
          assert.deepEqual(await store.appendRecords([], null), []);
        }));
    });

    describe("queries", () => {
      test("listSessions: newest first, filters by status, user and nas, and limits", () =>
        withStore(async (store) => {
          await store.appendRecords(
            [
              rec({ kind: "start", sessionId: "s1", user: "alice", nas: "nas-a", eventTime: T0 + 1 * MIN }),
              rec({ kind: "start", sessionId: "s2", user: "bob", nas: "nas-a", eventTime: T0 + 2 * MIN }),
              rec({ kind: "start", sessionId: "s3", user: "alice", nas: "nas-b", eventTime: T0 + 3 * MIN }),
              rec({ kind: "stop", sessionId: "s3", user: "alice", nas: "nas-b", eventTime: T0 + 4 * MIN }),
              rec({ kind: "start", sessionId: "s4", user: "carol", nas: "nas-b", eventTime: T0 + 5 * MIN }),
              // s1 is updated last, so it becomes the newest.
              rec({ kind: "interim", sessionId: "s1", user: "alice", nas: "nas-a", eventTime: T0 + 6 * MIN }),
            ],
            null,
          );
          const ids = (ss: { sessionId: string }[]) => ss.map((s) => s.sessionId);
          assert.deepEqual(ids(await store.listSessions()), ["s1", "s4", "s3", "s2"]);
          assert.deepEqual(ids(await store.listSessions({ status: "open" })), ["s1", "s4", "s2"]);
          assert.deepEqual(ids(await store.listSessions({ status: "closed" })), ["s3"]);
          assert.deepEqual(ids(await store.listSessions({ user: "alice" })), ["s1", "s3"]);
          assert.deepEqual(ids(await store.listSessions({ nas: "nas-b" })), ["s4", "s3"]);
          assert.deepEqual(ids(await store.listSessions({ nas: "nas-b", status: "open", user: "carol" })), ["s4"]);
          assert.deepEqual(ids(await store.listSessions({ user: "nobody" })), []);
          assert.deepEqual(ids(await store.listSessions({ limit: 2 })), ["s1", "s4"]);
          assert.equal(await store.getSession(123456), null);
          assert.deepEqual(await store.listRecords(123456), []);
        }));

      test("countSessions: open, closed and stale sessions counted by status", () =>
        withStore(async (store) => {
          assert.equal(await store.countSessions("open"), 0, "an empty store has no open sessions");
          await store.appendRecords(
            [
              rec({ kind: "start", sessionId: "s1", eventTime: T0 }),
              rec({ kind: "start", sessionId: "s2", user: "bob", eventTime: T0 }),
              rec({ kind: "start", sessionId: "s3", eventTime: T0 }),
              rec({ kind: "stop", sessionId: "s3", eventTime: T0 + MIN }),
            ],
            null,
          );
          // Only s4 expects updates (every 60 s), so only s4 can go stale.
          await store.appendRecords([rec({ kind: "start", sessionId: "s4", user: "carol", eventTime: T0 })], 60);
          assert.equal((await store.reapOverdue(T0 + 10 * MIN, 0)).length, 1, "s4 is reaped");
          assert.deepEqual(
            [await store.countSessions("open"), await store.countSessions("closed"), await store.countSessions("stale")],
            [2, 1, 1],
          );
        }));

      test("listSessions pages by keyset and filters by time; listNas counts open sessions per NAS; usage by the hour", () =>
        withStore(async (store) => {
          const records = [];
          for (let i = 0; i < 7; i++) {
            records.push(rec({ kind: "start", sessionId: `p${i}`, nas: i < 5 ? "nas-a" : "nas-b", eventTime: T0 + i * MIN }));
          }
          records.push(rec({ kind: "stop", sessionId: "p1", nas: "nas-a", eventTime: T0 + 10 * MIN }));
          records.push(rec({ kind: "start", sessionId: "t1", nas: "nas-a", protocol: "tacacs", eventTime: T0 + 11 * MIN }));
          await store.appendRecords(records, null);

          // Newest first: t1 (11 min), p1 (stopped at 10), p6, p5, p4, p3, p2, p0.
          const all = (await store.listSessions({ limit: 100 })).map((s) => s.sessionId);
          assert.deepEqual(all, ["t1", "p1", "p6", "p5", "p4", "p3", "p2", "p0"]);
          const pages: string[][] = [];
          let before: { updatedAt: number; id: number } | undefined;
          for (;;) {
            const page = await store.listSessions({ limit: 3, before });
            if (page.length === 0) break;
            pages.push(page.map((s) => s.sessionId));
            const last = page[page.length - 1]!;
            before = { updatedAt: last.updatedAt, id: last.id };
          }
          assert.deepEqual(pages, [["t1", "p1", "p6"], ["p5", "p4", "p3"], ["p2", "p0"]], "keyset pages cover everything once, in order");
          assert.deepEqual((await store.listSessions({ since: T0 + 5 * MIN })).map((s) => s.sessionId), ["t1", "p1", "p6", "p5"]);
          assert.deepEqual((await store.listSessions({ until: T0 + 2 * MIN })).map((s) => s.sessionId), ["p1", "p0"]);

          assert.deepEqual(await store.listNas(), [
            { nas: "nas-a", protocol: "radius", openSessions: 4, sessions: 5, lastSeen: T0 + 10 * MIN },
            { nas: "nas-a", protocol: "tacacs", openSessions: 1, sessions: 1, lastSeen: T0 + 11 * MIN },
            { nas: "nas-b", protocol: "radius", openSessions: 2, sessions: 2, lastSeen: T0 + 6 * MIN },
          ]);

          // T0 is 23:00 UTC: an interim at 23:30 and one at 00:30 the next day fall in two hours.
          await store.appendRecords([rec({ kind: "interim", sessionId: "p0", nas: "nas-a", eventTime: T0 + 30 * MIN, inputOctets: 100, sessionTime: 1800 })], null);
          await store.appendRecords([rec({ kind: "interim", sessionId: "p0", nas: "nas-a", eventTime: T0 + 90 * MIN, inputOctets: 250, sessionTime: 5400 })], null);
          const hours = await store.usage("alice", T0 + 20 * MIN, "hour");
          assert.deepEqual(hours.days.map((d) => [d.day, d.inputOctets]), [["2024-01-15T23", 100], ["2024-01-16T00", 150]]);
          assert.equal(hours.inputOctets, 250);
        }));

      test("usage: totals and per-day sums across two UTC days, bytes on the day they were used", () =>
        withStore(async (store) => {
          const day2 = Date.UTC(2024, 0, 16);
          await store.appendRecords(
            [
              // Session 1 spans midnight: 1000/2000 bytes and 50 min before it, the rest after.
              rec({ kind: "start", sessionId: "s1", eventTime: T0 }),
              rec({ kind: "interim", sessionId: "s1", eventTime: T0 + 50 * MIN, inputOctets: 1000, outputOctets: 2000, sessionTime: 3000 }),
              rec({ kind: "interim", sessionId: "s1", eventTime: T0 + 90 * MIN, inputOctets: 4000, outputOctets: 2500, sessionTime: 5400 }),
              rec({ kind: "stop", sessionId: "s1", eventTime: T0 + 120 * MIN, inputOctets: 5000, outputOctets: 3000, sessionTime: 7200 }),
              // Session 2 on day 2 only.
              rec({ kind: "stop", sessionId: "s2", eventTime: day2 + 3 * 60 * MIN, inputOctets: 10, outputOctets: 20, sessionTime: 30 }),
              // Someone else's session is not counted.
              rec({ kind: "stop", sessionId: "s3", user: "bob", eventTime: T0 + 30 * MIN, inputOctets: 7777, outputOctets: 7777, sessionTime: 7 }),
            ],
            null,
          );
          const all = await store.usage("alice", null);
          assert.deepEqual(all, {
            user: "alice",
            since: null,
            sessions: 2,
            inputOctets: 5010,
            outputOctets: 3020,
            sessionTime: 7230,
            days: [
              { day: "2024-01-15", sessions: 1, inputOctets: 1000, outputOctets: 2000, sessionTime: 3000 },
              { day: "2024-01-16", sessions: 2, inputOctets: 4010, outputOctets: 1020, sessionTime: 4230 },
            ],
          });

          const fromDay2 = await store.usage("alice", day2);
          assert.deepEqual(fromDay2, {
            user: "alice",
            since: day2,
            sessions: 2,
            inputOctets: 4010,
            outputOctets: 1020,
            sessionTime: 4230,
            days: [{ day: "2024-01-16", sessions: 2, inputOctets: 4010, outputOctets: 1020, sessionTime: 4230 }],
          });

          assert.deepEqual(await store.usage("nobody", null), {
            user: "nobody",
            since: null,
            sessions: 0,
            inputOctets: 0,
            outputOctets: 0,
            sessionTime: 0,
            days: [],
          });
        }));
    });

    describe("session control", () => {
      test("interim interval and disconnect state are kept and survive later folds", () =>
        withStore(async (store) => {
          const [a] = await store.appendRecords([rec({ kind: "start", eventTime: T0 })], 300);
          const s = await store.updateSessionControl(a!.sessionPk!, { interimInterval: 30, disconnect: "requested", disconnectReason: "quota" });
          assert.equal(s!.interimInterval, 30);
          assert.equal(s!.nextUpdateDue, T0 + 30_000);
          assert.equal(s!.disconnect, "requested");
          await store.appendRecords([rec({ kind: "interim", eventTime: T0 + 20_000, sessionTime: 20 })], 300);
          const after = await store.getSession(a!.sessionPk!);
          assert.equal(after!.interimInterval, 30, "the plugin's interval, not the default");
          assert.equal(after!.nextUpdateDue, T0 + 50_000);
          assert.equal(after!.disconnect, "requested");
          assert.equal(after!.disconnectReason, "quota");
          const off = await store.updateSessionControl(a!.sessionPk!, { interimInterval: 0 });
          assert.equal(off!.nextUpdateDue, null, "0 stops updates");
          assert.equal(await store.updateSessionControl(9999, { interimInterval: 5 }), null);
        }));
    });

    describe("users", () => {
      test("put, get, list, upsert and remove", () =>
        withStore(async (store, db) => {
          assert.equal(await store.getUser("alice"), null);
          await store.putUser({ name: "alice", password: { cleartext: "s3cret" }, reply: { "Session-Timeout": 3600 }, groups: ["netops"] });
          await store.putUser({ name: "bob", password: { scrypt: "$scrypt$ln=14$abc$def" }, reply: {}, groups: [] });
          assert.deepEqual(await store.getUser("alice"), {
            name: "alice",
            password: { cleartext: "s3cret" },
            reply: { "Session-Timeout": 3600 },
            groups: ["netops"],
          });
          assert.deepEqual(
            (await store.listUsers()).map((u) => u.name),
            ["alice", "bob"],
          );

          // Upsert replaces the password kind and the reply, keeping created_at.
          const createdAt = async () =>
            ((await db.all("SELECT created_at AS c FROM users WHERE name = 'alice'")) as { c: number }[])[0]!.c;
          const created = await createdAt();
          await store.putUser({ name: "alice", password: { scrypt: "$scrypt$new" }, reply: { "Filter-Id": "staff" }, groups: [] });
          assert.deepEqual(await store.getUser("alice"), {
            name: "alice",
            password: { scrypt: "$scrypt$new" },
            reply: { "Filter-Id": "staff" },
            groups: [],
          });
          assert.equal(await createdAt(), created);
          assert.equal((await store.listUsers()).length, 2);

          await assert.rejects(
            store.putUser({ name: "eve", password: { cleartext: "a", scrypt: "b" } as unknown as { cleartext: string }, reply: {}, groups: [] }),
          );
          assert.equal(await store.getUser("eve"), null);

          assert.equal(await store.removeUser("alice"), true);
          assert.equal(await store.removeUser("alice"), false);
          assert.equal(await store.getUser("alice"), null);
          assert.deepEqual(
            (await store.listUsers()).map((u) => u.name),
            ["bob"],
          );
        }));
    });
  });
}
