// `tally bench WORKLOAD`: a load generator for RADIUS and TACACS+ servers (Tally or any other),
// loopback or a host you run. Prints requests/s, latency percentiles, timeouts and errors
// (every answer verified), and its own CPU; `--json` for scripts.

import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { RadiusAcctWorkload, RadiusAuthWorkload, RadiusLoadClient } from "../bench/radius-load.ts";
import { runLoop } from "../bench/run.ts";
import { formatReport } from "../bench/stats.ts";
import { TacacsWorkload } from "../bench/tacacs-load.ts";
import { action, parsePositiveInt, printJson, UsageError } from "./common.ts";

const WORKLOADS = ["acct", "auth", "tacacs-acct", "tacacs-authen"] as const;
type WorkloadName = (typeof WORKLOADS)[number];

interface BenchOptions {
  target?: string;
  secret: string;
  key: string;
  requests: string;
  duration: string;
  warmup: string;
  concurrency: string;
  rate?: string;
  sockets: string;
  interims: string;
  users: string;
  openSessions?: string;
  sessionPrefix?: string;
  alreadyStarted?: boolean;
  method: string;
  user: string;
  password: string;
  connections: string;
  perRequest?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  timeout: string;
  retries: string;
  json?: boolean;
}

function parseTarget(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (!m) throw new UsageError(`--target: expected HOST:PORT, got "${text}"`);
  return { host: (m[1] ?? m[2])!, port: Number(m[3]) };
}

