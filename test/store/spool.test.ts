// The spool (SpoolingStore) over a real SQLite file, with PostgreSQL's outage played by a fault
// injector (faulty-store.ts: ECONNREFUSED while switched off): records are acknowledged from
// the journal only once it is on disk, replayed in order and exactly once (also across a lost
// answer and a restart mid-replay), later records wait behind the journal; errors that are
// not unavailability still reject; what the store refuses during a replay is set aside.

import assert from "node:assert/strict";
import fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { AccountingCore } from "../../src/accounting/core.ts";
import { AccountingService } from "../../src/accounting/service.ts";
import type { AccountingRecord } from "../../src/model/record.ts";
import { PluginHost } from "../../src/plugins/host.ts";
import { storeView } from "../../src/plugins/store-view.ts";
import { encodeBatch, scanFrames } from "../../src/store/journal-codec.ts";
import { Journal } from "../../src/store/journal.ts";
import { isStoreUnavailable, SpoolingStore, type SpoolingStoreOptions } from "../../src/store/spooling-store.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import type { AppendResult } from "../../src/store/store.ts";
import { faultyStore, unreachable, type Faults } from "./faulty-store.ts";
import { MIN, rec, T0, tempDir, type TempDir } from "./fixtures.ts";

let tmp: TempDir;
before(() => {
  tmp = tempDir();
});
after(() => tmp.cleanup());

type Line = Record<string, unknown> & { msg: string; level: number };
function captureLogger() {
  const lines: Line[] = [];
  const logger = pino({ level: "debug" }, { write: (l: string) => lines.push(JSON.parse(l) as Line) });
  return { logger, lines };
}

interface Rig {
  sqlite: SqliteStore;
  faults: Faults;
  spool: SpoolingStore;
  journal: string;
  lines: Line[];
}

async function rig(name: string, options: SpoolingStoreOptions = {}): Promise<Rig> {
  const sqlite = SqliteStore.open(tmp.file(`${name}.db`));
  const { store, faults } = faultyStore(sqlite);
  const { logger, lines } = captureLogger();
  const journal = tmp.file(`${name}.journal`);
  const spool = await SpoolingStore.open(store, journal, { logger, retryMinMs: 5, retryMaxMs: 20, ...options });
  return { sqlite, faults, spool, journal, lines };
}

/** Session `id`: a start, `interims` interims with growing counters, and a stop. */
function session(id: string, interims: number): AccountingRecord[] {
  const at = T0;
  const out = [rec({ kind: "start", sessionId: id, eventTime: at, dedupKey: `${id}-start` })];
  for (let k = 1; k <= interims; k++) {
    out.push(rec({ kind: "interim", sessionId: id, eventTime: at + k * MIN, inputOctets: 1000 * k, outputOctets: 10 * k, sessionTime: 60 * k, dedupKey: `${id}-i${k}` }));
  }
  const n = interims + 1;
  out.push(rec({ kind: "stop", sessionId: id, eventTime: at + n * MIN, inputOctets: 1000 * n, outputOctets: 10 * n, sessionTime: 60 * n, terminateCause: "User-Request", dedupKey: `${id}-stop` }));
  return out;
}

/** Every record in the store, by id: each dedupKey must be there once, with the session's totals right. */
async function checkExactlyOnce(sqlite: SqliteStore, sent: AccountingRecord[]): Promise<string[]> {
  const stored = await sqlite.exportRecords({}, 0, 1_000_000);
  const keys = stored.map((r) => r.dedupKey);
  assert.equal(new Set(keys).size, keys.length, "no record is stored twice");
  assert.deepEqual([...keys].sort(), sent.map((r) => r.dedupKey).sort(), "every acknowledged record is stored");
  const byId = new Map<string, AccountingRecord[]>();
  for (const r of sent) byId.set(r.sessionId!, [...(byId.get(r.sessionId!) ?? []), r]);
  for (const s of await sqlite.listSessions({ limit: 1_000_000 })) {
    const stop = byId.get(s.sessionId)!.at(-1)!;
    assert.deepEqual(
      { status: s.status, inputOctets: s.inputOctets, outputOctets: s.outputOctets, sessionTime: s.sessionTime },
      { status: "closed", inputOctets: stop.inputOctets, outputOctets: stop.outputOctets, sessionTime: stop.sessionTime },
      `session ${s.sessionId}`,
    );
  }
  // Usage sums what each stored record added: a record counted twice would show here.
  const usage = await sqlite.usage("alice", null);
  const expected = [...byId.values()].reduce((n, rs) => n + rs.at(-1)!.inputOctets!, 0);
  assert.equal(usage.inputOctets, expected, "usage counts every session's octets once");
  return keys;
}

