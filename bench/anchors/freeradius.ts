// FreeRADIUS 3.2 (Debian's package) as the benchmark's anchor: a private radiusd started from a
// throw-away copy of /etc/freeradius/3.0 (written by freeradius-raddb.ts, which says how each
// mode is configured and why), on 127.0.0.1 only, multi-threaded and without debug output
// (`freeradius -f -d DIR -l stdout`, stdout going to a log file), so that Tally's numbers sit
// next to those of the server everybody knows. Picks free UDP ports unless told, waits for
// "Ready to process requests", and stop() leaves no process and no file behind.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { constants, rmSync } from "node:fs";
import { access, mkdtemp, open, readFile, rm, statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { processCpu } from "../proc.ts";
import { RECV_BUFF, STOCK_RADDB, writeRaddb } from "./freeradius-raddb.ts";

const run = promisify(execFile);

export type FreeRadiusMode = "detail" | "sqlite" | "files";

export interface FreeRadiusOptions {
  mode: FreeRadiusMode;
  secret: string;
  /** PAP users (Cleartext-Password in the users file), in every mode. */
  users?: { name: string; password: string }[];
  /** Free UDP ports are picked when not given. */
  authPort?: number;
  acctPort?: number;
  /** sqlite mode: where the database goes (a fresh sub-directory, removed by stop()); default `dir`. */
  sqliteDir?: string;
  /** Edits the written raddb before radiusd starts (a test that needs more than a mode gives). */
  customize?: (raddb: string) => Promise<void>;
}

export interface FreeRadiusAnchor {
  pid: number;
  authPort: number;
  acctPort: number;
  /** The temp dir: raddb/, radacct/, radiusd.log; removed by stop(). */
  dir: string;
  describe: string;
  /** radiusd's output (-l stdout, sent to this file). */
  logFile: string;
  /** detail mode: detail files land in radacctDir/127.0.0.1/detail-YYYYMMDD. */
  radacctDir: string;
  /** sqlite mode: the database file (table radacct). */
  sqliteFile?: string;
  stop(): Promise<void>;
  /** user+sys CPU seconds of radiusd so far (/proc/PID/stat); the last value read once it has exited. */
  cpuSeconds(): number;
}

const MODULE_DIR = "/usr/lib/freeradius";
const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 3_000;
const TMPFS_MAGIC = 0x01021994;

async function findFreeradius(): Promise<string | null> {
  // Debian puts it in /usr/sbin, which a non-root PATH often lacks.
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"];
  for (const d of dirs.filter(Boolean)) {
    const p = join(d, "freeradius");
    if (await access(p, constants.X_OK).then(() => true, () => false)) return p;
  }
  return null;
}

/** Why the anchor cannot run here (with what to do about it), or null. */
export async function freeRadiusUnavailable(mode?: FreeRadiusMode): Promise<string | null> {
  if (process.platform !== "linux") return "the FreeRADIUS anchor needs Linux (Debian's package, /proc)";
  if (!(await findFreeradius())) {
    return "freeradius is not installed: apt-get install freeradius (or scripts/install-bench-deps.sh)";
  }
  try {
    await access(join(STOCK_RADDB, "radiusd.conf"), constants.R_OK);
  } catch (e) {
    return `cannot read ${STOCK_RADDB}/radiusd.conf (${(e as NodeJS.ErrnoException).code}): run as root or in group freerad`;
  }
  if (mode === "sqlite" && !(await access(join(MODULE_DIR, "rlm_sql_sqlite.so")).then(() => true, () => false))) {
    return `${MODULE_DIR}/rlm_sql_sqlite.so is missing: apt-get install --reinstall freeradius`;
  }
  return null;
}

let versionCache: Promise<string> | undefined;
function freeradiusVersion(bin: string): Promise<string> {
  versionCache ??= (async () => {
    const { stdout } = await run(bin, ["-v"]);
    const v = /FreeRADIUS Version ([^\s,]+)/.exec(stdout)?.[1] ?? "(unknown version)";
    const deb = await run("dpkg-query", ["-W", "-f", "${Version}", "freeradius"]).then((r) => r.stdout.trim(), () => "");
    return `FreeRADIUS ${v} (${deb ? `Debian ${deb}` : "Debian"})`;
  })();
  return versionCache;
}

/** Binds all ports at once so they differ; the caller retries if one is taken before radiusd binds it. */
async function pickUdpPorts(n: number): Promise<number[]> {
  const socks: Socket[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createSocket("udp4");
      socks.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.bind(0, "127.0.0.1", () => resolve());
      });
    }
    return socks.map((s) => s.address().port);
  } finally {
    await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/**
 * The receive buffer radiusd can get: the kernel silently caps recv_buff (SO_RCVBUF) at
 * net.core.rmem_max, so a lower limit is raised with `sysctl -w` (only upwards, only as root).
 * That changes the whole machine and is not undone: every UDP server benchmarked here wants it.
 * If it cannot be raised, the buffer is what the limit allows and `describe` says so.
 */
async function receiveBuffer(): Promise<number> {
  const read = async () => Number((await readFile("/proc/sys/net/core/rmem_max", "utf8")).trim());
  let max = await read().catch(() => RECV_BUFF);
  if (max < RECV_BUFF && process.getuid?.() === 0) {
    await run("sysctl", ["-w", `net.core.rmem_max=${RECV_BUFF}`]).catch(() => undefined);
    max = await read().catch(() => max);
  }
  return Math.min(RECV_BUFF, max);
}

function tail(text: string, lines = 25): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

// radiusd is unref'd so a forgotten stop() does not keep Node alive; this kills it instead.
const live = new Map<number, string[]>();
let exitHook = false;
function track(pid: number, paths: string[]): void {
  live.set(pid, paths);
  if (exitHook) return;
  exitHook = true;
  process.on("exit", () => {
    for (const [p, ps] of live) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // already gone
      }
      for (const x of ps) rmSync(x, { recursive: true, force: true });
    }
  });
}

