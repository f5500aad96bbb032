// `npm run bench:store`: the SQLite store alone, without the network. Appends N accounting
// records (sessions of Start, 3 Interim-Updates, Stop, 256 sessions under way at a time, as
// `tally bench acct` sends them) in batches of B, with automatic checkpoints off so that the
// WAL holds every page each commit wrote. Prints µs per record and WAL pages per commit: the
// write amplification BENCHMARKS.md talks about. Beside the wall time per record it prints the
// CPU this process used per record (user and system, from process.cpuUsage): the wall time
// includes waiting for the disk at each commit, the CPU is what the store's thread costs the
// machine.
//
// Environment: N (default 20000), B (default 100).

import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AccountingRecord, RecordKind } from "../src/model/record.ts";
import { SqliteStore } from "../src/store/sqlite.ts";

const N = Number(process.env.N ?? 20_000);
const B = Number(process.env.B ?? 100);
const PARALLEL = 256;
/** A WAL frame: a 24-byte header and one page. */
const FRAME = 24 + 4096;

function record(n: number, session: number, step: number): AccountingRecord {
  const kind: RecordKind = step === 0 ? "start" : step === 4 ? "stop" : "interim";
  const sessionId = `sess${session}`;
  const user = `user${session % 1000}`;
  const eventTime = Date.UTC(2026, 10, 22) + n;
  return {
    protocol: "radius",
    kind,
    receivedAt: eventTime,
    eventTime,
    client: "bench",
    nas: "bench-nas",
    user,
    sessionId,
    inputOctets: step === 0 ? null : step * 150_000,
    outputOctets: step === 0 ? null : step * 450_000,
    inputPackets: null,
    outputPackets: null,
    sessionTime: step === 0 ? null : step * 60,
    terminateCause: step === 4 ? "User-Request" : null,
    framedAddress: "10.0.0.1",
    clientAddress: null,
    nasPort: String(session & 0xffff),
    command: null,
    attributes: [
      { name: "Acct-Status-Type", value: kind === "start" ? "Start" : kind === "stop" ? "Stop" : "Interim-Update" },
      { name: "Acct-Session-Id", value: sessionId },
      { name: "User-Name", value: user },
      { name: "NAS-IP-Address", value: "127.0.0.1" },
      { name: "NAS-Identifier", value: "bench-nas" },
      { name: "NAS-Port", value: session & 0xffff },
      { name: "Framed-IP-Address", value: "10.0.0.1" },
      { name: "Event-Timestamp", value: Math.floor(eventTime / 1000) },
    ],
    // Hash keys, as the RADIUS path makes them.
    dedupKey: createHash("sha256").update(`bench-${n}`).digest("base64url"),
  };
}

// Sessions take turns as the generator's lanes do.
const records: AccountingRecord[] = [];
const active: { session: number; step: number }[] = [];
let sessions = 0;
while (records.length < N) {
  while (active.length < PARALLEL) active.push({ session: sessions++, step: 0 });
  const i = records.length % active.length;
  const a = active[i]!;
  records.push(record(records.length, a.session, a.step++));
  if (a.step > 4) active.splice(i, 1);
}

const dir = mkdtempSync(join(tmpdir(), "tally-bench-store-"));
const file = join(dir, "tally.db");
const store = SqliteStore.open(file);
try {
  store.database.pragma("wal_autocheckpoint = 0");
  const walBefore = statSync(`${file}-wal`).size;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < N; i += B) await store.appendRecords(records.slice(i, i + B), 300);
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const wal = statSync(`${file}-wal`).size - walBefore;
  const commits = Math.ceil(N / B);
  process.stdout.write(
    `${N} records in batches of ${B}: ${((ms * 1000) / N).toFixed(1)} µs per record, ` +
      `of which CPU ${((cpu.user + cpu.system) / N).toFixed(1)} µs (user ${(cpu.user / N).toFixed(1)}, system ${(cpu.system / N).toFixed(1)}), ` +
      `${(wal / FRAME / commits).toFixed(1)} WAL pages per commit, ${Math.round(wal / N)} WAL bytes per record\n`,
  );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