const isSpooled = (r: AppendResult) => r.spooled === true && r.recordId === 0 && r.sessionPk === null && r.duplicate === false;

describe("spool", () => {
  test("with the store up and the journal empty, appends go straight to the store", async () => {
    const { sqlite, faults, spool, journal } = await rig("up");
    const results = await spool.appendRecords(session("u-1", 1), 600);
    assert.ok(results.every((r) => r.recordId > 0 && r.sessionPk !== null && r.spooled === undefined), "stored results");
    assert.equal(faults.stored.length, 1);
    assert.equal(spool.depth, 0);
    assert.equal(fs.statSync(journal).size, 0, "nothing journaled");
    await spool.close();
    assert.equal(sqlite.database.open, false, "closing the spool closes the store");
  });

  test("during an outage records are acknowledged once in the journal on disk, replayed in order exactly once; later ones wait behind", async () => {
    const { sqlite, faults, spool, journal, lines } = await rig("outage");
    const sent: AccountingRecord[] = [];
    faults.down = true;
    for (const id of ["o-1", "o-2", "o-3"]) {
      const records = session(id, 2);
      const results = await spool.appendRecords(records, 600);
      sent.push(...records);
      assert.ok(results.length === 4 && results.every(isSpooled), "acknowledged as spooled");
      // At acknowledgement the batch is in the file (written, and fdatasync'd: journal.test.ts).
      const onDisk = scanFrames(fs.readFileSync(journal)).frames.map((f) => f.count);
      assert.equal(onDisk.reduce((a, b) => a + b, 0), sent.length, "the journal file holds every acknowledged record");
    }
    assert.equal(spool.depth, 12);
    assert.equal((await sqlite.listSessions()).length, 0, "nothing reached the store");
    assert.ok(lines.some((l) => l.level === 40 && /store unreachable: acknowledging records from the spool journal/.test(l.msg)), "spooling start is logged");

    // Reads go to the store and say why they fail.
    await assert.rejects(spool.listSessions(), /listSessions: the store is unreachable \(connect ECONNREFUSED .*\); 12 records wait in the spool journal/);
    // No reaping while records of open sessions may be waiting.
    assert.deepEqual(await spool.reapOverdue(T0 + 10 ** 9, 0), []);

    // The store returns, but its first commits are held back: a record made now queues behind.
    let open!: () => void;
    faults.gate = new Promise<void>((r) => (open = r));
    faults.down = false;
    const replay = spool.replay();
    const later = session("o-4", 0);
    const laterResults = await spool.appendRecords(later, 600);
    sent.push(...later);
    assert.ok(laterResults.every(isSpooled), "a record made while the journal holds others is spooled behind them");
    open();
    faults.gate = null;
    await replay;
    assert.equal(spool.depth, 0);
    assert.equal(fs.statSync(journal).size, 0, "the replayed journal is emptied");

    const keys = await checkExactlyOnce(sqlite, sent);
    assert.deepEqual(keys, sent.map((r) => r.dedupKey), "stored in the order acknowledged");
    assert.deepEqual(spool.stats, { spooled: 14, replayed: 14, duplicates: 0, rejected: 0 });
    const done = lines.find((l) => /spool replayed/.test(l.msg));
    assert.equal(done?.records, 14);
    assert.equal(done?.duplicates, 0);

    // Drained: straight to the store again.
    const direct = await spool.appendRecords(session("o-5", 0), 600);
    assert.ok(direct.every((r) => r.recordId > 0), "stored directly");
    await spool.close();
  });

  test("an answer lost after the commit makes the replay repeat a batch: duplicates, never double counts", async () => {
    const { sqlite, faults, spool } = await rig("lost", { replayBatch: 4, replayInFlight: 2 });
    faults.down = true;
    const sent: AccountingRecord[] = [];
    for (let n = 0; n < 5; n++) {
      const records = session(`l-${n}`, 2);
      sent.push(...records);
      await spool.appendRecords(records, 600);
    }
    faults.down = false;
    faults.loseAnswers = 2;
    await spool.replay();
    const keys = await checkExactlyOnce(sqlite, sent);
    assert.deepEqual(keys, sent.map((r) => r.dedupKey), "stored in the order acknowledged, two calls in flight at a time");
    // Replay calls go two at a time: the first two batches (4 records each) were committed,
    // their answers lost, and committed again (duplicates); then the other three.
    assert.equal(faults.stored.length, 7);
    assert.deepEqual(spool.stats, { spooled: 20, replayed: 20, duplicates: 8, rejected: 0 });
    await spool.close();
  });

  test("a replay stopped midway and restarted replays the rest, and the batch whose answer was lost again as duplicates", async () => {
    const first = await rig("restart", { replayBatch: 4, replayInFlight: 2 });
    first.faults.down = true;
    const sent: AccountingRecord[] = [];
    for (let n = 0; n < 6; n++) {
      const records = session(`r-${n}`, 2);
      sent.push(...records);
      await first.spool.appendRecords(records, 600);
    }
    first.faults.down = false;
    let replays = 0;
    let closing: Promise<void> = Promise.resolve();
    // Replay calls go two at a time. After the first two, the third commits and its answer is
    // lost, and the spool is stopped right then, as a crash or a restart would stop it; the
    // fourth, in flight beside it, commits too.
    first.spool.onReplayed(() => {
      if (++replays === 2) first.faults.loseAnswers = 1;
    });
    first.faults.onLoss = () => (closing = first.spool.close());
    await first.spool.replay();
    await closing;
    assert.equal(replays, 2);
    assert.equal(first.faults.stored.length, 4, "four batches reached the store");
    assert.equal(first.spool.depth, 16, "the third and fourth batches are still in the journal (not recorded as replayed)");

    const sqlite = SqliteStore.open(first.sqlite.database.name);
    const { logger, lines } = captureLogger();
    const spool = await SpoolingStore.open(sqlite, first.journal, { logger, retryMinMs: 5, replayBatch: 4, replayInFlight: 2 });
    assert.equal(spool.depth, 16);
    assert.ok(lines.some((l) => /spool journal holds records from before/.test(l.msg) && l.records === 16), "leftovers are logged at open");
    await spool.replay();
    await checkExactlyOnce(sqlite, sent);
    assert.deepEqual(spool.stats, { spooled: 0, replayed: 16, duplicates: 8, rejected: 0 });
    await spool.close();
  });

  test("appends that find the store down together join the journal in the order they were made", async () => {
    const { sqlite, faults, spool } = await rig("concurrent");
    faults.down = true;
    // The first call's failure comes back after the second's.
    faults.delay = (call) => (call === 0 ? 80 : call === 1 ? 5 : 0);
    const a = session("c-a", 0);
    const b = session("c-b", 0);
    const [ra, rb] = await Promise.all([spool.appendRecords(a, 600), spool.appendRecords(b, 600)]);
    assert.ok([...ra, ...rb].every(isSpooled), "both spooled");
    faults.down = false;
    faults.delay = () => 0;
    await spool.replay();
    const keys = await checkExactlyOnce(sqlite, [...a, ...b]);
    assert.deepEqual(keys, [...a, ...b].map((r) => r.dedupKey));
    await spool.close();
  });

  test("with the journal empty the reaper goes to the store, with its `since`; with records waiting it reaps nothing", async () => {
    const { faults, spool } = await rig("reaper");
    // An open session told to report every 60 s, last heard of at T0.
    await spool.appendRecords([rec({ kind: "start", sessionId: "re-1", interimInterval: 60, dedupKey: "re-1-start" })], 60);
    const now = T0 + 10 * MIN;
    // Silence counted from `since` (the server's start, a minute ago): not stale yet.
    assert.deepEqual(await spool.reapOverdue(now, 0, now - MIN), []);
    faults.down = true;
    await spool.appendRecords([rec({ kind: "start", sessionId: "re-2", dedupKey: "re-2-start" })], 60);
    faults.down = false;
    assert.deepEqual(await spool.reapOverdue(now, 0), [], "records wait in the journal: nothing reaped");
    await spool.replay();
    assert.deepEqual((await spool.reapOverdue(now, 0)).map((s) => s.sessionId), ["re-1", "re-2"]);
    await spool.close();
  });

  test("an error that is not unavailability rejects and spools nothing", async () => {
    const { faults, spool, journal } = await rig("refused");
    faults.refuse = (r) => r.dedupKey === "bad-1";
    const err = await spool.appendRecords([rec({ kind: "start", sessionId: "bad", dedupKey: "bad-1" })], 600).then(
      () => null,
      (e: unknown) => e as Error & { code?: string },
    );
    assert.equal(err?.code, "23505");
    assert.equal(spool.depth, 0);
    assert.equal(fs.statSync(journal).size, 0);
    await spool.close();
  });

  test("a spooled record the store refuses at replay is set aside in .rejected, not lost; the others are stored", async () => {
    const { sqlite, faults, spool, journal, lines } = await rig("poison", { rejectAttempts: 2 });
    faults.down = true;
    const records = session("p-1", 1);
    await spool.appendRecords(records, 600);
    faults.down = false;
    faults.refuse = (r) => r.dedupKey === "p-1-i1";
    await spool.replay();
    assert.equal(spool.depth, 0);
    assert.deepEqual(spool.stats, { spooled: 3, replayed: 3, duplicates: 0, rejected: 1 });
    const setAside = fs.readFileSync(`${journal}.rejected`, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { record: AccountingRecord; interval: number; error: string });
    assert.equal(setAside.length, 1);
    assert.deepEqual(setAside[0]!.record, records[1]);
    assert.equal(setAside[0]!.interval, 600);
    assert.match(setAside[0]!.error, /unique constraint/);
    assert.deepEqual((await sqlite.exportRecords({}, 0, 100)).map((r) => r.dedupKey), ["p-1-start", "p-1-stop"]);
    assert.ok(lines.some((l) => l.level === 50 && /refuses a spooled record/.test(l.msg)), "logged at error");
    await spool.close();
  });

  test("a journal with a half-written last frame replays the complete frames", async () => {
    const journal = tmp.file("torn-replay.journal");
    const sent: AccountingRecord[] = [];
    {
      const { journal: j } = await Journal.open(journal);
      for (let n = 0; n < 3; n++) {
        const records = session(`t-${n}`, 1);
        sent.push(...records);
        await j.append(records, 600);
      }
      await j.close();
    }
    const torn = encodeBatch(4, 600, session("t-torn", 1));
    fs.appendFileSync(journal, torn.subarray(0, torn.length - 7));
    const sqlite = SqliteStore.open(tmp.file("torn-replay.db"));
    const { logger, lines } = captureLogger();
    const spool = await SpoolingStore.open(sqlite, journal, { logger });
    assert.equal(spool.depth, 9);
    const warn = lines.find((l) => /torn last write/.test(l.msg));
    assert.equal(warn?.bytes, torn.length - 7);
    await spool.replay();
    await checkExactlyOnce(sqlite, sent);
    assert.equal((await sqlite.listSessions({ limit: 100 })).some((s) => s.sessionId === "t-torn"), false, "the torn batch was never acknowledged");
    await spool.close();
  });

  test("the accounting core acknowledges from the spool during an outage, and without the spool rejects", async () => {
    const spooled = await rig("core-on");
    spooled.faults.down = true;
    const core = new AccountingCore(spooled.spool, { defaultInterimInterval: 600, maxBatch: 100 });
    const results = await Promise.all(session("k-1", 3).map((r) => core.submit(r)));
    assert.ok(results.every(isSpooled), "acknowledged from the journal");
    await core.close();
    spooled.faults.down = false;
    await spooled.spool.replay();
    assert.equal((await spooled.sqlite.listRecords((await spooled.sqlite.listSessions())[0]!.id)).length, 5);
    await spooled.spool.close();

    // store.spool: false is the store without the wrapper.
    const sqlite = SqliteStore.open(tmp.file("core-off.db"));
    const { store, faults } = faultyStore(sqlite);
    faults.down = true;
    const bare = new AccountingCore(store, { defaultInterimInterval: 600, maxBatch: 100 });
    const settled = await Promise.allSettled(session("k-2", 1).map((r) => bare.submit(r)));
    assert.deepEqual(settled.map((s) => s.status), ["rejected", "rejected", "rejected"]);
    assert.equal(bare.stats.committed, 0, "nothing acknowledged");
    await bare.close();
    await sqlite.close();
  });

  test("plugins see a spooled record with no session and spooled: true; the sessions it closed are announced at replay", async () => {
    const { sqlite, faults, spool } = await rig("plugins");
    const file = tmp.file("probe.jsonl");
    const probe = join(import.meta.dirname, "..", "plugins", "fixtures", "probe.ts");
    const logger = pino({ level: "silent" });
    const host = await PluginHost.load([{ module: probe, resolved: { path: probe }, options: { file }, timeoutMs: 2000, baseDir: "/" }], storeView(spool), logger);
    const core = new AccountingCore(spool, { defaultInterimInterval: 600, maxBatch: 100 });
    const service = new AccountingService(core, spool, () => host, logger);
    spool.onReplayed((records, results) => service.replayed(records, results));
    faults.down = true;
    for (const r of session("pl-1", 1)) {
      const outcome = await service.account(r);
      assert.equal(outcome.status, "ok");
      assert.equal(outcome.session, null);
      assert.equal(outcome.result.spooled, true);
    }
    const calls = () => fs.readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(calls().map((c) => [c.hook, c.kind, c.spooled, c.sessionStatus]), [
      ["accounting", "start", true, null],
      ["accounting", "interim", true, null],
      ["accounting", "stop", true, null],
    ]);
    faults.down = false;
    await spool.replay();
    for (let i = 0; i < 100 && calls().length < 4; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(calls()[3], { hook: "sessionClosed", sessionId: "pl-1", status: "closed" });
    // Once replayed, records are stored and plugins see their session as before.
    const outcome = await service.account(rec({ kind: "interim", sessionId: "pl-2", dedupKey: "pl-2-i" }));
    assert.equal(outcome.session?.sessionId, "pl-2");
    assert.deepEqual(calls().map((c) => c.spooled).at(-1), false);
    await core.close();
    await host.close();
    await spool.close();
    assert.equal(sqlite.database.open, false, "closed");
  });
});

describe("isStoreUnavailable", () => {
  const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });
  test("socket errors, PostgreSQL connection SQLSTATEs and node-postgres's connection errors are unavailability", () => {
    const yes = [
      unreachable(),
      ...["ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"].map((c) => withCode(c)),
      ...["08000", "08003", "08006", "08001", "08004", "08007", "08P01"].map((c) => withCode(c)),
      withCode("57P01", "terminating connection due to administrator command"),
      withCode("57P02", "terminating connection because of crash of another server process"),
      withCode("57P03", "the database system is starting up"),
      withCode("53300", "sorry, too many clients already"),
      new Error("Connection terminated unexpectedly"),
      new Error("Connection terminated"),
      new Error("Connection terminated due to connection timeout", { cause: new Error("timeout expired") }),
      new Error("timeout exceeded when trying to connect"),
      new Error("Client has encountered a connection error and is not queryable"),
      new Error("Query read timeout"),
      // A store that wraps the driver's error, and Node's connect trying several addresses.
      new Error("postgres: append failed", { cause: unreachable() }),
      Object.assign(new AggregateError([unreachable(), unreachable()], "connect failed")),
    ];
    for (const e of yes) assert.equal(isStoreUnavailable(e), true, `${(e as Error).message} (${(e as { code?: string }).code})`);
  });

  test("anything else is not", () => {
    const no: unknown[] = [
      withCode("23505", "duplicate key value violates unique constraint"),
      withCode("40001", "could not serialize access"),
      withCode("22P05", "unsupported Unicode escape sequence"),
      withCode("42P01", "relation does not exist"),
      withCode("ENOSPC"),
      withCode("28P01", "password authentication failed"),
      new Error("Connection terminated by the plugin"),
      new Error("sqlite: SQLITE_BUSY"),
      new AggregateError([new Error("x")], "y"),
      "ECONNREFUSED",
      null,
      undefined,
    ];
    for (const e of no) assert.equal(isStoreUnavailable(e), false, String((e as Error | null)?.message ?? e));
  });
});
