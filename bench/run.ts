// `npm run bench`: Tally and its anchors side by side on loopback, one after the other in one
// run, driven by the same generator (`tally bench`, a separate process) with the same
// workload, and the ratio Tally / anchor for each. Prints a Markdown table (for BENCHMARKS.md)
// and writes every report to bench/results/latest.json.
//
//   RADIUS accounting: Tally (SQLite, fsync'd before every answer) vs FreeRADIUS writing its
//     detail file (no fsync) and vs FreeRADIUS with its SQLite module.
//   RADIUS PAP authentication vs FreeRADIUS with users in its files module.
//   RADIUS accounting with PostgreSQL as Tally's store (a private server on loopback).
//   TACACS+ accounting and PAP authentication: Tally over 8 persistent connections and over a
//     connection per request (tac_plus-ng is not packaged by Debian; see BENCHMARKS.md).
//   Latency at half of Tally's accounting peak (open loop).
//   1,000,000 sessions left open: the rate they open at, the interim rate with all of them
//   open, and tally serve's resident memory and database size afterwards.
//
// Environment: BENCH_SCALE (default 1) multiplies the request counts; BENCH_OPEN_SESSIONS
// (default 1000000, 0 to skip) the sessions left open.

import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { LoadReport } from "../src/bench/stats.ts";
import { repoRoot, startTally, type TallyProcess } from "../test/interop/harness.ts";
import { PostgresServer, postgresUnavailable } from "../test/support/postgres.ts";
import { freeRadiusUnavailable, startFreeRadius, type FreeRadiusMode } from "./anchors/freeradius.ts";
import { bytesWritten, mainThreadCpu, processCpu } from "./proc.ts";

const run = promisify(execFile);
const SECRET = "testing123";
const KEY = "tackey";
const scale = Number(process.env.BENCH_SCALE ?? 1);
const n = (base: number) => Math.max(1000, Math.round(base * scale));

interface Server {
  /** Server CPU (user + system, every thread) as a share of one core over the run. */
  serverCpu: number;
  /** The main thread's share of one core (Tally: the event loop; the store has its own thread). */
  mainThreadCpu: number;
  /** Bytes the server wrote (wchar: WAL, database, logs) per request answered. */
  writtenPerRequest: number;
}

interface Row extends Server {
  name: string;
  server: string;
  report: LoadReport;
}

/** Runs `tally bench` in its own process (its CPU is its own) against a server process `pid`. */
async function measure(pid: number, args: string[]): Promise<{ report: LoadReport } & Server> {
  const cpu0 = processCpu(pid) ?? 0;
  const main0 = mainThreadCpu(pid) ?? 0;
  const written0 = bytesWritten(pid) ?? 0;
  const { stdout } = await run(process.execPath, ["--import", "tsx", join(repoRoot, "src/cli/main.ts"), "bench", ...args, "--json"], {
    cwd: repoRoot,
    maxBuffer: 1 << 20,
  });
  const report = JSON.parse(stdout) as LoadReport;
  return {
    report,
    serverCpu: ((processCpu(pid) ?? cpu0) - cpu0) / report.seconds,
    mainThreadCpu: ((mainThreadCpu(pid) ?? main0) - main0) / report.seconds,
    writtenPerRequest: ((bytesWritten(pid) ?? written0) - written0) / Math.max(1, report.ok),
  };
}

async function withTally<T>(fn: (t: TallyProcess) => Promise<T>, store: object = { sqlite: "./tally.db" }): Promise<T> {
  const tally = await startTally({
    store,
    radius: { auth: "127.0.0.1:0", acct: "127.0.0.1:0" },
    tacacs: { listen: "127.0.0.1:0" },
    clients: [{ name: "bench", address: "127.0.0.0/8", secret: SECRET, tacacsKey: KEY }],
    users: [{ name: "bench", password: "benchpass" }],
    // info, as an operator runs it (one line per authentication; none per accounting record).
    log: { level: "info" },
  });
  try {
    return await fn(tally);
  } finally {
    await tally.cleanup();
  }
}

