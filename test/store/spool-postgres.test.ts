// The spool in front of the real PostgreSQL store, with the server really stopped (a private
// cluster, test/support/postgres.ts): what node-postgres reports while it is down is taken
// for unavailability, records are acknowledged from the journal and replayed once the server
// is back; openServerStore wraps PostgreSQL only when store.spool is on, and at start-up waits
// (saying so) for a server that is down while the journal holds records.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import type { AccountingRecord } from "../../src/model/record.ts";
import { openServerStore } from "../../src/store/index.ts";
import { Journal } from "../../src/store/journal.ts";
import { PostgresStore } from "../../src/store/postgres.ts";
import { SpoolingStore } from "../../src/store/spooling-store.ts";
import { PostgresServer, postgresUnavailable } from "../support/postgres.ts";
import { MIN, rec, T0, tempDir, type TempDir } from "./fixtures.ts";

const why = postgresUnavailable();

function session(id: string): AccountingRecord[] {
  return [
    rec({ kind: "start", sessionId: id, eventTime: T0, dedupKey: `${id}-start` }),
    rec({ kind: "interim", sessionId: id, eventTime: T0 + MIN, inputOctets: 100, outputOctets: 10, sessionTime: 60, dedupKey: `${id}-i` }),
    rec({ kind: "stop", sessionId: id, eventTime: T0 + 2 * MIN, inputOctets: 300, outputOctets: 30, sessionTime: 120, dedupKey: `${id}-stop` }),
  ];
}

type Line = Record<string, unknown> & { msg: string };
function captureLogger() {
  const lines: Line[] = [];
  return { logger: pino({ level: "info" }, { write: (l: string) => lines.push(JSON.parse(l) as Line) }), lines };
}

async function storedKeys(url: string): Promise<string[]> {
  const store = await PostgresStore.open(url, { poolSize: 1 });
  try {
    return (await store.exportRecords({}, 0, 1_000_000)).map((r) => r.dedupKey);
  } finally {
    await store.close();
  }
}

describe("spool in front of PostgreSQL", { skip: why ?? false }, () => {
  let server: PostgresServer;
  let tmp: TempDir;
  before(async () => {
    server = await PostgresServer.start();
    tmp = tempDir();
  });
  after(() => {
    server?.destroy();
    tmp?.cleanup();
  });

  test("with the server stopped, appends are acknowledged from the journal; restarted, they are replayed into it once", async () => {
    const url = await server.createDatabase("spool");
    const { logger, lines } = captureLogger();
    const spool = await SpoolingStore.open(await PostgresStore.open(url, { poolSize: 2 }), tmp.file("pg.journal"), { logger, retryMinMs: 100, retryMaxMs: 500 });
    const sent: AccountingRecord[] = [];
    try {
      const direct = await spool.appendRecords(session("pg-0"), 600);
      sent.push(...session("pg-0"));
      assert.ok(direct.every((r) => r.recordId > 0 && r.spooled === undefined), "stored in PostgreSQL while it is up");

      server.stopServer();
      const startedAt = Date.now();
      for (let n = 1; n <= 5; n++) {
        const results = await spool.appendRecords(session(`pg-${n}`), 600);
        sent.push(...session(`pg-${n}`));
        assert.ok(results.every((r) => r.spooled === true), `batch ${n} spooled`);
      }
      const spoolMs = Date.now() - startedAt;
      assert.equal(spool.depth, 15);
      const started = lines.find((l) => /acknowledging records from the spool journal/.test(l.msg));
      assert.ok(started !== undefined, "spooling start logged");
      await assert.rejects(spool.listSessions(), /listSessions: the store is unreachable \(.*\); 15 records wait in the spool journal/);

      await server.startServer();
      await spool.replay();
      assert.equal(spool.depth, 0);
      assert.deepEqual(spool.stats, { spooled: 15, replayed: 15, duplicates: 0, rejected: 0 });
      const keys = await storedKeys(url);
      assert.deepEqual(keys, sent.map((r) => r.dedupKey), "every record once, in the order acknowledged");
      const sessions = await spool.listSessions({ limit: 100 });
      assert.equal(sessions.length, 6);
      assert.ok(sessions.every((s) => s.status === "closed" && s.inputOctets === 300), "each session closed with its stop's totals");
      process.stdout.write(`# 5 batches spooled in ${spoolMs} ms with the server down (first error: ${String(started.error)})\n`);
    } finally {
      await spool.close();
      await server.dropDatabase(url);
    }
  });

  test("openServerStore puts PostgreSQL behind the spool only when store.spool is on", async () => {
    const url = await server.createDatabase("wiring");
    try {
      const on = await openServerStore({ postgres: url, poolSize: 2, spool: true, journal: tmp.file("wiring.journal") });
      assert.ok(on instanceof SpoolingStore, "spool: true wraps");
      await on.close();
      const off = await openServerStore({ postgres: url, poolSize: 2, spool: false, journal: tmp.file("unused.journal") });
      assert.ok(off instanceof PostgresStore, "spool: false is the bare store");
      await off.close();
    } finally {
      await server.dropDatabase(url);
    }
  });

  test("at start-up with the server down and records in the journal, opening waits, says so, and the records are replayed once it is up", async () => {
    const url = await server.createDatabase("startup");
    const journalFile = tmp.file("startup.journal");
    {
      const { journal } = await Journal.open(journalFile);
      await journal.append(session("st-1"), 600);
      await journal.append(session("st-2"), 600);
      await journal.close();
    }
    const { logger, lines } = captureLogger();
    server.stopServer();
    let store: Awaited<ReturnType<typeof openServerStore>> | null = null;
    const opening = openServerStore({ postgres: url, poolSize: 2, spool: true, journal: journalFile }, logger).then((s) => (store = s));
    try {
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(store, null, "not open while the server is down");
      const said = lines.find((l) => /store unreachable at start-up: records wait in the spool journal/.test(l.msg));
      assert.equal(said?.waiting, 6);
      await server.startServer();
      await opening;
      const spool = store as unknown as SpoolingStore;
      assert.equal(spool.depth, 6);
      await spool.replay();
      assert.deepEqual((await storedKeys(url)).sort(), [...session("st-1"), ...session("st-2")].map((r) => r.dedupKey).sort());
      await spool.close();
    } finally {
      if (server.pid() === null) await server.startServer();
      await opening.catch(() => undefined);
      await server.dropDatabase(url);
    }
  });
});
