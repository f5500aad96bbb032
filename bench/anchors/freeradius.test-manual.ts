// Manual check of the FreeRADIUS anchor (needs root and scripts/install-bench-deps.sh):
//   node --import tsx bench/anchors/freeradius.test-manual.ts
// Starts each mode, talks to it with radclient (freeradius-utils), checks what it stored
// (detail file, SQLite radacct via sqlite3), stops it and checks nothing is left behind.
// Prints one OK line per mode; exits 1 on the first failure.

import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { freeRadiusUnavailable, startFreeRadius, type FreeRadiusAnchor, type FreeRadiusMode } from "./freeradius.ts";

// Values that need quoting in FreeRADIUS's files (backslashes are refused by the anchor).
const SECRET = `anchor'"secret\${x}%{y}`;
const USERS = [
  { name: "alice", password: "alicepass" },
  { name: "bob o'smith", password: `p'"a ss\${x}%{y}` },
];

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

/** radclient reading one request from stdin; resolves with its output. */
function radclient(port: number, type: "auth" | "acct" | "status", attrs: Record<string, string | number>): Promise<string> {
  const text = Object.entries(attrs)
    .map(([k, v]) => `${k} = ${typeof v === "number" || /^([A-Z][A-Za-z-]+|0x[0-9a-f]+)$/.test(v) ? v : `'${v.replace(/'/g, "\\'")}'`}`)
    .join("\n");
  return new Promise((resolve, reject) => {
    const p = spawn("radclient", ["-x", "-r", "2", "-t", "2", `127.0.0.1:${port}`, type, SECRET], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d));
    p.stderr.on("data", (d: Buffer) => (out += d));
    p.on("error", reject);
    p.on("close", () => resolve(out));
    p.stdin.end(text + "\n");
  });
}

async function expectReply(port: number, type: "auth" | "acct" | "status", attrs: Record<string, string | number>, reply: string): Promise<void> {
  const out = await radclient(port, type, attrs);
  check(out.includes(`Received ${reply}`), `${type} ${JSON.stringify(attrs)}: wanted ${reply}, radclient said:\n${out}`);
}

async function accountSession(a: FreeRadiusAnchor, sid: string): Promise<void> {
  const base = { "User-Name": "alice", "NAS-IP-Address": "127.0.0.1", "NAS-Port": 7, "Acct-Session-Id": sid, "Framed-IP-Address": "10.8.0.6" };
  await expectReply(a.acctPort, "acct", { ...base, "Acct-Status-Type": "Start" }, "Accounting-Response");
  await expectReply(a.acctPort, "acct", { ...base, "Acct-Status-Type": "Interim-Update", "Acct-Session-Time": 10, "Acct-Input-Octets": 1000, "Acct-Output-Octets": 2000 }, "Accounting-Response");
  await expectReply(a.acctPort, "acct", { ...base, "Acct-Status-Type": "Stop", "Acct-Session-Time": 21, "Acct-Input-Octets": 2345, "Acct-Output-Octets": 6789, "Acct-Terminate-Cause": "User-Request" }, "Accounting-Response");
}

async function detailRecords(dir: string, sid: string): Promise<number> {
  let n = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.startsWith("detail-")) continue;
    const text = await readFile(join(entry.parentPath, entry.name), "utf8");
    n += text.split("\n\n").filter((r) => r.includes(`Acct-Session-Id = "${sid}"`)).length;
  }
  return n;
}

function sqlite(file: string, query: string): string {
  const r = spawnSync("sqlite3", ["-separator", "|", file, query], { encoding: "utf8" });
  check(r.status === 0, `sqlite3 failed: ${r.stderr}`);
  return r.stdout.trim();
}

async function exercise(mode: FreeRadiusMode, a: FreeRadiusAnchor): Promise<string> {
  const sid = `anchor-${mode}-${process.pid}`;
  // Status-Server needs a Message-Authenticator (RFC 5997); radclient fills in the 0x00.
  await expectReply(a.authPort, "status", { "NAS-Identifier": "anchor-probe", "Message-Authenticator": "0x00" }, "Access-Accept");
  if (mode === "files") {
    for (const u of USERS) await expectReply(a.authPort, "auth", { "User-Name": u.name, "User-Password": u.password }, "Access-Accept");
    const t0 = Date.now();
    await expectReply(a.authPort, "auth", { "User-Name": "alice", "User-Password": "wrong" }, "Access-Reject");
    check(Date.now() - t0 < 800, `Access-Reject took ${Date.now() - t0} ms (reject_delay should be 0)`);
    return "Access-Accept for both users, immediate Access-Reject for a wrong password";
  }
  await accountSession(a, sid);
  if (mode === "detail") {
    const n = await detailRecords(a.radacctDir, sid);
    check(n === 3, `detail file: ${n} records for ${sid}, wanted 3`);
    return "3 Accounting-Responses, 3 detail records";
  }
  const row = sqlite(a.sqliteFile!, `select count(*), max(acctstoptime is not null), max(acctinputoctets), max(acctoutputoctets), max(acctterminatecause) from radacct where acctsessionid = '${sid}'`);
  check(row === "1|1|2345|6789|User-Request", `radacct for ${sid}: ${row}, wanted one stopped row 1|1|2345|6789|User-Request`);
  return `3 Accounting-Responses, radacct row ${row}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  for (const tool of ["radclient", "sqlite3"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing: scripts/install-bench-deps.sh`);
  }
  const cases: { mode: FreeRadiusMode; sqliteDir?: string }[] = [{ mode: "detail" }, { mode: "sqlite" }, { mode: "files" }];
  if (existsSync("/dev/shm")) cases.push({ mode: "sqlite", sqliteDir: "/dev/shm" });
  const pids: number[] = [];
  for (const c of cases) {
    const why = await freeRadiusUnavailable(c.mode);
    if (why) throw new Error(`${c.mode}: ${why}`);
    const t0 = performance.now();
    const a = await startFreeRadius({ mode: c.mode, secret: SECRET, users: USERS, sqliteDir: c.sqliteDir });
    const started = performance.now() - t0;
    pids.push(a.pid);
    try {
      const what = await exercise(c.mode, a);
      const cpu = a.cpuSeconds();
      check(cpu > 0, `cpuSeconds() = ${cpu}`);
      console.log(`OK ${c.mode}${c.sqliteDir ? ` (sqliteDir ${c.sqliteDir})` : ""}: started in ${started.toFixed(0)} ms, pid ${a.pid}, ports ${a.authPort}/${a.acctPort}; ${what}; cpu ${cpu.toFixed(2)} s`);
      console.log(`   ${a.describe}`);
    } finally {
      const t1 = performance.now();
      await a.stop();
      const dbDir = a.sqliteFile && c.sqliteDir ? join(a.sqliteFile, "..") : undefined;
      check(!alive(a.pid), `pid ${a.pid} still alive after stop()`);
      check(!existsSync(a.dir) && !(dbDir && existsSync(dbDir)), `${a.dir} (or the database dir) left behind`);
      console.log(`   stopped in ${(performance.now() - t1).toFixed(0)} ms`);
    }
  }
  const left = spawnSync("pgrep", ["-a", "freeradius"], { encoding: "utf8" }).stdout.trim();
  const ours = left.split("\n").filter((l) => pids.includes(Number(l.split(" ")[0])));
  check(ours.length === 0, `our freeradius processes are still running:\n${ours.join("\n")}`);
  console.log(`OK all modes; pgrep -a freeradius: ${left || "(none)"}`);
}

main().catch((e: unknown) => {
  console.error(`FAIL ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