async function withFreeRadius<T>(mode: FreeRadiusMode, fn: (a: { pid: number; authPort: number; acctPort: number; describe: string }) => Promise<T>): Promise<T | null> {
  const why = await freeRadiusUnavailable(mode);
  if (why !== null) {
    process.stderr.write(`skipping FreeRADIUS (${mode}): ${why}\n`);
    return null;
  }
  const anchor = await startFreeRadius({ mode, secret: SECRET, users: [{ name: "bench", password: "benchpass" }] });
  try {
    return await fn(anchor);
  } finally {
    await anchor.stop();
  }
}

const rows: Row[] = [];
function add(name: string, server: string, m: { report: LoadReport } & Server): void {
  rows.push({ name, server, ...m });
  const r = m.report;
  process.stderr.write(`${name} / ${server}: ${Math.round(r.perSecond)}/s, p99 ${r.latencyMs.p99.toFixed(2)} ms, ${r.errors + r.timeouts} failed, server CPU ${(m.serverCpu * 100).toFixed(0)} % (main thread ${(m.mainThreadCpu * 100).toFixed(0)} %), ${Math.round(m.writtenPerRequest)} B written per request, generator CPU ${(r.generatorCpu * 100).toFixed(0)} %\n`);
}

const acct = (port: number, requests: number) => ["acct", "--target", `127.0.0.1:${port}`, "--secret", SECRET, "--requests", String(requests), "--concurrency", "256", "--sockets", "8", "--interims", "3"];
const pap = (port: number, requests: number) => ["auth", "--target", `127.0.0.1:${port}`, "--secret", SECRET, "--requests", String(requests), "--concurrency", "128", "--sockets", "4", "--user", "bench", "--password", "benchpass"];

// ------------------------------------------------------------------ RADIUS accounting
await withTally(async (t) => {
  const peak = await measure(t.child.pid!, acct(t.acctPort, n(100_000)));
  add("RADIUS accounting", "Tally (SQLite, fsync before each answer)", peak);
  // Half of the peak, open loop: the latency an operator sees on a busy day.
  const half = Math.max(100, Math.round(peak.report.perSecond / 2));
  const halfArgs = ["acct", "--target", `127.0.0.1:${t.acctPort}`, "--secret", SECRET, "--requests", String(half * 10), "--rate", String(half), "--sockets", "8"];
  const halfLoad = await measure(t.child.pid!, halfArgs);
  // Latency counts from when each request was due, so the generator's own lateness is part of
  // it: say how much, beside the figure.
  const late = halfLoad.report.sendLateMs;
  add("RADIUS accounting at 50 % of peak", `Tally, open loop ${half}/s${late === undefined ? "" : ` (generator sent p99 ${late.p99.toFixed(2)} ms, max ${late.max.toFixed(1)} ms late)`}`, halfLoad);
  add("RADIUS PAP authentication", "Tally (users in tally.yaml)", await measure(t.child.pid!, pap(t.authPort, n(50_000))));
  add("TACACS+ accounting", "Tally, 8 persistent connections", await measure(t.child.pid!, ["tacacs-acct", "--target", `127.0.0.1:${t.tacacsPort}`, "--key", KEY, "--requests", String(n(50_000)), "--concurrency", "64", "--connections", "8"]));
  add("TACACS+ accounting", "Tally, a connection per request", await measure(t.child.pid!, ["tacacs-acct", "--target", `127.0.0.1:${t.tacacsPort}`, "--key", KEY, "--requests", String(n(10_000)), "--concurrency", "32", "--per-request"]));
  add("TACACS+ PAP authentication", "Tally, 8 persistent connections", await measure(t.child.pid!, ["tacacs-authen", "--target", `127.0.0.1:${t.tacacsPort}`, "--key", KEY, "--requests", String(n(20_000)), "--concurrency", "64", "--connections", "8", "--user", "bench", "--password", "benchpass"]));
});
// ------------------------------------------------------------------ PostgreSQL as the store
// One node on a private PostgreSQL server on the same two cores (fsync and synchronous_commit
// on). The server CPU column is Tally's alone; PostgreSQL's backends use the rest.
const pgMissing = postgresUnavailable();
if (pgMissing !== null) process.stderr.write(`skipping PostgreSQL: ${pgMissing}\n`);
else {
  const pg = await PostgresServer.start();
  try {
    const url = await pg.createDatabase("bench");
    await withTally(async (t) => add("RADIUS accounting", "Tally (PostgreSQL, one node, commit before each answer)", await measure(t.child.pid!, acct(t.acctPort, n(50_000)))), { postgres: url, spool: false });
  } finally {
    pg.destroy();
  }
}

