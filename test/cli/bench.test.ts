// `tally bench` against a real `tally serve`: what it reports is what happened. Every answer
// is verified, so a wrong password or a wrong secret shows as errors, not as throughput; the
// accounting sessions it sends are all in the store. (No speed is asserted: figures belong in
// BENCHMARKS.md.)

import assert from "node:assert/strict";
import { join } from "node:path";
import Database from "better-sqlite3";
import { after, before, describe, it } from "node:test";
import type { LoadReport } from "../../src/bench/stats.ts";
import { BASE_CONFIG, runCli, SECRET, startTally, TACACS_KEY, type TallyProcess } from "../interop/harness.ts";

describe("tally bench", () => {
  let tally: TallyProcess;
  before(async () => {
    tally = await startTally({
      ...BASE_CONFIG,
      tacacs: { listen: "127.0.0.1:0" },
      clients: [{ name: "lab", address: "127.0.0.0/8", secret: SECRET, tacacsKey: TACACS_KEY }],
      users: [{ name: "bench", password: "benchpass" }],
    });
  });
  after(async () => tally?.cleanup());

  async function bench(args: string[]): Promise<LoadReport> {
    const r = await runCli(tally.configPath, ["bench", ...args, "--json"]);
    return JSON.parse(r.stdout) as LoadReport;
  }

  it("acct: sessions of Start, 3 interims and Stop, every answer verified and every acknowledged record in the store", async () => {
    const r = await bench(["acct", "--target", `127.0.0.1:${tally.acctPort}`, "--requests", "500", "--concurrency", "20", "--sockets", "2", "--interims", "3"]);
    assert.equal(r.ok, 500, JSON.stringify(r));
    assert.equal(r.errors + r.timeouts, 0);
    assert.ok(r.latencyMs.p50 > 0 && r.latencyMs.p99 >= r.latencyMs.p50 && r.latencyMs.max >= r.latencyMs.p999, `percentiles in order: ${JSON.stringify(r.latencyMs)}`);
    const sessions = JSON.parse(await tally.cli(["sessions", "--json", "--nas", "bench-nas", "--limit", "1000"])) as { id: number; status: string; inputOctets: number }[];
    // 20 lanes: when the request budget runs out, up to 20 sessions are still under way.
    const closed = sessions.filter((s) => s.status === "closed");
    assert.ok(sessions.length >= 100 && sessions.length <= 120, `about 100 sessions: ${sessions.length}`);
    assert.ok(closed.length >= 80, `most sessions completed: ${closed.length}`);
    assert.ok(closed.every((s) => s.inputOctets === 4 * 150_000), "each closed with the Stop's counters");
    const db = new Database(join(tally.dir, "tally.db"), { readonly: true });
    try {
      const { n } = db.prepare("SELECT count(*) AS n FROM records WHERE nas = 'bench-nas'").get() as { n: number };
      assert.equal(n, 500, "every acknowledged request is a stored record");
    } finally {
      db.close();
    }
  });

  it("auth: PAP and CHAP accepted; a wrong password counts as errors, a wrong secret too", async () => {
    const target = `127.0.0.1:${tally.authPort}`;
    for (const method of ["pap", "chap"]) {
      const ok = await bench(["auth", "--target", target, "--method", method, "--user", "bench", "--password", "benchpass", "--requests", "200", "--concurrency", "10"]);
      assert.equal(ok.ok, 200, `${method}: ${JSON.stringify(ok)}`);
    }
    const wrong = await bench(["auth", "--target", target, "--user", "bench", "--password", "nope", "--requests", "50", "--concurrency", "5"]);
    assert.equal(wrong.ok, 0);
    assert.equal(wrong.errors, 50, "an Access-Reject is not the Access-Accept asked for");
    const secret = await bench(["auth", "--target", target, "--secret", "not-the-secret", "--user", "bench", "--password", "benchpass", "--requests", "5", "--concurrency", "5", "--timeout", "200", "--retries", "0"]);
    assert.equal(secret.ok, 0);
    assert.equal(secret.errors + secret.timeouts, 5, `no verified answer with a wrong secret: ${JSON.stringify(secret)}`);
  });

  it("tacacs-acct over persistent connections and tacacs-authen with a connection per request", async () => {
    const target = `127.0.0.1:${tally.tacacsPort}`;
    const acct = await bench(["tacacs-acct", "--target", target, "--key", TACACS_KEY, "--requests", "300", "--concurrency", "16", "--connections", "4"]);
    assert.equal(acct.ok, 300, JSON.stringify(acct));
    const authen = await bench(["tacacs-authen", "--target", target, "--key", TACACS_KEY, "--requests", "50", "--concurrency", "5", "--per-request", "--user", "bench", "--password", "benchpass"]);
    assert.equal(authen.ok, 50, JSON.stringify(authen));
    const badKey = await bench(["tacacs-authen", "--target", target, "--key", "wrong", "--requests", "5", "--concurrency", "5", "--timeout", "500", "--user", "bench", "--password", "benchpass"]);
    assert.equal(badKey.ok, 0, JSON.stringify(badKey));
  });

  it("open loop at a fixed rate sends what was asked", async () => {
    const r = await bench(["acct", "--target", `127.0.0.1:${tally.acctPort}`, "--rate", "200", "--requests", "200", "--sockets", "1"]);
    assert.equal(r.ok, 200, JSON.stringify(r));
    assert.match(r.loop, /open loop, 200\/s/);
    // The generator's own lateness is reported beside the latency it is part of.
    const late = r.sendLateMs;
    assert.ok(late !== undefined, "an open loop reports how late it sent");
    assert.ok(late.p50 >= 0 && late.p50 <= late.p99 && late.p99 <= late.max, JSON.stringify(late));
    // At 200/s on loopback the generator sends on time to within a few timer ticks.
    assert.ok(late.p50 < 50, `sent late by ${late.p50} ms at the median`);
  });

  it("--warmup: the load before the measured run reaches the server but no figure counts it", async () => {
    const stored = () => {
      const db = new Database(join(tally.dir, "tally.db"), { readonly: true });
      try {
        return (db.prepare("SELECT count(*) AS n FROM records WHERE nas = 'bench-nas'").get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const before = stored();
    const r = await bench(["acct", "--target", `127.0.0.1:${tally.acctPort}`, "--warmup", "1", "--requests", "300", "--concurrency", "4", "--sockets", "1"]);
    assert.ok(r.warmup !== undefined, `a warm-up is reported: ${JSON.stringify(r)}`);
    assert.ok(r.warmup.seconds >= 1, `it lasted the second asked for: ${r.warmup.seconds}`);
    assert.ok(r.warmup.requests > 0 && r.warmup.ok === r.warmup.requests, `warm-up answered: ${JSON.stringify(r.warmup)}`);
    assert.equal(r.requests, 300, "the measured run is the requests asked for, without the warm-up's");
    assert.equal(r.ok, 300, JSON.stringify(r));
    assert.equal(stored() - before, r.warmup.ok + r.ok, "the server stored the warm-up's records and the measured run's");
  });
});
