// RADIUS rate limits and the pending cap against a real `tally serve`, with pyrad
// (python3-pyrad, test/interop/pyrad/limits.py) as the NAS on chosen loopback source addresses;
// drop counts read from /metrics (tally_drops_total). Also: a flood from an unknown source is
// counted in full but logged in a few lines, and, in process, that unknown sources and
// rate-limited datagrams are dropped before any decoding or cryptography.

import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { loadConfig } from "../../src/config/load.ts";
import { Attr } from "../../src/radius/constants.ts";
import { buildAccountingRequest } from "../../src/radius/message.ts";
import { startTally as startInProcess, type RunningTally } from "../../src/server/app.ts";
import { scrapeDrops } from "../support/metrics.ts";
import { BASE_CONFIG, makeTempDir, python, SECRET, sleep, startTally, until, type TallyProcess } from "./harness.ts";

const script = join(import.meta.dirname, "pyrad", "limits.py");
const slowPlugin = join(import.meta.dirname, "fixtures", "held-accounting.ts");

interface BurstResult {
  first: string[];
  afterRelease: string[];
  retransmitted: string[];
}

async function burst(tally: TallyProcess, prefix: string, n: number, source: string, wait: number, releaseFile?: string): Promise<BurstResult> {
  const args = ["burst", "127.0.0.1", String(tally.acctPort), SECRET, prefix, String(n), source, String(wait)];
  return JSON.parse(await python(script, releaseFile === undefined ? args : [...args, releaseFile])) as BurstResult;
}

async function bound(address: string): Promise<Socket> {
  const socket = createSocket("udp4");
  await new Promise<void>((r) => socket.bind(0, address, () => r()));
  return socket;
}

describe("RADIUS rate limits (pyrad against tally serve)", () => {
  let tally: TallyProcess;
  // Rates so low that no token comes back during the test: exactly the burst is answered.
  const perSource = { rate: 0.001, burst: 5 };
  const perClient = { rate: 0.001, burst: 6 };

  before(async () => {
    tally = await startTally({
      ...BASE_CONFIG,
      radius: { ...BASE_CONFIG.radius, rateLimit: { perSource } },
      clients: [
        { name: "lab", address: "127.0.0.0/29", secret: SECRET },
        { name: "pair", address: "127.0.0.20/30", secret: SECRET, rateLimit: perClient },
      ],
      http: { listen: "127.0.0.1:0" },
    });
  });
  after(async () => {
    await tally.cleanup();
  });

  it("a source over its limit gets exactly the burst answered, the rest dropped as rate-limited; another source is unaffected", async () => {
    const before = await scrapeDrops(tally.httpPort);
    const over = await burst(tally, "src2", 12, "127.0.0.2", 1.5);
    assert.equal(over.first.length, perSource.burst, `12 at once from 127.0.0.2: the burst answered (${over.first.join(" ")})`);
    const other = await burst(tally, "src3", 5, "127.0.0.3", 1.5);
    assert.equal(other.first.length, 5, "127.0.0.3 has its own bucket: all 5 answered");
    const afterDrops = await until(3000, "the drops counted", async () => {
      const d = await scrapeDrops(tally.httpPort);
      return d["radius:rate-limited"]! - (before["radius:rate-limited"] ?? 0) >= 7 ? d : undefined;
    });
    assert.equal(afterDrops["radius:rate-limited"]! - (before["radius:rate-limited"] ?? 0), 12 - perSource.burst, "the other 7 counted rate-limited");
    const logged = tally.logs.filter((l) => l.reason === "rate-limited" && String(l.source).startsWith("127.0.0.2:"));
    assert.equal(logged.length, 1, "and logged once (the rest go into the 10 s summary)");
    assert.equal(logged[0]!.client, "lab");
  });

  it("a client's limit is shared by its addresses: two sources of one client get the client's burst between them", async () => {
    const before = await scrapeDrops(tally.httpPort);
    const a = await burst(tally, "pairA", 10, "127.0.0.20", 1.5);
    const b = await burst(tally, "pairB", 10, "127.0.0.21", 1.5);
    // Each address alone may send 5 (the per-source limit); the client, 6 in all.
    assert.equal(a.first.length, 5, "127.0.0.20: its per-source burst");
    assert.equal(b.first.length, 1, "127.0.0.21: what is left of the client's 6");
    const d = await until(3000, "the drops counted", async () => {
      const now = await scrapeDrops(tally.httpPort);
      return now["radius:rate-limited"]! - (before["radius:rate-limited"] ?? 0) >= 14 ? now : undefined;
    });
    assert.equal(d["radius:rate-limited"]! - (before["radius:rate-limited"] ?? 0), 20 - perClient.burst);
  });

  it("a flood of 5,000 datagrams from an unknown source: every one counted, two log lines", async () => {
    const before = await scrapeDrops(tally.httpPort);
    const base = before["radius:unknown-client"] ?? 0;
    const logsBefore = tally.logs.length;
    const socket = await bound("127.0.0.9"); // outside every client's range
    const junk = Buffer.from("04010014" + "00".repeat(16), "hex");
    // In rounds of 500, each waited for, so the kernel's receive buffer never overflows.
    for (let sent = 500; sent <= 5000; sent += 500) {
      for (let i = 0; i < 500; i++) socket.send(junk, tally.acctPort, "127.0.0.1");
      await until(5000, `${sent} unknown-client drops counted`, async () => ((await scrapeDrops(tally.httpPort))["radius:unknown-client"]! - base >= sent ? true : undefined));
    }
    socket.close();
    assert.equal((await scrapeDrops(tally.httpPort))["radius:unknown-client"]! - base, 5000, "tally_drops_total counts all 5,000");
    // The first drop is logged at once, the other 4,999 in one summary when the 10 s window ends.
    const summary = await tally.waitForLog((l) => l.reason === "unknown-client" && typeof l.suppressed === "number", 15_000);
    assert.equal(summary.suppressed, 4999, "the summary counts the drops not logged one by one");
    const lines = tally.logs.slice(logsBefore).filter((l) => l.reason === "unknown-client");
    assert.equal(lines.length, 2, `one line for the first drop and one summary, not 5,000: ${JSON.stringify(lines)}`);
    assert.match(String(lines[0]!.source), /^127\.0\.0\.9:/);
  });
});