// ------------------------------------------------------------------ many open sessions
const openSessions = Number(process.env.BENCH_OPEN_SESSIONS ?? 1_000_000);
let manySessions = "";
if (openSessions > 0) {
  await withTally(async (t) => {
    const common = ["acct", "--target", `127.0.0.1:${t.acctPort}`, "--secret", SECRET, "--open-sessions", String(openSessions), "--session-prefix", "many", "--concurrency", "512", "--sockets", "8", "--duration", "900"];
    add(`RADIUS accounting: ${openSessions} sessions opened`, "Tally", await measure(t.child.pid!, [...common, "--requests", String(openSessions)]));
    add(`RADIUS accounting: interims with ${openSessions} sessions open`, "Tally", await measure(t.child.pid!, [...common, "--already-started", "--requests", String(Math.min(openSessions, n(200_000)))]));
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${t.child.pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
    const db = statSync(join(t.dir, "tally.db")).size / 2 ** 20;
    manySessions = `With ${openSessions} sessions open: tally serve's resident memory ${Math.round(rss)} MB, database ${Math.round(db)} MB.`;
    process.stderr.write(`${manySessions}\n`);
  });
}

await withFreeRadius("detail", async (a) => add("RADIUS accounting", a.describe, await measure(a.pid, acct(a.acctPort, n(100_000)))));
await withFreeRadius("sqlite", async (a) => add("RADIUS accounting", a.describe, await measure(a.pid, acct(a.acctPort, n(5_000)))));
await withFreeRadius("files", async (a) => add("RADIUS PAP authentication", a.describe, await measure(a.pid, pap(a.authPort, n(50_000)))));

// ------------------------------------------------------------------ report
const tallyOf = (name: string) => rows.find((r) => r.name === name && r.server.startsWith("Tally"));
const lines = [
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; scale ${scale}.`,
  "",
  "| workload | server | req/s | p50 ms | p99 ms | p99.9 ms | failed | server CPU | main thread | written / req | generator CPU | Tally / this |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...rows.map((r) => {
    const tally = tallyOf(r.name);
    const ratio = tally && !r.server.startsWith("Tally") ? `${(tally.report.perSecond / r.report.perSecond).toFixed(2)}x` : "";
    const l = r.report.latencyMs;
    return `| ${r.name} | ${r.server} | ${Math.round(r.report.perSecond)} | ${l.p50.toFixed(2)} | ${l.p99.toFixed(2)} | ${l.p999.toFixed(2)} | ${r.report.errors + r.report.timeouts} | ${(r.serverCpu * 100).toFixed(0)} % | ${(r.mainThreadCpu * 100).toFixed(0)} % | ${Math.round(r.writtenPerRequest)} B | ${(r.report.generatorCpu * 100).toFixed(0)} % | ${ratio} |`;
  }),
];
if (manySessions !== "") lines.push("", manySessions);
process.stdout.write(`${lines.join("\n")}\n`);
const out = join(repoRoot, "bench", "results");
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "latest.json"), `${JSON.stringify({ date: new Date().toISOString(), scale, rows, manySessions }, null, 2)}\n`);
