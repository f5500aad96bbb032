// The accounting core's group commit, against a real SQLite file: records submitted together
// share one transaction, every promise resolves only after its commit, and one bad record
// does not keep the others of its batch from being acknowledged.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AccountingCore } from "../../src/accounting/core.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { WorkerStore } from "../../src/store/worker-store.ts";
import { rec } from "../store/fixtures.ts";

async function withCore(fn: (core: AccountingCore, store: SqliteStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tally-core-"));
  const store = SqliteStore.open(join(dir, "tally.db"));
  const core = new AccountingCore(store, { defaultInterimInterval: 300, maxBatch: 1000 });
  try {
    await fn(core, store);
  } finally {
    await core.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("accounting core", () => {
  it("commits records submitted in the same turn as one batch", () =>
    withCore(async (core, store) => {
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => core.submit(rec({ kind: "start", sessionId: `s${i}` }))));
      assert.equal(results.length, 50);
      assert.ok(results.every((r) => !r.duplicate && r.sessionPk !== null), "results.every((r) => !r.duplicate && r.sessionPk !== null)");
      assert.equal(core.stats.batches, 1);
      assert.equal(core.stats.largestBatch, 50);
      assert.equal(core.stats.committed, 50);
      assert.equal((await store.listSessions()).length, 50);
    }));

  it("splits batches at maxBatch", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tally-core-"));
    const store = SqliteStore.open(join(dir, "tally.db"));
    const core = new AccountingCore(store, { defaultInterimInterval: 300, maxBatch: 7 });
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => core.submit(rec({ kind: "start", sessionId: `s${i}` }))));
      assert.equal(core.stats.batches, 3);
      assert.equal(core.stats.largestBatch, 7);
    } finally {
      await core.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("with two batches in flight on the worker store, every record is committed and answered once, and close waits for both", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tally-core-"));
    const store = await WorkerStore.open(join(dir, "tally.db"));
    const core = new AccountingCore(store, { defaultInterimInterval: 300, maxBatch: 50, maxBatchesInFlight: 2 });
    try {
      let inFlightSeen = 0;
      const append = store.appendRecords.bind(store);
      let inFlight = 0;
      store.appendRecords = async (records, interval) => {
        inFlightSeen = Math.max(inFlightSeen, ++inFlight);
        try {
          return await append(records, interval);
        } finally {
          inFlight--;
        }
      };
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < 400; i++) {
        pending.push(core.submit(rec({ kind: "start", sessionId: `p${i}` })));
        if (i % 40 === 39) await new Promise((r) => setImmediate(r));
      }
      const closing = core.close();
      const results = (await Promise.all(pending)) as { duplicate: boolean }[];
      await closing;
      assert.equal(results.filter((r) => !r.duplicate).length, 400);
      assert.equal(core.stats.committed, 400);
      assert.equal(inFlightSeen, 2, "a second batch went to the store while the first was being committed");
      assert.equal((await store.listSessions({ limit: 1000 })).length, 400);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a record the store refuses is rejected alone; its batch-mates are committed", () =>
    withCore(async (core, store) => {
      const errors: number[] = [];
      const good = [0, 1, 2].map((i) => core.submit(rec({ kind: "start", sessionId: `ok${i}` })));
      // A fractional session time violates the STRICT INTEGER column: a real store failure.
      const bad = core.submit(rec({ kind: "interim", sessionId: "bad", sessionTime: 1.5 }));
      const settled = await Promise.allSettled([...good, bad]);
      errors.push(...settled.flatMap((s, i) => (s.status === "rejected" ? [i] : [])));
      assert.deepEqual(errors, [3]);
      assert.deepEqual((await store.listSessions()).map((s) => s.sessionId).sort(), ["ok0", "ok1", "ok2"]);
      assert.equal(core.stats.committed, 3);
    }));

  it("counts duplicates and resolves them with the first copy's ids", () =>
    withCore(async (core) => {
      const r = rec({ kind: "start", sessionId: "dup" });
      const first = await core.submit(r);
      const again = await core.submit({ ...r });
      assert.equal(again.duplicate, true);
      assert.equal(again.recordId, first.recordId);
      assert.equal(core.stats.duplicates, 1);
    }));

  it("close() waits for queued records and then refuses new ones", () =>
    withCore(async (core, store) => {
      const pending = core.submit(rec({ kind: "start", sessionId: "late" }));
      await core.close();
      await pending;
      assert.equal((await store.listSessions()).length, 1);
      await assert.rejects(core.submit(rec({ kind: "start", sessionId: "after" })), /closed/);
    }));
});
