// PostgreSQL stopped for 20 s under a steady RADIUS load. `tally serve` on a private
// PostgreSQL server; pyrad (python3-pyrad) plays the NASes: it keeps Starts of new sessions in
// flight, retransmits each until answered, and prints every session whose
// Accounting-Response it verified. The server is stopped (fast shutdown: connections cut) for
// 20 s, then started again.
// - spool on: Tally keeps acknowledging from its journal during the outage, replays the
//   journal once the server is back, and every acknowledged session is in the database.
// - spool off: nothing is acknowledged during the outage; the NASes' retransmissions are
//   acknowledged once the server is back, and every acknowledged session is in the database.

import assert from "node:assert/strict";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openStore } from "../../src/store/index.ts";
import { PostgresServer, postgresUnavailable } from "../support/postgres.ts";
import { BASE_CONFIG, makeTempDir, sleep, startTally, within, type TallyProcess } from "./harness.ts";
import { startSteadyLoad, type SteadyLoad } from "./steady-load.ts";

const OUTAGE_MS = 20_000;
async function until(what: string, ms: number, done: () => boolean): Promise<void> {
  await within(ms, what, (async () => {
    while (!done()) await sleep(20);
  })());
}

const pgMissing = postgresUnavailable();

describe("PostgreSQL stopped for 20 s under load", { skip: pgMissing ?? false }, () => {
  let server: PostgresServer | undefined;
  const running: TallyProcess[] = [];
  const loads: SteadyLoad[] = [];
  after(async () => {
    // A test that failed midway leaves its load generator running: stop it (by its PID).
    for (const l of loads) if (l.child.exitCode === null && l.child.signalCode === null) l.child.kill("SIGKILL");
    for (const t of running) await t.cleanup();
    server?.destroy();
  });

  for (const spool of [true, false]) {
    const name = `spool ${spool ? "on: acknowledged from the journal during the outage, replayed after" : "off: nothing acknowledged during the outage"}; no acknowledged record lost`;
    // Longer than npm test's default: a 20 s outage, then the replay of what it left.
    it(name, { timeout: 300_000 }, async (t) => {
      server ??= await PostgresServer.start();
      const url = await server.createDatabase(spool ? "spool_on" : "spool_off");
      const config = { ...BASE_CONFIG, store: { postgres: url, poolSize: 4, spool }, radius: { auth: null, acct: "127.0.0.1:0" } };
      const tally = await startTally(config, makeTempDir());
      running.push(tally);
      const stopFile = join(tally.dir, "stop-load");
      const load = startSteadyLoad(tally.acctPort, `o${spool ? 1 : 0}-${process.pid}`, stopFile, 240);
      loads.push(load);

      await until("100 records acknowledged before the outage", 20_000, () => load.acknowledged.length >= 100);
      server.stopServer();
      // pg_ctl blocked this process: let the answers sent before the server went down arrive.
      await sleep(1000);
      const atStop = load.acknowledged.length;
      await sleep(OUTAGE_MS - 1000);
      const atRestart = load.acknowledged.length;
      await server.startServer();
      const duringOutage = atRestart - atStop;

      if (spool) {
        assert.ok(duringOutage >= 100, `acknowledged during the outage: ${duringOutage}`);
        await tally.waitForLog((l) => l.msg === "store unreachable: acknowledging records from the spool journal until it returns", 1000);
        // The load goes on for 10 s against the restarted server: new records join the journal
        // behind those of the outage while the replay drains it.
        const atRestartDone = load.acknowledged.length;
        await sleep(10_000);
        const whileDraining = load.acknowledged.length - atRestartDone;
        assert.ok(whileDraining > 0, "records acknowledged while the journal drains");
        writeFileSync(stopFile, "");
        const summary = await within(30_000, "the load to finish", load.finished);
        assert.equal(summary.acknowledged, load.acknowledged.length);
        // pyrad keeps 16 Starts in flight whatever the answers' pace: the journal grows by
        // thousands of records a second while the server is down and while it drains, on a
        // machine whose CPUs pyrad, Tally and PostgreSQL share. Its replay may take a while.
        const replayed = await tally.waitForLog((l) => l.msg === "spool replayed: the store has every acknowledged record", 150_000);
        t.diagnostic(
          `spool replayed: ${JSON.stringify({ records: replayed.records, duplicates: replayed.duplicates, batches: replayed.batches, spooledForMs: replayed.spooledForMs })}; ${whileDraining} acknowledged in the 10 s after the restart`,
        );
        assert.ok(Number(replayed.records) >= duringOutage, `replayed ${String(replayed.records)} records, ${duringOutage} acknowledged during the outage`);
        assert.equal(statSync(join(tally.dir, "tally-spool.journal")).size, 0, "the journal is empty once replayed");
      } else {
        assert.equal(duringOutage, 0, "nothing acknowledged while PostgreSQL was down");
        await tally.waitForLog((l) => l.msg === "store commit failed; records not acknowledged", 1000);
        // The load goes on against the restarted server (the NASes' resends, then new records).
        const afterRestart = load.acknowledged.length;
        await until("100 more records acknowledged after the restart", 30_000, () => load.acknowledged.length >= afterRestart + 100);
        writeFileSync(stopFile, "");
        const summary = await within(30_000, "the load to finish", load.finished);
        assert.equal(summary.acknowledged, load.acknowledged.length);
      }
      await tally.stop();

      const store = await openStore({ postgres: url, poolSize: 2, spool: false, journal: "" });
      try {
        const sessions = await store.exportSessions({}, 0, 1_000_000);
        const records = await store.exportRecords({}, 0, 1_000_000);
        const stored = new Set(sessions.map((s) => s.sessionId));
        t.diagnostic(
          `${load.acknowledged.length} acknowledged (${atStop} before the outage, ${duringOutage} during it), ${stored.size} sessions and ${records.length} records stored`,
        );
        const lost = load.acknowledged.filter((id) => !stored.has(id));
        assert.deepEqual(lost, [], "acknowledged but not stored");
        assert.equal(records.length, sessions.length, "one Start per session: each stored once");
        assert.equal(new Set(load.acknowledged).size, load.acknowledged.length, "each session acknowledged once");
      } finally {
        await store.close();
      }
    });
  }
});
