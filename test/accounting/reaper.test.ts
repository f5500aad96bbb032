// The reaper as `tally serve` runs it: each reaped session logged and announced, a failing run
// logged and retried at the next, no overlapping runs, stop() waiting for a run under way, and
// reapInterval 0 running nothing. Real timers at reapInterval 1 s; waits are polls with
// generous limits.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { Reaper } from "../../src/accounting/reaper.ts";
import type { Session } from "../../src/model/session.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import type { Store } from "../../src/store/store.ts";
import { MIN, T0, rec } from "../store/fixtures.ts";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "info" }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  return { logger, lines };
}

async function poll(ms: number, what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A store with two sessions that went silent in 2024 (interval 60) and one without an interval. */
async function storeWithSilentSessions(): Promise<SqliteStore> {
  const store = SqliteStore.open(":memory:");
  await store.appendRecords([rec({ kind: "start", sessionId: "a", user: "ann", interimInterval: 60 })], null);
  await store.appendRecords([rec({ kind: "start", sessionId: "b", user: "bob", interimInterval: 60 })], null);
  await store.appendRecords([rec({ kind: "interim", sessionId: "b", user: "bob", eventTime: T0 + MIN, inputOctets: 10 })], null);
  await store.appendRecords([rec({ kind: "start", sessionId: "c", user: "cy" })], null);
  return store;
}

describe("reaper", () => {
  it("run(): closes what is overdue, logs each session at info, announces each once", async () => {
    const store = await storeWithSilentSessions();
    const { logger, lines } = capture();
    const announced: Session[] = [];
    const reaper = new Reaper(store, { reapInterval: 60, staleGrace: 60 }, logger, async (s) => void announced.push(s));
    try {
      const reaped = await reaper.run();
      assert.deepEqual(reaped.map((s) => s.sessionId), ["a", "b"]);
      assert.deepEqual(announced.map((s) => [s.sessionId, s.status, s.terminateCause]), [
        ["a", "stale", "Lost-Service"],
        ["b", "stale", "Lost-Service"],
      ]);
      const logged = lines.filter((l) => l.msg === "session reaped: stale");
      assert.deepEqual(
        logged.map((l) => [l.level, l.user, l.nas, l.sessionId, l.lastUpdate, l.interimInterval]),
        [
          [30, "ann", "nas-a", "a", new Date(T0).toISOString(), 60],
          [30, "bob", "nas-a", "b", new Date(T0 + MIN).toISOString(), 60],
        ],
      );
      assert.deepEqual(await reaper.run(), [], "nothing left to reap");
      assert.equal(announced.length, 2, "no second announcement");
      const c = (await store.listSessions({ status: "open" })).map((s) => s.sessionId);
      assert.deepEqual(c, ["c"], "the session without an interval stays open");
    } finally {
      await reaper.stop();
      await store.close();
    }
  });

  it("a failing run is logged and the next run tries again; the timer keeps going", async () => {
    const store = await storeWithSilentSessions();
    const { logger, lines } = capture();
    let calls = 0;
    const flaky = {
      reapOverdue: (now: number, grace: number) => (++calls === 1 ? Promise.reject(new Error("disk I/O error")) : store.reapOverdue(now, grace)),
    } as unknown as Store;
    const announced: string[] = [];
    // A clock an hour ahead once started, so the silence also counts from the start.
    let clock = Date.now();
    const reaper = new Reaper(flaky, { reapInterval: 1, staleGrace: 60 }, logger, async (s) => void announced.push(s.sessionId), () => clock);
    try {
      reaper.start();
      clock += 3600_000;
      await poll(10_000, "two sessions announced after a failed run", () => announced.length === 2);
      const failed = lines.find((l) => l.msg === "reaper run failed; trying again at the next run");
      assert.ok(failed, "the failure is logged");
      assert.equal(failed.level, 50, "at error");
      assert.match(JSON.stringify(failed.err), /disk I\/O error/);
      assert.deepEqual(announced, ["a", "b"]);
      assert.ok(calls >= 2, `the store was asked again (${calls} calls)`);
    } finally {
      await reaper.stop();
      await store.close();
    }
  });

  it("silence before start() does not count: after an outage sessions get interval x 2 + grace from the start", async () => {
    const store = await storeWithSilentSessions();
    let clock = Date.now();
    const started = clock;
    // A long interval: the timer never fires here; runs are called directly.
    const reaper = new Reaper(store, { reapInterval: 3600, staleGrace: 60 }, capture().logger, async () => {}, () => clock);
    try {
      reaper.start();
      clock = started + (2 * 60 + 60) * 1000;
      assert.deepEqual(await reaper.run(), [], "silent since 2024, but only 180 s since the start: not yet");
      clock += 1;
      assert.deepEqual((await reaper.run()).map((s) => s.sessionId), ["a", "b"], "1 ms later: stale");
    } finally {
      await reaper.stop();
      await store.close();
    }
  });

  it("runs do not overlap, and stop() waits for the run under way and ends the schedule", async () => {
    const { logger } = capture();
    let calls = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    let release!: () => void;
    const slow = {
      reapOverdue: async () => {
        calls++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // The first run hangs until released: longer than the 1 s interval.
        if (calls === 1) await new Promise<void>((r) => (release = r));
        inFlight--;
        return [];
      },
    } as unknown as Store;
    const reaper = new Reaper(slow, { reapInterval: 1, staleGrace: 0 }, logger, async () => {});
    reaper.start();
    await poll(10_000, "the first run started", () => calls === 1);
    await sleep(1500);
    assert.equal(calls, 1, "no second run while the first is under way");
    let stopped = false;
    const stopping = reaper.stop().then(() => (stopped = true));
    await sleep(100);
    assert.equal(stopped, false, "stop() waits for the run under way");
    release();
    await stopping;
    assert.equal(maxInFlight, 1);
    await sleep(1500);
    assert.equal(calls, 1, "no run after stop()");
  });

  it("reapInterval 0: start() runs nothing", async () => {
    let calls = 0;
    const store = { reapOverdue: async () => (calls++, []) } as unknown as Store;
    const reaper = new Reaper(store, { reapInterval: 0, staleGrace: 60 }, capture().logger, async () => {});
    reaper.start();
    await sleep(1500);
    await reaper.stop();
    assert.equal(calls, 0);
  });
});
