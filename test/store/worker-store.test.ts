// The SQLite store on a worker thread (how `tally serve` runs it) behaves as the SQLite store
// does on the main thread: the same calls give the same results, errors come back as
// rejections with their message, and a database it cannot open is refused when opening.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AccountingRecord } from "../../src/model/record.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import type { Store } from "../../src/store/store.ts";
import { WorkerStore } from "../../src/store/worker-store.ts";
import { MIN, T0, rec, tempDir, type TempDir } from "./fixtures.ts";

let tmp: TempDir;
before(() => {
  tmp = tempDir();
});
after(() => tmp.cleanup());

/** A scripted use of every Store call; returns what each answered (ids aside). */
async function script(store: Store): Promise<unknown[]> {
  const out: unknown[] = [];
  const appended = await store.appendRecords(
    [
      rec({ kind: "start", dedupKey: "a1", interimInterval: 60 }),
      rec({ kind: "interim", dedupKey: "a2", eventTime: T0 + MIN, inputOctets: 1000, outputOctets: 2000, sessionTime: 60 }),
      rec({ kind: "start", dedupKey: "b1", sessionId: "sess-2", user: "bob" }),
    ],
    300,
  );
  out.push(appended.map((r) => r.duplicate));
  out.push((await store.appendRecords([rec({ kind: "interim", dedupKey: "a2", eventTime: T0 + MIN, inputOctets: 1000, outputOctets: 2000, sessionTime: 60 })], 300)).map((r) => r.duplicate));
  const pk = appended[0]!.sessionPk!;
  out.push(await store.updateSessionControl(pk, { interimInterval: 30, disconnect: "requested", disconnectReason: "quota", note: "n" }));
  await store.appendRecords([rec({ kind: "stop", dedupKey: "a3", eventTime: T0 + 2 * MIN, inputOctets: 5000, outputOctets: 6000, sessionTime: 120, terminateCause: "User-Request" })], 300);
  out.push(await store.getSession(pk));
  out.push(await store.listSessions({ status: "open" }));
  out.push((await store.listRecords(pk)).map((r) => ({ ...r, id: 0 })));
  out.push(await store.usage("alice", null));
  await store.putUser({ name: "carol", password: { cleartext: "pw" }, reply: { "Session-Timeout": 60 }, groups: ["g"] });
  out.push(await store.getUser("carol"), await store.listUsers(), await store.removeUser("carol"), await store.removeUser("carol"));
  out.push(await store.listCommands({}));
  return out;
}

describe("WorkerStore", () => {
  test("answers every call exactly as the SQLite store on the main thread does", async () => {
    const direct = SqliteStore.open(tmp.file("direct.db"));
    const worker = await WorkerStore.open(tmp.file("worker.db"));
    try {
      const a = await script(direct);
      const b = await script(worker);
      assert.deepEqual(b, a);
      assert.equal((b[3] as { inputOctets: number }).inputOctets, 5000, "the script did fold the stop");
    } finally {
      await direct.close();
      await worker.close();
    }
  });

  test("a failing append rejects with the store's message and commits nothing; the store goes on", async () => {
    const store = await WorkerStore.open(tmp.file("fail.db"));
    try {
      const bad = { ...rec({ kind: "interim", sessionId: "s2" }), kind: "bogus" } as unknown as AccountingRecord;
      await assert.rejects(store.appendRecords([rec({ kind: "start" }), bad], null), /CHECK constraint failed/);
      assert.deepEqual(await store.listSessions(), []);
      const [ok] = await store.appendRecords([rec({ kind: "start" })], null);
      assert.equal(ok?.duplicate, false);
    } finally {
      await store.close();
    }
  });

  test("a database it cannot use is refused when opening, with the reason", async () => {
    const file = tmp.file("future.db");
    const direct = SqliteStore.open(file);
    direct.database.prepare("INSERT INTO schema_migrations VALUES (9999, 'from the future', 0)").run();
    await direct.close();
    await assert.rejects(WorkerStore.open(file), (e: Error) => e.name === "MigrationError" && /schema version 9999/.test(e.message));
  });

  test("after close, calls are refused instead of hanging", async () => {
    const store = await WorkerStore.open(tmp.file("closed.db"));
    await store.close();
    await assert.rejects(store.listSessions(), /store worker/);
  });
});