describe("RADIUS pending cap (pyrad against tally serve, a slow plugin)", () => {
  let tally: TallyProcess;
  let dir: string;
  const maxPending = 4;

  before(async () => {
    dir = makeTempDir();
    tally = await startTally(
      {
        ...BASE_CONFIG,
        radius: { ...BASE_CONFIG.radius, maxPending },
        clients: [{ name: "lab", address: "127.0.0.1", secret: SECRET }],
        plugins: [{ module: slowPlugin, options: { releaseFile: join(dir, "release"), calls: join(dir, "calls.jsonl") }, timeout: 30 }],
        http: { listen: "127.0.0.1:0" },
      },
      dir,
    );
  });
  after(async () => {
    await tally.cleanup();
  });

  it("requests beyond maxPending are dropped as overloaded; once the plugin is released, their retransmissions are answered and stored once", async () => {
    const before = await scrapeDrops(tally.httpPort);
    const n = 10;
    // pyrad sends 10 Starts at once, waits 2 s (the plugin holds the first 4), creates the
    // release file, collects the 4 answers, then retransmits the 6 unanswered as they were,
    // one after the other.
    const r = await burst(tally, "cap", n, "127.0.0.1", 2, join(dir, "release"));
    assert.deepEqual(r.first, [], "nothing answered while the plugin waits");
    assert.equal(r.afterRelease.length, maxPending, `the ${maxPending} pending ones answered once released`);
    assert.equal(r.retransmitted.length, n - maxPending, "every retransmission of a dropped one answered");
    assert.deepEqual([...r.afterRelease, ...r.retransmitted].sort(), Array.from({ length: n }, (_, i) => `cap-${i}`).sort());
    const d = await scrapeDrops(tally.httpPort);
    assert.equal(d["radius:overloaded"]! - (before["radius:overloaded"] ?? 0), n - maxPending, "the 6 beyond the cap counted overloaded");

    // Stored exactly once each: one session, one record, one plugin call and never a redelivery.
    const sessions = JSON.parse(await tally.cli(["sessions", "--json"])) as { id: number; sessionId: string }[];
    const ours = sessions.filter((s) => s.sessionId.startsWith("cap-"));
    assert.equal(ours.length, n);
    for (const s of ours) {
      const records = JSON.parse(await tally.cli(["records", "--session", String(s.id), "--json"])) as unknown[];
      assert.equal(records.length, 1, `${s.sessionId}: one record`);
    }
    const calls = readFileSync(join(dir, "calls.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { sessionId: string; redelivery: boolean });
    assert.equal(calls.length, n, "the plugin saw each record once");
    assert.ok(calls.every((c) => !c.redelivery), "none of them a redelivery: the dropped ones had not been stored");
  });
});

describe("what a dropped datagram costs (in process)", () => {
  let running: RunningTally;
  let acct: number;

  before(async () => {
    const dir = makeTempDir();
    const configPath = join(dir, "tally.yaml");
    writeFileSync(
      configPath,
      JSON.stringify({
        ...BASE_CONFIG,
        radius: { ...BASE_CONFIG.radius, rateLimit: { perSource: { rate: 0.001, burst: 3 } } },
        clients: [{ name: "lab", address: "127.0.0.1/32", secret: SECRET }],
      }),
    );
    running = await startInProcess(loadConfig(configPath), pino({ level: "silent" }));
    acct = running.addresses.acct!.port;
  });
  after(async () => {
    await running.stop();
  });

  const wrongSecret = () =>
    buildAccountingRequest(7, [
      { type: Attr.AcctStatusType, value: Buffer.from([0, 0, 0, 1]) },
      { type: Attr.AcctSessionId, value: Buffer.from("wrong-secret") },
    ], Buffer.from("not-the-secret"));

  async function send(source: string, datagram: Buffer): Promise<void> {
    const socket = await bound(source);
    socket.send(datagram, acct, "127.0.0.1");
    await sleep(200);
    socket.close();
  }

  it("a bad authenticator from an unknown source counts as unknown-client: no secret was looked at", async () => {
    const drops = running.radius.counters.drops;
    await send("127.0.0.9", wrongSecret());
    await until(2000, "the drop", async () => (drops["unknown-client"] === 1 ? true : undefined));
    assert.equal(drops["bad-authenticator"], undefined, "never checked against a secret");
    // The same datagram from the client's address does reach the check (one token of 3 spent).
    await send("127.0.0.1", wrongSecret());
    await until(2000, "the drop", async () => (drops["bad-authenticator"] === 1 ? true : undefined));
  });

  it("the limiter is asked before decoding: a garbage datagram over the limit counts as rate-limited, not too-short", async () => {
    const drops = running.radius.counters.drops;
    const garbage = Buffer.from([1, 2, 3]);
    await send("127.0.0.1", garbage); // the second of 3 tokens: decoded, too short
    await until(2000, "the drop", async () => (drops["too-short"] === 1 ? true : undefined));
    await send("127.0.0.1", garbage); // the third
    await send("127.0.0.1", garbage); // over the limit
    await until(2000, "the drop", async () => (drops["rate-limited"] === 1 ? true : undefined));
    assert.equal(drops["too-short"], 2, "only the two within the limit were decoded");
  });
});
