import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import type { AccountingRecord } from "../../src/model/record.ts";
import { openStore } from "../../src/store/index.ts";
import { MIGRATIONS, MigrationError, migrate } from "../../src/store/migrations.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { MIN, T0, rec, tempDir } from "./fixtures.ts";
import type { TempDir } from "./fixtures.ts";

let tmp: TempDir;
let n = 0;
before(() => {
  tmp = tempDir();
});
after(() => tmp.cleanup());

/** Runs `fn` with a store on a fresh file, closing it afterwards. */
async function withStore(fn: (store: SqliteStore, file: string) => Promise<void>): Promise<void> {
  const file = tmp.file(`t${++n}.db`);
  const store = SqliteStore.open(file);
  try {
    await fn(store, file);
  } finally {
    await store.close();
  }
}

function countRecords(store: SqliteStore): number {
  return (store.database.prepare("SELECT count(*) AS n FROM records").get() as { n: number }).n;
}

describe("opening", () => {
  test("creates missing directories and sets WAL, synchronous=FULL, foreign keys, busy timeout", async () => {
    const file = tmp.file("deep/er/tally.db");
    const store = SqliteStore.open(file);
    try {
      assert.ok(fs.existsSync(file), "fs.existsSync(file)");
      const db = store.database;
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      assert.equal(db.pragma("synchronous", { simple: true }), 2, "synchronous must be FULL (2)");
      assert.equal(db.pragma("foreign_keys", { simple: true }), 1);
      assert.ok((db.pragma("busy_timeout", { simple: true }) as number) >= 1000, "(db.pragma(\"busy_timeout\", { simple: true }) as number) >= 1000");
    } finally {
      await store.close();
    }
    // WAL is a property of the file: a fresh connection sees it too.
    const raw = new Database(file, { readonly: true });
    try {
      assert.equal(raw.pragma("journal_mode", { simple: true }), "wal");
    } finally {
      raw.close();
    }
  });

  test("migrations are recorded once and reopening keeps data and applies nothing", async () => {
    const file = tmp.file("migrate.db");
    let store = SqliteStore.open(file);
    await store.appendRecords([rec({ kind: "start" })], null);
    const versions = () =>
      store.database.prepare("SELECT version, name FROM schema_migrations ORDER BY version").all();
    const first = versions();
    assert.deepEqual(
      first,
      MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
    );
    await store.close();

    store = SqliteStore.open(file);
    try {
      assert.deepEqual(versions(), first);
      assert.deepEqual(migrate(store.database), [], "a second migrate applies nothing");
      assert.equal((await store.listSessions()).length, 1);
      assert.equal(countRecords(store), 1);
    } finally {
      await store.close();
    }
  });

  test("refuses a database with a schema version it does not know", async () => {
    const file = tmp.file("newer.db");
    const store = SqliteStore.open(file);
    store.database.prepare("INSERT INTO schema_migrations VALUES (9999, 'from the future', 0)").run();
    await store.close();
    assert.throws(() => SqliteStore.open(file), MigrationError);
  });

  test("openStore opens a SQLite store from the config", async () => {
    const store = await openStore({ sqlite: tmp.file("config/store.db") });
    try {
      assert.ok(store instanceof SqliteStore, "store instanceof SqliteStore");
      assert.deepEqual(await store.listSessions(), []);
    } finally {
      await store.close();
    }
  });
});

describe("SQLite specifics", () => {
  test("records stored before migration 4 keep their ids and are still recognised as duplicates", async () => {
    const file = tmp.file("pre4.db");
    const raw = new Database(file);
    migrate(raw, MIGRATIONS.filter((m) => m.version < 4));
    raw.prepare("INSERT INTO sessions (session_key, protocol, client, nas, user, session_id, status, started_at, updated_at) VALUES (?, 'radius', 'lab', 'nas-a', 'alice', 'sess-1', 'open', ?, ?)").run(
      JSON.stringify(["radius", "nas-a", "sess-1"]),
      T0,
      T0,
    );
    raw.prepare("INSERT INTO records (id, dedup_key, session_pk, protocol, kind, received_at, event_time, client, nas, user, session_id, attributes) VALUES (41, 'old-start', 1, 'radius', 'start', ?, ?, 'lab', 'nas-a', 'alice', 'sess-1', '[]')").run(T0, T0);
    raw.close();
    const store = SqliteStore.open(file);
    try {
      const records = await store.listRecords(1);
      assert.deepEqual(records.map((r) => [r.id, r.dedupKey]), [[41, "old-start"]]);
      const [again] = await store.appendRecords([rec({ kind: "start", dedupKey: "old-start" })], 300);
      assert.deepEqual(again, { recordId: 41, sessionPk: 1, duplicate: true });
      const [next] = await store.appendRecords([rec({ kind: "interim", eventTime: T0 + MIN, inputOctets: 5, sessionTime: 60 })], 300);
      assert.ok(next!.recordId > 41, "new ids continue after the old ones");
    } finally {
      await store.close();
    }
  });

  test("a rolled-back batch leaves no trace in the session state the store folds from", () =>
    withStore(async (store) => {
      const [start] = await store.appendRecords([rec({ kind: "start" })], null);
      const bad = { ...rec({ kind: "interim", sessionId: "s2" }), kind: "bogus" } as unknown as AccountingRecord;
      // The interim's counters were folded in memory before the batch failed.
      await assert.rejects(store.appendRecords([rec({ kind: "interim", inputOctets: 9000, sessionTime: 60 }), bad], null));
      await store.appendRecords([rec({ kind: "interim", eventTime: T0 + MIN, inputOctets: 100, sessionTime: 30 })], null);
      const s = await store.getSession(start!.sessionPk!);
      assert.equal(s!.inputOctets, 100, "the rolled-back 9000 was never committed, so it is not in the totals");
    }));
});
