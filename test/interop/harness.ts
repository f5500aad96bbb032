// Test harness for interop tests: runs the real `tally` CLI as a child process on a private
// config (ephemeral loopback ports, a temp SQLite file) and runs real third-party peers
// (radclient, pyrad) against it. Only processes started here are ever killed, by PID.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);
export const repoRoot = resolve(import.meta.dirname, "../..");
const cliEntry = join(repoRoot, "src/cli/main.ts");

export const SECRET = "testing123";

export const BASE_CONFIG = {
  store: { sqlite: "./tally.db" },
  radius: { auth: "127.0.0.1:0", acct: "127.0.0.1:0" },
  clients: [{ name: "lab", address: "127.0.0.0/8", secret: SECRET }],
  users: [{ name: "alice", password: "alicepass", reply: { "Acct-Interim-Interval": 60, "Session-Timeout": 3600 } }],
  accounting: { defaultInterimInterval: 300 },
  log: { level: "info" },
};

export const TACACS_KEY = "tackey";

/** A TACACS+-only config: group netops may run show commands, not reload; eve has an enable password. */
export const TACACS_CONFIG = {
  store: { sqlite: "./tally.db" },
  radius: { auth: null, acct: null },
  tacacs: { listen: "127.0.0.1:0" },
  clients: [{ name: "lab", address: "127.0.0.0/8", tacacsKey: TACACS_KEY }],
  groups: [
    {
      name: "netops",
      tacacs: {
        shell: { "priv-lvl": 15 },
        commands: [
          { match: "^show ", permit: true },
          { match: "^reload", permit: false },
        ],
      },
    },
  ],
  users: [
    { name: "bob", password: "bobpass", groups: ["netops"] },
    { name: "eve", password: "evepass", enable: "evenable" },
  ],
};

/** The `port` names of the "listening" log lines (`{ port, address: "HOST:PORT" }`). */
const LISTENER_NAMES = ["auth", "acct", "tacacs", "http", "radsec", "tacacs-tls"] as const;

