// The metrics of a real running Tally, in process: startTally (src/server/app.ts) on a temp
// SQLite file and ephemeral loopback ports, driven by Debian's radclient (Access-Request
// accept and reject, Accounting Start / Interim / Stop, a record a plugin throws on, a wrong
// secret, an interim a plugin answers disconnect to, carried out on a fake NAS that
// acknowledges) and by Tally's TACACS+ client (one accounting START); then the Prometheus text
// of `running.metrics.registry` is parsed and its counts checked exactly, and snapshot(); the
// same text at /metrics and the overview at /api/overview over real HTTP.

import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { loadConfig } from "../../src/config/load.ts";
import { tokenHash } from "../../src/http/server.ts";
import { quantile } from "../../src/metrics/metrics.ts";
import { PacketCode } from "../../src/radius/constants.ts";
import { buildResponse } from "../../src/radius/message.ts";
import { decodePacket } from "../../src/radius/packet.ts";
import { startTally, type RunningTally } from "../../src/server/app.ts";
import { TacacsClient } from "../../src/tacacs/client.ts";
import { AcctFlag, AcctStatus } from "../../src/tacacs/constants.ts";
import { SECRET, TACACS_KEY, makeTempDir, radclient, until } from "../interop/harness.ts";

const probe = join(import.meta.dirname, "..", "plugins", "fixtures", "probe.ts");
const TOKEN = "metrics-test-token";

