// "Nothing acknowledged is ever lost", under the worst a node can suffer: SIGKILL, ten times,
// during a steady load. pyrad (python3-pyrad) plays the NASes: it keeps Starts of new sessions
// in flight, retransmits each until answered (as a NAS does while its server restarts), and
// prints every session whose Accounting-Response it verified. After the tenth kill and a last
// restart, every one of those sessions must be in the store. Run on both stores.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openStore } from "../../src/store/index.ts";
import { PostgresServer, postgresUnavailable } from "../support/postgres.ts";
import { freeUdpPort } from "../support/ports.ts";
import { BASE_CONFIG, makeTempDir, sleep, startTally, type TallyProcess } from "./harness.ts";
import { startSteadyLoad } from "./steady-load.ts";

const KILLS = 10;
const pgMissing = postgresUnavailable();

for (const backend of ["sqlite", "postgres"] as const) {
  describe(`SIGKILL ${KILLS} times during a steady load: ${backend}`, { skip: backend === "postgres" ? (pgMissing ?? false) : false }, () => {
    let server: PostgresServer | undefined;
    let tally: TallyProcess | undefined;
    const dir = makeTempDir();
    after(async () => {
      await tally?.cleanup();
      server?.destroy();
    });

    it("every acknowledged record is in the store afterwards", async (t) => {
      let store: object = { sqlite: "./tally.db" };
      if (backend === "postgres") {
        server = await PostgresServer.start();
        store = { postgres: await server.createDatabase("kill"), spool: false };
      }
      const port = await freeUdpPort();
      const config = { ...BASE_CONFIG, store, radius: { auth: null, acct: `127.0.0.1:${port}` } };
      tally = await startTally(config, dir);
      const stopFile = join(dir, "stop-load");
      const load = startSteadyLoad(port, `k${process.pid}`, stopFile, 120);

      const ackedAtKill: number[] = [];
      for (let k = 0; k < KILLS; k++) {
        // Let the load run (and get answers) between kills, then kill at an arbitrary moment.
        const before = load.acknowledged.length;
        const deadline = Date.now() + 10_000;
        while (load.acknowledged.length < before + 20 && Date.now() < deadline) await sleep(20);
        await sleep(50 + Math.floor(Math.random() * 300));
        await tally.kill9();
        ackedAtKill.push(load.acknowledged.length);
        tally = await startTally(config, dir);
      }
      await sleep(500);
      writeFileSync(stopFile, "");
      const summary = await load.finished;

      // Progress after every kill: the load really ran across all restarts.
      for (let k = 1; k < ackedAtKill.length; k++) {
        assert.ok(ackedAtKill[k]! > ackedAtKill[k - 1]!, `records were acknowledged between kill ${k} and kill ${k + 1}`);
      }
      assert.equal(summary.acknowledged, load.acknowledged.length);
      assert.ok(load.acknowledged.length > KILLS * 20, `a real load: ${load.acknowledged.length} acknowledged`);

      await tally.stop();
      const s = await openStore(backend === "postgres" ? { postgres: (store as { postgres: string }).postgres, poolSize: 2, spool: false, journal: "" } : { sqlite: join(dir, "tally.db") });
      try {
        const stored = new Set<string>();
        for (let after = 0; ; ) {
          const page = await s.exportSessions({}, after, 5000);
          if (page.length === 0) break;
          for (const sess of page) stored.add(sess.sessionId);
          after = page[page.length - 1]!.id;
        }
        t.diagnostic(`${KILLS} kills; ${summary.done} sessions sent, ${load.acknowledged.length} acknowledged, ${stored.size} stored`);
        const lost = load.acknowledged.filter((id) => !stored.has(id));
        assert.deepEqual(lost, [], `acknowledged but not stored (of ${load.acknowledged.length} acknowledged, ${stored.size} stored, ${summary.done} sent)`);
      } finally {
        await s.close();
      }
    });
  });
}
