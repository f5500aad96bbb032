// `tally export records|sessions`: CSV read back with a real parser (csv-parse) and JSON Lines
// compared with what the store holds, --since/--until bounds, clear errors for bad options,
// a 50,000-record export streamed to a file and to a pipe, and the keyset paging itself.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createReadStream, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { parse } from "csv-parse";
import { parse as parseSync } from "csv-parse/sync";
import { exportRows, highestId } from "../../src/export/export.ts";
import { RECORD_COLUMNS, SESSION_COLUMNS } from "../../src/export/rows.ts";
import { recordToJson, type StoredRecord } from "../../src/model/record.ts";
import { sessionToJson, type Session } from "../../src/model/session.ts";
import { PostgresStore } from "../../src/store/postgres.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import type { Store, TimeRange } from "../../src/store/store.ts";
import { repoRoot, runCli } from "../interop/harness.ts";
import { PostgresServer, postgresUnavailable } from "../support/postgres.ts";
import { MIN, rec, T0, tempDir, type TempDir } from "../store/fixtures.ts";

const ODD_USER = 'o\'brien, "the" user\nsecond line';

/** What every CSV column of a record must hold: the stored value, times in ISO 8601, null as empty. */
function expectedRecordCells(r: StoredRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r)) {
    if (v === null) out[k] = "";
    else if (k === "receivedAt" || k === "eventTime") out[k] = new Date(v as number).toISOString();
    else if (k === "attributes") out[k] = JSON.stringify(v);
    else out[k] = String(v);
  }
  return out;
}

function expectedSessionCells(s: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v === null ? "" : String(v)]));
}

function writeConfig(dir: string, store: object = { sqlite: "./tally.db" }): string {
  const config = join(dir, "tally.yaml");
  writeFileSync(config, JSON.stringify({ store, radius: { auth: null, acct: null } }));
  return config;
}