/** One sample of the text format: name, labels, value. */
interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A small parser for prom-client's text exposition format (no escapes in our label values). */
function parseProm(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the sample `name` whose labels include `labels`; undefined when there is none. */
function value(samples: PromSample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

function packet(attrs: Record<string, string | number>): string {
  return Object.entries(attrs)
    .map(([k, v]) => `${k} = ${typeof v === "number" ? v : `"${v}"`}`)
    .join("\n");
}

describe("metrics of a running Tally", () => {
  let dir: string;
  let running: RunningTally;
  let auth: string;
  let acct: string;
  let samples: PromSample[];
  let nas: Socket;

  before(async () => {
    dir = makeTempDir("tally-metrics-");
    // The NAS's dynamic-authorization server: acknowledges every Disconnect-Request.
    nas = createSocket("udp4");
    nas.on("message", (msg, rinfo) => {
      const d = decodePacket(msg);
      if (d.ok) nas.send(buildResponse(d.packet, PacketCode.DisconnectACK, [], Buffer.from(SECRET)), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => nas.bind(0, "127.0.0.1", () => r()));
    const configPath = join(dir, "tally.yaml");
    writeFileSync(
      configPath,
      JSON.stringify({
        store: { sqlite: "./tally.db" },
        radius: { auth: "127.0.0.1:0", acct: "127.0.0.1:0" },
        tacacs: { listen: "127.0.0.1:0" },
        http: { listen: "127.0.0.1:0", tokens: [{ name: "test", sha256: tokenHash(TOKEN) }] },
        clients: [
          { name: "lab", address: "127.0.0.0/8", secret: SECRET, tacacsKey: TACACS_KEY, coa: { address: "127.0.0.1", port: nas.address().port } },
        ],
        users: [
          { name: "alice", password: "alicepass" },
          { name: "bob", password: "bobpass" },
          { name: "mallory", password: "mallorypass" },
        ],
        plugins: [
          { module: probe, options: { name: "probe", throwUser: "mallory" } },
          // Answers disconnect to every record; only an interim's counts (docs/plugins.md).
          { module: probe, options: { name: "cutter", acctStatus: "disconnect" } },
        ],
      }),
    );
    running = await startTally(loadConfig(configPath), pino({ level: "silent" }));
    auth = `127.0.0.1:${running.addresses.auth!.port}`;
    acct = `127.0.0.1:${running.addresses.acct!.port}`;

    // One request at a time, so that each record is its own commit.
    const accept = await radclient(auth, "auth", packet({ "User-Name": "alice", "User-Password": "alicepass" }));
    assert.match(accept.stdout, /Received Access-Accept/);
    const reject = await radclient(auth, "auth", packet({ "User-Name": "alice", "User-Password": "wrong" }));
    assert.match(reject.stdout, /Received Access-Reject/);
    const session = (id: string, status: string, user = "alice") =>
      packet({ "User-Name": user, "Acct-Session-Id": id, "Acct-Status-Type": status, "NAS-Identifier": "nas-m" });
    for (const [id, status] of [["m-1", "Start"], ["m-1", "Stop"], ["m-2", "Start"], ["m-2", "Interim-Update"]] as const) {
      const r = await radclient(acct, "acct", session(id, status));
      assert.match(r.stdout, /Received Accounting-Response/, `${id} ${status} acknowledged`);
    }
    // The probe throws on mallory's record: stored, left unanswered (a plugin error).
    const thrown = await radclient(acct, "acct", session("m-3", "Start", "mallory"), ["-t", "1"]);
    assert.doesNotMatch(thrown.stdout, /Received Accounting-Response/, "a plugin error leaves the record unanswered");
    // A wrong secret: the Request Authenticator does not verify, the packet is dropped.
    const wrong = await radclient(acct, "acct", session("m-4", "Start"), ["-t", "1"], "not-the-secret");
    assert.doesNotMatch(wrong.stdout, /Received Accounting-Response/, "a packet with a wrong secret is dropped");

    const client = await TacacsClient.connect({ host: "127.0.0.1", port: running.addresses.tacacs!.port, key: TACACS_KEY });
    try {
      const r = await client.account({ user: "bob", port: "tty1", remAddr: "192.0.2.7", flags: AcctFlag.Start, args: ["task_id=77", "service=shell"] });
      assert.equal(r.status, AcctStatus.Success);
    } finally {
      await client.close();
    }
    // sessionClosed and the disconnect run after the answer: wait for them, so every count below is final.
    samples = await until(5000, "the probe's sessionClosed call and the disconnect", async () => {
      const s = parseProm(await running.metrics.registry.metrics());
      const closed = value(s, "tally_plugin_calls_total", { plugin: "probe", hook: "sessionClosed" }) === 1;
      return closed && value(s, "tally_disconnects_total", { outcome: "acknowledged" }) === 1 ? s : undefined;
    });
  });

  after(async () => {
    await running?.stop();
    nas?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("counts requests by protocol, type and outcome", () => {
    const requests = samples
      .filter((s) => s.name === "tally_requests_total")
      .map((s) => `${s.labels.protocol} ${s.labels.type} ${s.labels.outcome} ${s.value}`)
      .sort();
    assert.deepEqual(requests, [
      "radius access accept 1",
      "radius access reject 1",
      "radius accounting disconnect 1",
      "radius accounting dropped 1",
      "radius accounting error 1",
      "radius accounting ok 3",
      "tacacs acct ok 1",
    ]);
  });

  it("counts drops by reason, every known reason shown from the start", () => {
    assert.equal(value(samples, "tally_drops_total", { protocol: "radius", reason: "bad-authenticator" }), 1);
    const others = samples.filter((s) => s.name === "tally_drops_total" && s.labels.reason !== "bad-authenticator");
    assert.ok(others.some((s) => s.labels.protocol === "radius" && s.labels.reason === "unknown-client"), "radius reasons listed at 0");
    assert.ok(others.some((s) => s.labels.protocol === "tacacs" && s.labels.reason === "bad-seq-no"), "tacacs reasons listed at 0");
    assert.deepEqual(others.filter((s) => s.value !== 0), [], "no other drop");
  });

  it("has a latency histogram per protocol and type, with only answered requests", () => {
    const count = (protocol: string, type: string) => value(samples, "tally_request_duration_seconds_count", { protocol, type });
    assert.equal(count("radius", "access"), 2);
    assert.equal(count("radius", "accounting"), 4, "the unanswered (plugin error) and dropped requests have no latency");
    assert.equal(count("tacacs", "acct"), 1);
    const inf = value(samples, "tally_request_duration_seconds_bucket", { protocol: "radius", type: "accounting", le: "+Inf" });
    assert.equal(inf, 4);
    const sum = value(samples, "tally_request_duration_seconds_sum", { protocol: "radius", type: "access" })!;
    assert.ok(sum > 0 && sum < 5, `two Access-Requests took ${sum} s in all`);
  });

  it("times each store commit and counts its records", () => {
    // Six records (alice's Start, Stop, Start and Interim, mallory's Start, bob's TACACS+ START), sent one at a time.
    assert.equal(value(samples, "tally_store_commit_duration_seconds_count"), 6);
    assert.equal(value(samples, "tally_store_commit_records_sum"), 6);
    assert.equal(value(samples, "tally_store_commit_records_bucket", { le: "1" }), 6, "each commit held one record");
    assert.equal(value(samples, "tally_store_commit_failures_total"), 0);
  });

  it("reads the open sessions from the store when scraped", () => {
    // m-2 (alice), m-3 (mallory: stored although unanswered) and bob's TACACS+ session; m-1 is closed.
    assert.equal(value(samples, "tally_sessions_open"), 3);
    assert.equal(value(samples, "tally_spool_records"), 0, "no spool with SQLite");
  });

  it("counts plugin calls and errors by plugin and hook", () => {
    const calls = (hook: string) => value(samples, "tally_plugin_calls_total", { plugin: "probe", hook });
    assert.equal(calls("authenticate"), 2);
    assert.equal(calls("accounting"), 6);
    assert.equal(calls("sessionClosed"), 1);
    assert.equal(value(samples, "tally_plugin_calls_total", { plugin: "cutter", hook: "accounting" }), 6);
    assert.equal(value(samples, "tally_plugin_errors_total", { plugin: "cutter", hook: "accounting" }), undefined, "cutter never failed");
    assert.equal(value(samples, "tally_plugin_errors_total", { plugin: "probe", hook: "accounting" }), 1, "mallory's record threw");
    assert.equal(value(samples, "tally_plugin_errors_total", { plugin: "probe", hook: "authenticate" }), undefined);
    assert.equal(value(samples, "tally_plugin_timeouts_total", { plugin: "probe", hook: "accounting" }), undefined);
  });

  it("counts disconnects by outcome", () => {
    const disconnects = samples.filter((s) => s.name === "tally_disconnects_total").map((s) => [s.labels.outcome, s.value]);
    assert.deepEqual(disconnects, [["acknowledged", 1]]);
  });

  it("registers the default process metrics with the tally_ prefix", () => {
    assert.ok((value(samples, "tally_process_cpu_user_seconds_total") ?? 0) > 0, "process CPU time is exported");
    assert.ok(samples.some((s) => s.name.startsWith("tally_nodejs_")), "Node.js metrics are exported");
    assert.ok(!samples.some((s) => !s.name.startsWith("tally_")), "every metric is Tally's");
  });

  it("snapshot(): the overview for the dashboard", async () => {
    const overview = await running.metrics.snapshot();
    assert.ok(overview.requestsPerSecond.radius > 0, `radius requests per second: ${overview.requestsPerSecond.radius}`);
    assert.ok(overview.requestsPerSecond.tacacs > 0, `tacacs requests per second: ${overview.requestsPerSecond.tacacs}`);
    assert.ok(overview.requestsPerSecond.radius >= overview.requestsPerSecond.tacacs, "8 RADIUS requests, 1 TACACS+ one");
    assert.equal(overview.requestsPerSecond.openvpn, 0);
    assert.equal(overview.openSessions, 3);
    assert.equal(overview.drops, 1);
    assert.equal(overview.pluginErrors, 1);
    assert.equal(overview.spoolDepth, 0);
    assert.ok(overview.storeCommitP99Ms !== undefined && overview.storeCommitP99Ms > 0 && overview.storeCommitP99Ms <= 5000, `p99 ${overview.storeCommitP99Ms} ms`);
  });


  it("are served over HTTP: /metrics (no token) and /api/overview", async () => {
    const base = `http://127.0.0.1:${running.http!.address.port}`;
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const served = parseProm(await res.text());
    assert.equal(value(served, "tally_requests_total", { protocol: "radius", type: "accounting", outcome: "ok" }), 3);
    assert.equal(value(served, "tally_sessions_open"), 3);
    const overview = await fetch(`${base}/api/overview`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(overview.status, 200);
    const body = (await overview.json()) as Record<string, unknown>;
    assert.equal(body.openSessions, 3);
    assert.equal(body.drops, 1);
    assert.equal(body.pluginErrors, 1);
  });
});

describe("quantile over latency buckets", () => {
  it("interpolates within the bucket as histogram_quantile does", () => {
    // 100 commits: 98 within 1 ms (bucket 0.0005..0.001), 2 within 2.5 ms.
    const counts = new Array<number>(16).fill(0);
    counts[3] = 98;
    counts[4] = 2;
    assert.equal(quantile(0.5, counts), 0.0005 + 0.0005 * (50 / 98));
    assert.equal(quantile(0.99, counts), 0.001 + 0.0015 * 0.5);
    assert.equal(quantile(0.99, new Array<number>(16).fill(0)), null, "no commits, no quantile");
    const slow = new Array<number>(16).fill(0);
    slow[15] = 1;
    assert.equal(quantile(0.99, slow), 5, "above the largest bound: that bound");
  });
});
