// What only the PostgreSQL store has: its migrations under concurrent start-up, monthly
// partitions and pruning by dropping them, durable commits whatever the server's default, many
// writers on one session, and a clear error when the server is not there. (Everything an
// operator sees through the Store interface is in store.test.ts, run against both stores.)

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AccountingRecord } from "../../src/model/record.ts";
import { MigrationError } from "../../src/store/migrations.ts";
import { POSTGRES_MIGRATIONS } from "../../src/store/postgres-migrations.ts";
import { PostgresStore } from "../../src/store/postgres.ts";
import { PostgresServer, postgresUnavailable } from "../support/postgres.ts";
import { MIN, rec } from "./fixtures.ts";

const why = postgresUnavailable();

describe("PostgreSQL store", { skip: why ?? false }, () => {
  let server: PostgresServer;
  before(async () => {
    server = await PostgresServer.start();
  });
  after(() => server?.destroy());

  const dbName = (url: string) => new URL(url).pathname.slice(1);

  async function withDatabase(fn: (url: string) => Promise<void>): Promise<void> {
    const url = await server.createDatabase("pgstore");
    try {
      await fn(url);
    } finally {
      await server.dropDatabase(url);
    }
  }

  test("nodes starting at once on an empty database migrate it once; reopening applies nothing; a newer schema is refused", () =>
    withDatabase(async (url) => {
      const stores = await Promise.all([PostgresStore.open(url), PostgresStore.open(url), PostgresStore.open(url)]);
      for (const s of stores) await s.close();
      const { rows } = await server.sql("SELECT version, name FROM schema_migrations", dbName(url));
      assert.deepEqual(rows, POSTGRES_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      await server.sql("INSERT INTO schema_migrations VALUES (9999, 'from the future', 0)", dbName(url));
      await assert.rejects(PostgresStore.open(url), (e: Error) => e instanceof MigrationError && /9999.*newer/.test(e.message));
    }));

  test("records go to the partition of the month they were received in; prune drops whole months and trims the month it falls in", () =>
    withDatabase(async (url) => {
      const store = await PostgresStore.open(url);
      try {
        const at = (iso: string, fields: Partial<AccountingRecord> & Pick<AccountingRecord, "kind">) =>
          rec({ ...fields, eventTime: Date.parse(iso), receivedAt: Date.parse(iso) });
        await store.appendRecords(
          [
            at("2025-12-20T10:00:00Z", { kind: "start", sessionId: "old" }),
            at("2025-12-20T11:00:00Z", { kind: "stop", sessionId: "old", inputOctets: 5, sessionTime: 3600 }),
            at("2026-01-05T10:00:00Z", { kind: "start", sessionId: "jan" }),
            at("2026-01-20T10:00:00Z", { kind: "interim", sessionId: "jan", inputOctets: 9, sessionTime: 60 }),
            at("2026-03-01T00:00:00Z", { kind: "start", sessionId: "mar" }),
          ],
          null,
        );
        const placed = await server.sql("SELECT tableoid::regclass::text AS part, session_id FROM records ORDER BY id", dbName(url));
        assert.deepEqual(
          placed.rows.map((r: { part: string; session_id: string }) => [r.part, r.session_id]),
          [
            ["records_2025_12", "old"],
            ["records_2025_12", "old"],
            ["records_2026_01", "jan"],
            ["records_2026_01", "jan"],
            ["records_2026_03", "mar"],
          ],
        );

        const result = await store.prune(Date.parse("2026-01-15T00:00:00Z"));
        assert.deepEqual(result, { records: 3, sessions: 1 }, "December's two records and the Jan 5 start; the closed December session");
        const parts = await server.sql("SELECT relname FROM pg_class WHERE relname LIKE 'records_20%' AND relkind = 'r' ORDER BY relname", dbName(url));
        assert.ok(!parts.rows.some((r: { relname: string }) => r.relname === "records_2025_12"), "December's partition is dropped, not emptied");
        assert.ok(parts.rows.some((r: { relname: string }) => r.relname === "records_2026_01"), "January's stays, trimmed");
        const left = await server.sql("SELECT session_id, kind FROM records ORDER BY id", dbName(url));
        assert.deepEqual(left.rows, [
          { session_id: "jan", kind: "interim" },
          { session_id: "mar", kind: "start" },
        ]);
        const sessions = await store.listSessions();
        assert.deepEqual(sessions.map((s) => s.sessionId).sort(), ["jan", "mar"], "the open January session stays, its records trimmed");

        // A month dropped by pruning is made again when a record for it arrives (an import).
        const [again] = await store.appendRecords([at("2025-12-21T10:00:00Z", { kind: "start", sessionId: "late" })], null);
        assert.equal(again!.duplicate, false);
      } finally {
        await store.close();
      }
    }));

  test("commits wait for the WAL flush even when the database's default says otherwise", () =>
    withDatabase(async (url) => {
      await server.sql(`ALTER DATABASE ${dbName(url)} SET synchronous_commit = off`);
      const store = await PostgresStore.open(url);
      try {
        assert.equal(await store.setting("synchronous_commit"), "on");
      } finally {
        await store.close();
      }
    }));

  test("two stores writing the records of the same sessions at once, in random batches: no lost update, nothing counted twice", () =>
    withDatabase(async (url) => {
      const a = await PostgresStore.open(url, { poolSize: 4 });
      const b = await PostgresStore.open(url, { poolSize: 4 });
      try {
        const sessions = 20;
        const updates = 30;
        const all: AccountingRecord[] = [];
        for (let s = 0; s < sessions; s++) {
          all.push(rec({ kind: "start", sessionId: `c${s}`, eventTime: 1_000_000 + s, dedupKey: `c${s}-start` }));
          for (let u = 1; u <= updates; u++) {
            all.push(
              rec({ kind: "interim", sessionId: `c${s}`, eventTime: 1_000_000 + s + u * MIN, inputOctets: u * 100, outputOctets: u * 7, sessionTime: u * 60, dedupKey: `c${s}-${u}` }),
            );
          }
        }
        // A deterministic shuffle, then batches of 1..12 to either store, many in flight; a
        // tenth of the records go to both.
        let seed = 42;
        const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
        const shuffled = [...all].sort(() => random() - 0.5);
        const batches: Promise<unknown>[] = [];
        for (let i = 0; i < shuffled.length; ) {
          const size = 1 + Math.floor(random() * 12);
          const batch = shuffled.slice(i, i + size);
          i += size;
          batches.push((random() < 0.5 ? a : b).appendRecords(batch, 300));
          const copies = batch.filter(() => random() < 0.1);
          if (copies.length > 0) batches.push((random() < 0.5 ? b : a).appendRecords(copies, 300));
        }
        await Promise.all(batches);

        const list = await a.listSessions({ limit: 100 });
        assert.equal(list.length, sessions, "one session per id");
        for (const s of list) {
          assert.equal(s.inputOctets, updates * 100, `${s.sessionId} input`);
          assert.equal(s.outputOctets, updates * 7, `${s.sessionId} output`);
          assert.equal(s.sessionTime, updates * 60, `${s.sessionId} time`);
          const records = await b.listRecords(s.id);
          assert.equal(records.length, updates + 1, `${s.sessionId}: each record once`);
        }
        const deltas = await server.sql("SELECT sum(delta_input_octets)::bigint AS i FROM records", dbName(url));
        assert.equal(Number(deltas.rows[0].i), sessions * updates * 100, "what records added sums to the totals");
      } finally {
        await a.close();
        await b.close();
      }
    }));

  test("batches in flight at once on one node fold a session's records in the order they were submitted", () =>
    withDatabase(async (url) => {
      const store = await PostgresStore.open(url);
      try {
        const [start] = await store.appendRecords([rec({ kind: "start", sessionId: "ord", eventTime: 1_000_000 })], 300);
        // A first batch that must make a partition before it can lock anything (records received
        // in a month not seen yet, then the interim of "ord"), and a small second one with the
        // Stop: the second must not overtake the first.
        const others = Array.from({ length: 400 }, (_, i) => rec({ kind: "start", sessionId: `other${i}`, eventTime: 1_000_000, receivedAt: Date.UTC(2020, 4, 1) }));
        const interim = rec({ kind: "interim", sessionId: "ord", eventTime: 1_000_000 + MIN, inputOctets: 600, sessionTime: 60 });
        const stop = rec({ kind: "stop", sessionId: "ord", eventTime: 1_000_000 + 2 * MIN, inputOctets: 1000, sessionTime: 120 });
        await Promise.all([store.appendRecords([...others, interim], 300), store.appendRecords([stop], 300)]);
        const records = await store.listRecords(start!.sessionPk!);
        assert.deepEqual(records.map((r) => r.kind), ["start", "interim", "stop"]);
        const deltas = await server.sql(`SELECT delta_input_octets AS d FROM records WHERE session_pk = ${start!.sessionPk!} ORDER BY id`, dbName(url));
        assert.deepEqual(deltas.rows.map((r: { d: number }) => r.d), [0, 600, 400], "the interim counted its bytes before the stop");
      } finally {
        await store.close();
      }
    }));

  test("a server that is not there: open rejects with the connection error, naming the store", async () => {
    // Port 1 on loopback: nothing listens there.
    const url = "postgres://tally@127.0.0.1:1/x";
    await assert.rejects(PostgresStore.open(url), (e: Error & { code?: string }) => {
      assert.equal(e.code, "ECONNREFUSED");
      assert.match(e.message, /postgres store at postgres:\/\/tally@127\.0\.0\.1:1\/x/);
      return true;
    });
  });
});