async function waitExit(exited: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  const done = await Promise.race([exited.then(() => true as const), timeout]);
  clearTimeout(timer);
  return done;
}

async function killAndWait(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  if (await waitExit(exited, STOP_GRACE_MS)) return;
  child.kill("SIGKILL");
  await exited;
}

export async function startFreeRadius(opts: FreeRadiusOptions): Promise<FreeRadiusAnchor> {
  const why = await freeRadiusUnavailable(opts.mode);
  if (why) throw new Error(why);
  const bin = (await findFreeradius())!;
  const [version, recvBuff] = await Promise.all([freeradiusVersion(bin), receiveBuffer()]);
  const pick = opts.authPort === undefined || opts.acctPort === undefined;
  // Picked ports can be taken by someone else before radiusd binds them: then try new ones.
  for (let attempt = 1; ; attempt++) {
    const [a, b] = pick ? await pickUdpPorts(2) : [];
    const ports = { auth: opts.authPort ?? a!, acct: opts.acctPort ?? b! };
    try {
      return await startOnce(opts, bin, version, recvBuff, ports);
    } catch (e) {
      if (!(pick && attempt < 3 && e instanceof PortBusy)) throw e;
    }
  }
}

class PortBusy extends Error {}

async function startOnce(o: FreeRadiusOptions, bin: string, version: string, recvBuff: number, ports: { auth: number; acct: number }): Promise<FreeRadiusAnchor> {
  const dir = await mkdtemp(join(tmpdir(), "tally-bench-freeradius-"));
  const cleanupPaths = [dir];
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  const logFile = join(dir, "radiusd.log");
  try {
    let sqliteFile: string | undefined;
    if (o.mode === "sqlite") {
      const dbDir = o.sqliteDir ? await mkdtemp(join(o.sqliteDir, "tally-bench-freeradius-db-")) : dir;
      if (dbDir !== dir) cleanupPaths.push(dbDir);
      sqliteFile = join(dbDir, "radius.db");
    }
    const layout = await writeRaddb({ dir, mode: o.mode, secret: o.secret, users: o.users ?? [], ports, recvBuff, sqliteFile });
    await o.customize?.(layout.raddb);

    // -f: no fork, so child.pid is radiusd; no -x/-X: multi-threaded, normal logging.
    const log = await open(logFile, "a");
    try {
      child = spawn(bin, ["-f", "-d", layout.raddb, "-l", "stdout"], { stdio: ["ignore", log.fd, log.fd] });
    } finally {
      await log.close();
    }
    const proc = child;
    exited = new Promise((r) => proc.once("exit", r));
    const spawnError = new Promise<Error>((r) => proc.once("error", r));
    if (proc.pid === undefined) throw await spawnError;
    proc.unref();
    track(proc.pid, cleanupPaths);

    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const text = await readFile(logFile, "utf8");
      if (text.includes("Ready to process requests")) break;
      const gone = proc.exitCode !== null || proc.signalCode !== null;
      if (gone || Date.now() > deadline) {
        const more = await readFile(logFile, "utf8");
        const msg = `FreeRADIUS (${o.mode}) ${gone ? `exited (${proc.exitCode ?? proc.signalCode})` : "not ready"} before "Ready to process requests"; log tail:\n${tail(more)}`;
        throw /Failed binding|Address already in use/.test(more) ? new PortBusy(msg) : new Error(msg);
      }
      await new Promise((r) => setTimeout(r, 20));
    }

    const pid = proc.pid;
    let lastCpu = 0;
    let stopping: Promise<void> | undefined;
    const where =
      o.mode === "sqlite"
        ? `SQLite file ${sqliteFile} (${(await statfs(sqliteFile!)).type === TMPFS_MAGIC ? "tmpfs" : "on disk"}, rlm_sql_sqlite)`
        : "";
    const what = {
      detail: "accounting to the detail file (rlm_detail, no fsync)",
      sqlite: `accounting to ${where}`,
      files: `PAP against the users file (${o.users?.length ?? 0} users)`,
    }[o.mode];
    const buff = recvBuff === RECV_BUFF ? `${recvBuff >> 20} MiB` : `${recvBuff} bytes (capped by net.core.rmem_max)`;
    return {
      pid,
      authPort: ports.auth,
      acctPort: ports.acct,
      dir,
      logFile,
      radacctDir: layout.radacct,
      sqliteFile,
      describe: `${version}, ${what}, ${layout.threads}, recv_buff ${buff}`,
      cpuSeconds() {
        lastCpu = processCpu(pid) ?? lastCpu;
        return lastCpu;
      },
      stop() {
        stopping ??= (async () => {
          lastCpu = processCpu(pid) ?? lastCpu;
          proc.ref(); // keep Node alive until radiusd's exit is seen
          await killAndWait(proc, exited);
          live.delete(pid);
          for (const p of cleanupPaths) await rm(p, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
  } catch (e) {
    if (child) {
      await killAndWait(child, exited);
      if (child.pid !== undefined) live.delete(child.pid);
    }
    for (const p of cleanupPaths) await rm(p, { recursive: true, force: true });
    throw e;
  }
}