export interface TallyProcess {
  dir: string;
  configPath: string;
  child: ChildProcess;
  authPort: number;
  acctPort: number;
  /** 0 unless the config has a tacacs listener. */
  tacacsPort: number;
  /** 0 unless the config has an http section. */
  httpPort: number;
  /** 0 unless the config has radius.radsec. */
  radsecPort: number;
  /** 0 unless the config has tacacs.tls. */
  tacacsTlsPort: number;
  /** Every log line the process wrote, parsed. */
  logs: Record<string, unknown>[];
  /**
   * The first log line that satisfies `match`, waiting up to `ms` for it: logs reach us through
   * a pipe, after the packet whose handling wrote them.
   */
  waitForLog(match: (line: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  /** Runs `tally <args>` against the same config; resolves with stdout. */
  cli(args: string[]): Promise<string>;
  /** Stops with SIGTERM and waits; keeps the directory for inspection until cleanup(). */
  stop(): Promise<void>;
  kill9(): Promise<void>;
  cleanup(): Promise<void>;
}

export function makeTempDir(prefix = "tally-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function runCli(configPath: string, args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolveRun) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", cliEntry, "--config", configPath, ...args],
      { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolveRun({ stdout, stderr, code });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

export interface StartOptions {
  /** Run inside this network namespace (`ip netns exec` keeps the PID, so stopping by PID still works). */
  netns?: string;
  /** The long-running command and the log message that says it is ready; default `serve`. */
  command?: { args: string[]; ready: string };
}

/**
 * Starts `tally serve` (or another long-running command) on `config` (object written as
 * YAML-compatible JSON) in a fresh directory. `cli()` runs in our namespace even with `netns`,
 * as it only reads the store file.
 */
export async function startTally(config: object = BASE_CONFIG, dir = makeTempDir(), opts: StartOptions = {}): Promise<TallyProcess> {
  const configPath = join(dir, "tally.yaml");
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const { args: commandArgs, ready: readyMessage } = opts.command ?? { args: ["serve"], ready: "Tally is running" };
  const what = `tally ${commandArgs.join(" ")}`;
  const serve = [process.execPath, "--import", "tsx", cliEntry, "--config", configPath, ...commandArgs];
  const [command, ...args] = opts.netns === undefined ? serve : ["ip", "netns", "exec", opts.netns, ...serve];
  const child = spawn(command!, args, {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let stderrText = "";
  const ports: Partial<Record<(typeof LISTENER_NAMES)[number], number>> = {};
  const ready = new Promise<void>((resolveReady, reject) => {
    let buffered = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      stderrText += chunk.toString();
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        logs.push(entry);
        const name = LISTENER_NAMES.find((n) => n === entry.port);
        if (typeof entry.address === "string" && name !== undefined) ports[name] = Number(entry.address.split(":").pop());
        if (entry.msg === readyMessage) resolveReady();
      }
    });
    child.once("exit", (code) => reject(new Error(`${what} exited with ${code} before it was ready:\n${stderrText}`)));
    setTimeout(() => reject(new Error(`${what} not ready after 20 s:\n${stderrText}`)), 20_000).unref();
  });
  try {
    await ready;
  } catch (e) {
    // Never leave a server behind that the caller cannot stop.
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    throw e;
  }
  let stopping = false;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  // A server that dies under a test is the finding; show why instead of a later ECONNREFUSED.
  child.once("exit", (code, signal) => {
    if (!stopping) process.stderr.write(`${what} exited unexpectedly (${signal ?? code}); its last output:\n${stderrText.slice(-4000)}\n`);
  });
  const stop = async () => {
    stopping = true;
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  return {
    dir,
    configPath,
    child,
    authPort: ports.auth ?? 0,
    acctPort: ports.acct ?? 0,
    tacacsPort: ports.tacacs ?? 0,
    httpPort: ports.http ?? 0,
    radsecPort: ports.radsec ?? 0,
    tacacsTlsPort: ports["tacacs-tls"] ?? 0,
    logs,
    async waitForLog(match, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = logs.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no matching log line within ${ms} ms; last lines:\n${stderrText.slice(-2000)}`);
        await sleep(20);
      }
    },
    async cli(args) {
      const r = await runCli(configPath, args);
      if (r.code !== 0) throw new Error(`tally ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
      return r.stdout;
    },
    stop,
    async kill9() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    async cleanup() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RadclientResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * radclient's input for one packet: `Name = value` lines; strings are quoted unless they look
 * like a dictionary value name (`Start`, `Interim-Update`).
 */
export function attrs(lines: Record<string, string | number>): string {
  return Object.entries(lines)
    .map(([k, v]) => `${k} = ${typeof v === "string" && !/^[A-Z][A-Za-z-]+$/.test(v) ? `"${v}"` : v}`)
    .join("\n");
}

/** Runs Debian's radclient with `input` as its packet file (blank lines separate packets). */
export async function radclient(
  server: string,
  command: "auth" | "acct" | "status" | "coa" | "disconnect",
  input: string,
  extraArgs: string[] = [],
  secret = SECRET,
): Promise<RadclientResult> {
  const dir = makeTempDir("tally-radclient-");
  const file = join(dir, "packets");
  writeFileSync(file, input);
  try {
    const { stdout, stderr } = await execFileAsync("radclient", ["-x", "-t", "2", "-r", "1", ...extraArgs, "-f", file, server, command, secret], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: number };
    return { stdout: err.stdout ?? "", stderr: err.stderr ?? "", code: typeof err.code === "number" ? err.code : 1 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a Python script with Debian's python3 (where python3-pyrad is installed). */
export async function python(script: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync("/usr/bin/python3", [script, ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Every wait in the interop tests is bounded, so a failure is reported instead of hanging. */
export function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  return Promise.race([p, sleep(ms).then((): T => { throw new Error(`${what}: not within ${ms} ms`); })]);
}

/** Polls `probe` every 250 ms until it gives a value; fails naming `what` after `ms`. */
export async function until<T>(ms: number, what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(250);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