async function cli(config: string, args: string[]): Promise<string> {
  const r = await runCli(config, args);
  assert.equal(r.code, 0, `tally ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const pgMissing = postgresUnavailable();

// The same export from either store.
for (const backend of ["sqlite", "postgres"] as const) {
  describe(`tally export: ${backend}`, { skip: backend === "postgres" ? (pgMissing ?? false) : false }, () => {
    let tmp: TempDir;
    let config: string;
    let stored: StoredRecord[];

    let pg: PostgresServer | undefined;

    before(async () => {
      tmp = tempDir();
      let store: Store;
      if (backend === "postgres") {
        pg = await PostgresServer.start();
        const url = await pg.createDatabase("export");
        config = writeConfig(tmp.dir, { postgres: url });
        store = await PostgresStore.open(url);
      } else {
        config = writeConfig(tmp.dir);
        store = SqliteStore.open(tmp.file("tally.db"));
      }
      try {
        // Ten minutes of records: two sessions, one with an awkward user name, and an Accounting-On.
        const records = [
          rec({ kind: "on", eventTime: T0 }),
          rec({ kind: "start", eventTime: T0 + MIN, user: ODD_USER, sessionId: "a", framedAddress: "10.0.0.1" }),
          rec({ kind: "start", eventTime: T0 + 2 * MIN, sessionId: "b", user: "bob" }),
          rec({ kind: "interim", eventTime: T0 + 3 * MIN, user: ODD_USER, sessionId: "a", inputOctets: 5 * 2 ** 32, outputOctets: 7, sessionTime: 120 }),
          rec({
            kind: "stop", eventTime: T0 + 4 * MIN, user: ODD_USER, sessionId: "a", inputOctets: 6 * 2 ** 32, outputOctets: 9, sessionTime: 180,
            terminateCause: "User-Request", attributes: [{ name: "Connect-Info", value: 'café "fast", 100\\M' }, { name: "Tunnel-Type", value: "VLAN", tag: 1 }],
          }),
          ...Array.from({ length: 5 }, (_, i) => rec({ kind: "interim", eventTime: T0 + (5 + i) * MIN, sessionId: "b", user: "bob", inputOctets: i, sessionTime: 60 * i })),
        ];
        await store.appendRecords(records, 300);
        stored = await store.exportRecords({}, 0, 1000);
      } finally {
        await store.close();
      }
    });
    after(() => {
      tmp.cleanup();
      pg?.destroy();
    });

    it("records as CSV: a header line, and every cell of every record as stored (csv-parse reads it back)", async () => {
      const out = await cli(config, ["export", "records", "--format", "csv"]);
      assert.ok(out.endsWith("\r\n"), "RFC 4180 line ends");
      const rows = parseSync(out, { columns: true }) as Record<string, string>[];
      assert.equal(rows.length, 10);
      assert.equal(stored.length, 10);
      assert.deepEqual(rows, stored.map(expectedRecordCells));
      assert.equal(rows[1]!.user, ODD_USER);
      assert.deepEqual(JSON.parse(rows[4]!.attributes!), [{ name: "Connect-Info", value: 'café "fast", 100\\M' }, { name: "Tunnel-Type", value: "VLAN", tag: 1 }]);
    });

    it("records as JSON Lines: one object per record, the same as tally records --json prints", async () => {
      const out = await cli(config, ["export", "records", "--format", "jsonl"]);
      const lines = out.split("\n");
      assert.equal(lines.pop(), "", "ends with a newline");
      const rows = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(
        rows,
        stored.map((r) => ({ ...r, receivedAt: new Date(r.receivedAt).toISOString(), eventTime: new Date(r.eventTime).toISOString() })),
      );
      const sessionPk = rows[1]!.sessionPk as number;
      const viaRecords = JSON.parse(await cli(config, ["records", "--session", String(sessionPk), "--json"])) as Record<string, unknown>[];
      assert.deepEqual(rows.filter((r) => r.sessionPk === sessionPk), viaRecords);
    });

    it("sessions as CSV and JSON Lines: the same as tally sessions --json", async () => {
      const listed = (JSON.parse(await cli(config, ["sessions", "--json"])) as Record<string, unknown>[]).sort((a, b) => (a.id as number) - (b.id as number));
      assert.equal(listed.length, 2);
      const jsonl = (await cli(config, ["export", "sessions", "--format", "jsonl"])).trim().split("\n").map((l) => JSON.parse(l) as unknown);
      assert.deepEqual(jsonl, listed);
      const csv = parseSync(await cli(config, ["export", "sessions", "--format", "csv"]), { columns: true }) as Record<string, string>[];
      assert.deepEqual(csv, listed.map(expectedSessionCells));
      assert.equal(csv[0]!.inputOctets, String(6 * 2 ** 32));
    });

    it("--since and --until bound records by receipt ([since, until)) and sessions by activity", async () => {
      const at = (m: number) => new Date(T0 + m * MIN).toISOString();
      const out = await cli(config, ["export", "records", "--format", "jsonl", "--since", at(2), "--until", at(5)]);
      const got = out.trim().split("\n").map((l) => (JSON.parse(l) as { receivedAt: string }).receivedAt);
      assert.deepEqual(got, [at(2), at(3), at(4)]);
      // Session "a" ran from minute 1 to 4, "b" from 2 to 9: after minute 4, only "b" was active.
      const later = (await cli(config, ["export", "sessions", "--format", "jsonl", "--since", at(5)])).trim().split("\n");
      assert.deepEqual(later.map((l) => (JSON.parse(l) as { sessionId: string }).sessionId), ["b"]);
      const early = (await cli(config, ["export", "sessions", "--format", "jsonl", "--until", at(2)])).trim().split("\n");
      assert.deepEqual(early.map((l) => (JSON.parse(l) as { sessionId: string }).sessionId), ["a"]);
      // A date alone is midnight UTC: nothing of T0's day after it.
      const none = await cli(config, ["export", "records", "--format", "csv", "--since", "2024-01-16"]);
      assert.equal(parseSync(none, { columns: true }).length, 0);
      assert.ok(none.startsWith("id,sessionPk,protocol,kind,receivedAt,"), `header line even with no rows: ${none}`);
    });

    it("bad options: exit 2 and a message naming the option", async () => {
      const cases: [string[], RegExp][] = [
        [["export", "records", "--since", "yesterday"], /--since: expected a date like 2026-11-01/],
        [["export", "records", "--until", "2024-13-45"], /--until: expected a date/],
        [["export", "records", "--since", "2024-01-02", "--until", "2024-01-01"], /--until: must be after --since/],
        [["export", "records", "--format", "xml"], /--format: expected csv or jsonl, got "xml"/],
        [["export", "users"], /export: expected records or sessions, got "users"/],
      ];
      for (const [args, message] of cases) {
        const r = await runCli(config, args);
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, message);
        assert.equal(r.stdout, "", "nothing on stdout");
      }
    });

    it("the columns of a session CSV are the keys of tally sessions --json, in order", () => {
      const s: Session = {
        id: 1, protocol: "radius", client: "c", nas: "n", user: null, sessionId: "x", status: "open", startedAt: 0, updatedAt: 0,
        stoppedAt: null, inputOctets: 0, outputOctets: 0, inputPackets: 0, outputPackets: 0, sessionTime: 0, terminateCause: null,
        framedAddress: null, clientAddress: null, nasPort: null, interimInterval: null, nextUpdateDue: null, disconnect: null,
        disconnectReason: null, note: null,
      };
      assert.deepEqual([...SESSION_COLUMNS], Object.keys(sessionToJson(s)));
    });

    it("the columns of a record CSV are the keys of tally records --json, in order", () => {
      const r: StoredRecord = {
        id: 1, sessionPk: null, protocol: "radius", kind: "start", receivedAt: 0, eventTime: 0, client: "c", nas: "n", user: null,
        sessionId: "x", inputOctets: null, outputOctets: null, inputPackets: null, outputPackets: null, sessionTime: null,
        terminateCause: null, framedAddress: null, clientAddress: null, nasPort: null, command: null, attributes: [], dedupKey: "k",
      };
      assert.deepEqual([...RECORD_COLUMNS], Object.keys(recordToJson(r)));
    });
  });
}

describe("tally export: 50,000 records", () => {
  const N = 50_000;
  let tmp: TempDir;
  let config: string;

  before(async () => {
    tmp = tempDir();
    config = writeConfig(tmp.dir);
    const store = SqliteStore.open(tmp.file("tally.db"));
    try {
      for (let i = 0; i < N; i += 5000) {
        await store.appendRecords(
          Array.from({ length: 5000 }, (_, j) => rec({ kind: "start", sessionId: `s${i + j}`, eventTime: T0 + (i + j) * 1000 })),
          null,
        );
      }
    } finally {
      await store.close();
    }
  });
  after(() => tmp.cleanup());

  it("CSV to a file: every record once, in id order; the file appears only when complete", async () => {
    const file = join(tmp.dir, "records.csv");
    const out = await cli(config, ["export", "records", "--format", "csv", "--output", file]);
    assert.equal(out, `${N} records written to ${file}\n`);
    let count = 0;
    let lastId = 0;
    let ordered = true;
    for await (const row of createReadStream(file).pipe(parse({ columns: true })) as AsyncIterable<{ id: string; sessionId: string }>) {
      count++;
      const id = Number(row.id);
      if (id !== lastId + 1 || row.sessionId !== `s${id - 1}`) ordered = false;
      lastId = id;
    }
    assert.equal(count, N);
    assert.ok(ordered, "ids 1..N in order, each with its own session");
    assert.deepEqual(readdirSync(tmp.dir).filter((f) => f.includes(".tmp")), [], "no temporary file left");
  });

  it("JSON Lines to a pipe: every record; a reader that stops early ends the export quietly", async () => {
    const out = await cli(config, ["export", "records", "--format", "jsonl"]);
    const lines = out.trim().split("\n");
    assert.equal(lines.length, N);
    assert.equal((JSON.parse(lines[N - 1]!) as { id: number }).id, N);

    // As `tally export ... | head -1`: the pipe closes after the first chunk.
    const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "src/cli/main.ts"), "--config", config, "export", "records", "--format", "jsonl"], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const first = await new Promise<string>((resolve) => child.stdout.once("data", (c: Buffer) => resolve(c.toString())));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    assert.match(first, /^\{"id":1,/);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
  });
});

describe("exportRows: keyset pages and back-pressure", () => {
  it("asks for bounded pages after the last id, stops on a short page, waits for a slow reader", async () => {
    const calls: { afterId: number; limit: number }[] = [];
    /** What the writer still had buffered when each next page was asked for. */
    const buffered: number[] = [];
    const total = 2500;
    const fake = {
      async exportRecords(_range: TimeRange, afterId: number, limit: number) {
        calls.push({ afterId, limit });
        buffered.push(slow.writableLength);
        const ids = Array.from({ length: Math.max(0, Math.min(limit, total - afterId)) }, (_, i) => afterId + i + 1);
        return ids.map((id) => ({ ...rec({ kind: "start", sessionId: `s${id}` }), id, sessionPk: id }));
      },
    } as unknown as Store;
    const chunks: string[] = [];
    // A reader that takes a while per chunk, with a tiny buffer: the next page must wait for it.
    const slow = new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _enc, done) {
        setTimeout(() => {
          chunks.push(chunk.toString());
          done();
        }, 5);
      },
    });
    const rows = await exportRows({ store: fake, what: "records", format: "jsonl", range: {}, out: slow, pageSize: 1000 });
    assert.equal(rows, total);
    assert.deepEqual(calls, [
      { afterId: 0, limit: 1000 },
      { afterId: 1000, limit: 1000 },
      { afterId: 2000, limit: 1000 },
    ]);
    const ids = chunks.join("").trim().split("\n").map((l) => (JSON.parse(l) as { id: number }).id);
    assert.equal(ids.length, total);
    assert.equal(ids[total - 1], total);
    // A page is ~300 KB of JSON: had the exporter not waited for the drain, it would still be buffered.
    assert.deepEqual(buffered, [0, 0, 0]);
  });
});

describe("highestId: the end of the progress bar without a count", () => {
  it("finds the highest of sparse ids with one-row keyset probes", async () => {
    for (const ids of [[], [1], [5], [1, 2, 3], [3, 17, 18, 1000], Array.from({ length: 300 }, (_, i) => 7 + i * 13)]) {
      let probes = 0;
      const fake = {
        async exportSessions(_range: TimeRange, afterId: number, limit: number) {
          probes++;
          assert.equal(limit, 1);
          const id = ids.find((i) => i > afterId);
          return id === undefined ? [] : [{ id }];
        },
      } as unknown as Store;
      assert.equal(await highestId(fake, "sessions"), ids.length === 0 ? 0 : ids[ids.length - 1], `ids ${ids.slice(-3).join(",")}`);
      assert.ok(probes <= 2 * Math.log2((ids[ids.length - 1] ?? 1) + 1) + 3, `${probes} probes`);
    }
  });
});