export function register(program: Command): void {
  program
    .command("bench <workload>")
    .description(`load a RADIUS or TACACS+ server and measure it: ${WORKLOADS.join(", ")}`)
    .option("--target <host:port>", "the server (default 127.0.0.1:1813 acct, :1812 auth, :49 TACACS+)")
    .option("--secret <secret>", "RADIUS shared secret", "testing123")
    .option("--key <key>", "TACACS+ key", "tackey")
    .option("--requests <n>", "stop after this many requests", "100000")
    .option("--duration <seconds>", "stop after this long at most", "60")
    .option("--warmup <seconds>", "send the same load for this long first, not counted (a server just started compiles its code and fills its caches under its first seconds of load)", "0")
    .option("--concurrency <n>", "closed loop: requests in flight", "256")
    .option("--rate <n>", "open loop: requests per second (instead of --concurrency)")
    .option("--sockets <n>", "RADIUS: UDP sockets to send from (256 requests in flight each)", "8")
    .option("--interims <n>", "acct: Interim-Updates per session, between Start and Stop", "3")
    .option("--users <n>", "acct: distinct users the sessions belong to", "1000")
    .option("--open-sessions <n>", "acct: sessions that never stop: start N, then Interim-Updates round all of them")
    .option("--session-prefix <p>", "acct: Acct-Session-Id prefix (the same prefix continues the same sessions)")
    .option("--already-started", "acct with --open-sessions: the sessions were started by an earlier run; only interims")
    .option("--method <pap|chap>", "auth: PAP or CHAP", "pap")
    .option("--user <name>", "auth / tacacs-authen: the user", "bench")
    .option("--password <password>", "auth / tacacs-authen: the password", "benchpass")
    .option("--connections <n>", "TACACS+: persistent single-connect connections", "8")
    .option("--per-request", "TACACS+: a new connection for every request instead")
    .option("--tls-cert <file>", "TACACS+ over TLS 1.3 (RFC 9887): our certificate (PEM); with --tls-key and --tls-ca")
    .option("--tls-key <file>", "TACACS+ over TLS: our private key (PEM)")
    .option("--tls-ca <file>", "TACACS+ over TLS: the CA that signed the server's certificate (PEM)")
    .option("--timeout <ms>", "per attempt", "2000")
    .option("--retries <n>", "RADIUS retransmissions before a timeout is counted", "2")
    .option("--json", "print the report as JSON")
    .action(
      action(async (name: string, o: BenchOptions) => {
        if (!(WORKLOADS as readonly string[]).includes(name)) throw new UsageError(`workload: expected one of ${WORKLOADS.join(", ")}, got "${name}"`);
        const workloadName = name as WorkloadName;
        if (o.method !== "pap" && o.method !== "chap") throw new UsageError(`--method: expected pap or chap, got "${o.method}"`);
        const tacacs = workloadName.startsWith("tacacs");
        const target = parseTarget(o.target ?? (tacacs ? "127.0.0.1:49" : workloadName === "acct" ? "127.0.0.1:1813" : "127.0.0.1:1812"));
        const requests = parsePositiveInt("--requests", o.requests);
        const seconds = parsePositiveInt("--duration", o.duration);
        const concurrency = parsePositiveInt("--concurrency", o.concurrency);
        const rate = o.rate === undefined ? undefined : parsePositiveInt("--rate", o.rate);
        const timeoutMs = parsePositiveInt("--timeout", o.timeout);
        const warmup = parsePositiveInt("--warmup", o.warmup);

        let workload: { request(): Promise<"ok" | "error" | "timeout"> };
        let close: () => void;
        let maxInFlight = 100_000;
        let label: string = workloadName;
        if (tacacs) {
          const connections = o.perRequest ? 0 : parsePositiveInt("--connections", o.connections);
          const tlsFiles = [o.tlsCert, o.tlsKey, o.tlsCa];
          if (tlsFiles.some((f) => f !== undefined) && !tlsFiles.every((f) => f !== undefined)) {
            throw new UsageError("--tls-cert, --tls-key and --tls-ca go together");
          }
          const readPem = (option: string, file: string) => {
            try {
              return readFileSync(file);
            } catch (e) {
              throw new UsageError(`${option}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
            }
          };
          const tls =
            o.tlsCert === undefined ? undefined : { cert: readPem("--tls-cert", o.tlsCert), key: readPem("--tls-key", o.tlsKey!), ca: readPem("--tls-ca", o.tlsCa!) };
          const t = await TacacsWorkload.open({
            ...target,
            key: o.key,
            tls,
            kind: workloadName === "tacacs-acct" ? "acct" : "authen",
            connections,
            user: o.user,
            password: o.password,
            timeoutSeconds: timeoutMs / 1000,
          });
          workload = t;
          close = () => t.close();
          label += connections === 0 ? " (a connection per request" : ` (${connections} persistent connections`;
          label += tls === undefined ? ")" : ", TLS 1.3)";
        } else {
          const client = new RadiusLoadClient({
            ...target,
            secret: Buffer.from(o.secret, "utf8"),
            sockets: parsePositiveInt("--sockets", o.sockets),
            timeoutMs,
            retries: Number(o.retries),
          });
          maxInFlight = client.capacity;
          if (rate === undefined && concurrency > client.capacity) {
            client.close();
            throw new UsageError(`--concurrency ${concurrency} needs more than --sockets ${o.sockets} (256 in flight each)`);
          }
          workload =
            workloadName === "acct"
              ? new RadiusAcctWorkload(client, {
                  interims: Number(o.interims),
                  users: parsePositiveInt("--users", o.users),
                  openSessions: o.openSessions === undefined ? undefined : parsePositiveInt("--open-sessions", o.openSessions),
                  sessionPrefix: o.sessionPrefix,
                  alreadyStarted: o.alreadyStarted,
                })
              : new RadiusAuthWorkload(client, o.method, o.user, o.password);
          close = () => client.close();
          if (workloadName === "auth") label += ` (${o.method.toUpperCase()})`;
          if (workloadName === "acct") {
            label +=
              o.openSessions === undefined
                ? ` (sessions of Start, ${o.interims} Interim-Updates, Stop)`
                : o.alreadyStarted
                  ? ` (Interim-Updates round ${o.openSessions} open sessions)`
                  : ` (${o.openSessions} sessions that stay open)`;
          }
        }
        try {
          const where = { workload: label, target: `${target.host}:${target.port}` };
          // The warm-up is the same workload (sessions it started go on in the measured run),
          // bounded by time only; its figures are reported apart and counted nowhere else.
          const warm =
            warmup === 0
              ? undefined
              : await runLoop(workload, { requests: Number.MAX_SAFE_INTEGER, seconds: warmup, concurrency, rate, maxInFlight, progress: false }, where);
          const report = await runLoop(
            workload,
            { requests, seconds, concurrency, rate, maxInFlight, progress: !o.json && process.stderr.isTTY === true },
            where,
          );
          if (warm !== undefined) report.warmup = { seconds: warm.seconds, requests: warm.requests, ok: warm.ok };
          if (o.json) printJson(report);
          else process.stdout.write(`${formatReport(report)}\n`);
          if (report.ok === 0) process.exitCode = 1;
        } finally {
          close();
        }
      }),
    );
}
