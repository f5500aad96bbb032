// The spool across SIGKILL: every batch a child acknowledged from the journal (the store down)
// is in the store after the journal is replayed by the next process, whole; and a replay
// killed midway and started again stores every record exactly once.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import type { AccountingRecord } from "../../src/model/record.ts";
import { Journal } from "../../src/store/journal.ts";
import { SpoolingStore } from "../../src/store/spooling-store.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { batchFor } from "./durability-batch.ts";
import { tempDir, type TempDir } from "./fixtures.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, "spool-child.ts");

let tmp: TempDir;
before(() => {
  tmp = tempDir();
});
after(() => tmp.cleanup());

/** Runs the child until `enough` says so from its stdout lines, SIGKILLs it, returns the lines. */
function runAndKill(args: string[], enough: (lines: string[]) => boolean): Promise<{ lines: string[]; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], { cwd: path.resolve(here, "../.."), stdio: ["ignore", "pipe", "pipe"] });
    const lines: string[] = [];
    let out = "";
    let err = "";
    let killed = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`child did not get far enough in time; stderr: ${err}`));
    }, 30_000);
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      let nl: number;
      while ((nl = out.indexOf("\n")) >= 0) {
        lines.push(out.slice(0, nl));
        out = out.slice(nl + 1);
      }
      if (!killed && enough(lines)) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (!killed) reject(new Error(`child exited on its own (code ${code}); stderr: ${err}`));
      else resolve({ lines, signal });
    });
  });
}

/** Every record of `sent` stored once, every session closed with its stop's counters. */
async function assertStoredOnce(store: SqliteStore, sent: AccountingRecord[]): Promise<void> {
  const keys = (await store.exportRecords({}, 0, 1_000_000)).map((r) => r.dedupKey);
  assert.equal(new Set(keys).size, keys.length, "no record stored twice");
  assert.deepEqual([...keys].sort(), sent.map((r) => r.dedupKey).sort());
  const stops = new Map(sent.filter((r) => r.kind === "stop").map((r) => [r.sessionId, r]));
  for (const s of await store.listSessions({ limit: 1_000_000 })) {
    const stop = stops.get(s.sessionId);
    assert.equal(s.status, "closed", `session ${s.sessionId}`);
    assert.equal(s.inputOctets, stop?.inputOctets, `session ${s.sessionId} inputOctets`);
    assert.equal(s.outputOctets, stop?.outputOctets, `session ${s.sessionId} outputOctets`);
  }
}

test("every batch acknowledged from the journal before a SIGKILL is in the store once the next process replays it", async () => {
  const journal = tmp.file("crash.journal");
  const db = tmp.file("crash.db");
  const { lines, signal } = await runAndKill(["spool", journal, db], (l) => l.length >= 25);
  assert.equal(signal, "SIGKILL");
  const acked = lines.map((l) => Number(/^acked (\d+)$/.exec(l)?.[1]));
  assert.ok(acked.length >= 25, `acked ${acked.length}`);
  assert.deepEqual(acked, acked.map((_, i) => i), "acknowledged in order");

  const store = SqliteStore.open(db);
  assert.equal((await store.listSessions()).length, 0, "the store was down: nothing in it yet");
  const spool = await SpoolingStore.open(store, journal);
  // Batches written but not yet acknowledged may be there too, but never in part.
  assert.ok(spool.depth >= 3 * acked.length && spool.depth % 3 === 0, `depth ${spool.depth} for ${acked.length} acknowledged batches`);
  const inJournal = spool.depth / 3;
  await spool.replay();
  assert.equal(spool.depth, 0);
  const sent = Array.from({ length: inJournal }, (_, n) => batchFor(n)).flat();
  await assertStoredOnce(store, sent);
  process.stdout.write(`# acknowledged ${acked.length} batches before SIGKILL; ${inJournal} in the journal; replayed ${spool.stats.replayed} records\n`);
  await spool.close();
});

test("a replay killed midway and started again stores every record exactly once", async () => {
  const journal = tmp.file("replay.journal");
  const db = tmp.file("replay.db");
  const batches = 300;
  {
    const { journal: j } = await Journal.open(journal);
    for (let n = 0; n < batches; n++) await j.append(batchFor(n), 600);
    await j.close();
  }
  const { lines, signal } = await runAndKill(["replay", journal, db], (l) => l.length >= 20);
  assert.equal(signal, "SIGKILL");
  assert.ok(!lines.includes("drained"), "killed before the replay finished");
  const replayedBefore = Number(/^replayed (\d+)$/.exec(lines.at(-1)!)?.[1]);

  const store = SqliteStore.open(db);
  const spool = await SpoolingStore.open(store, journal, { replayBatch: 3, replayInFlight: 2 });
  const left = spool.depth;
  assert.ok(left > 0 && left <= 3 * batches - replayedBefore, `left ${left} after ${replayedBefore} replayed`);
  await spool.replay();
  const sent = Array.from({ length: batches }, (_, n) => batchFor(n)).flat();
  await assertStoredOnce(store, sent);
  // At most the batches in flight when the kill landed (two calls of one batch) are replayed
  // twice, and found as duplicates.
  assert.ok(spool.stats.duplicates <= 6, `duplicates ${spool.stats.duplicates}`);
  process.stdout.write(`# killed after ${replayedBefore} records replayed (reported); ${left} left in the journal; second run: ${spool.stats.replayed} replayed, ${spool.stats.duplicates} duplicates\n`);
  await spool.close();
});
