// Sessions that end without a Stop, in a real `tally serve` (reapInterval 1 s, staleGrace 1 s)
// with Debian's radclient as the NAS: alice's Access-Accept asks for an interim every second, her
// Start is followed by silence, and the reaper closes the session as stale with Lost-Service,
// logs it and tells the plugins (sessionClosed, once). A late Interim-Update is acknowledged
// and stored, and changes nothing. A session without an interval stays open.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BASE_CONFIG, makeTempDir, radclient, startTally, until, type TallyProcess } from "./harness.ts";

const probe = join(import.meta.dirname, "..", "plugins", "fixtures", "probe.ts");

interface SessionJson {
  id: number;
  user: string | null;
  sessionId: string;
  status: string;
  startedAt: string;
  updatedAt: string;
  stoppedAt: string | null;
  inputOctets: number;
  outputOctets: number;
  sessionTime: number;
  terminateCause: string | null;
  interimInterval: number | null;
  nextUpdateDue: string | null;
  note: string | null;
}

const packet = (fields: Record<string, string | number>) =>
  Object.entries(fields)
    .map(([k, v]) => `${k} = ${typeof v === "number" || /^[A-Z][A-Za-z-]+$/.test(v) ? v : `"${v}"`}`)
    .join("\n");

describe("the reaper in a running server", () => {
  let tally: TallyProcess;
  let probeFile: string;
  let auth: string;
  let acct: string;

  const session = async (sessionId: string): Promise<SessionJson | undefined> =>
    (JSON.parse(await tally.cli(["sessions", "--json"])) as SessionJson[]).find((s) => s.sessionId === sessionId);
  const probeCalls = () =>
    existsSync(probeFile)
      ? readFileSync(probeFile, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];

  before(async () => {
    const dir = makeTempDir();
    probeFile = join(dir, "probe.jsonl");
    tally = await startTally(
      {
        ...BASE_CONFIG,
        users: [
          { name: "alice", password: "alicepass", reply: { "Acct-Interim-Interval": 1 } },
          { name: "zed", password: "zedpass" },
        ],
        // 0: no interval for users whose reply has none (zed), so his session expects no updates.
        accounting: { defaultInterimInterval: 0, reapInterval: 1, staleGrace: 1 },
        plugins: [{ module: probe, options: { file: probeFile } }],
      },
      dir,
    );
    auth = `127.0.0.1:${tally.authPort}`;
    acct = `127.0.0.1:${tally.acctPort}`;
  });
  after(async () => {
    await tally.cleanup();
  });

  it("logs that the reaper runs, with its settings", async () => {
    const line = await tally.waitForLog((l) => l.msg === "reaper running");
    assert.deepEqual([line.reapInterval, line.staleGrace], [1, 1]);
  });

  it("Start, then silence: the session becomes stale with Lost-Service, stopped at its last update; plugins told once", async (t) => {
    // zed first: his session is silent at least as long as alice's.
    const zedStart = await radclient(acct, "acct", packet({ "Acct-Status-Type": "Start", "User-Name": "zed", "NAS-Identifier": "nas-r", "Acct-Session-Id": "reap-zed" }));
    assert.match(zedStart.stdout, /Received Accounting-Response/);

    const accept = await radclient(auth, "auth", packet({ "User-Name": "alice", "User-Password": "alicepass", "NAS-Identifier": "nas-r" }));
    assert.match(accept.stdout, /Received Access-Accept/);
    assert.match(accept.stdout, /Acct-Interim-Interval = 1\b/, "the NAS is told to update every second");
    const silentFrom = Date.now();
    const start = await radclient(acct, "acct", packet({ "Acct-Status-Type": "Start", "User-Name": "alice", "NAS-Identifier": "nas-r", "Acct-Session-Id": "reap-1" }));
    assert.match(start.stdout, /Received Accounting-Response/);
    const opened = await session("reap-1");
    assert.equal(opened?.interimInterval, 1, "the session expects an update every second");

    const stale = await until(30_000, "alice's session stale", async () => {
      const s = await session("reap-1");
      return s?.status === "stale" ? s : undefined;
    });
    t.diagnostic(`seen stale ${Date.now() - silentFrom} ms after the Start was sent: ${JSON.stringify(stale)}`);
    assert.equal(stale.terminateCause, "Lost-Service");
    assert.equal(stale.stoppedAt, stale.updatedAt, "stopped at the last update");
    assert.equal(stale.stoppedAt, stale.startedAt, "which was the Start");
    assert.equal(stale.nextUpdateDue, null);
    assert.match(stale.note ?? "", /^stale: no update for \d+ s \(expected every 1 s\); closed by Tally's reaper$/);

    const logged = await tally.waitForLog((l) => l.msg === "session reaped: stale" && l.sessionId === "reap-1");
    assert.deepEqual([logged.user, logged.nas, logged.interimInterval, logged.lastUpdate], ["alice", "nas-r", 1, stale.updatedAt]);

    await until(10_000, "sessionClosed for reap-1", async () => (probeCalls().some((c) => c.hook === "sessionClosed" && c.sessionId === "reap-1") ? true : undefined));
    const closes = probeCalls().filter((c) => c.hook === "sessionClosed" && c.sessionId === "reap-1");
    assert.deepEqual(closes, [{ hook: "sessionClosed", sessionId: "reap-1", status: "stale" }]);

    const zed = await session("reap-zed");
    assert.equal(zed?.interimInterval, null, "zed's session has no interval");
    assert.equal(zed?.status, "open", "and is never reaped, though silent longer");
  });

  it("a late Interim-Update is acknowledged and stored; the session stays stale with its totals", async (t) => {
    const before = await session("reap-1");
    assert.equal(before?.status, "stale", "reaped by the previous test");
    const late = await radclient(
      acct,
      "acct",
      packet({
        "Acct-Status-Type": "Interim-Update",
        "User-Name": "alice",
        "NAS-Identifier": "nas-r",
        "Acct-Session-Id": "reap-1",
        "Acct-Session-Time": 40,
        "Acct-Input-Octets": 5000,
        "Acct-Output-Octets": 7000,
      }),
    );
    assert.match(late.stdout, /Received Accounting-Response/, "the NAS gets its answer");
    t.diagnostic(`radclient: ${late.stdout.split("\n").find((l) => l.startsWith("Received")) ?? "(no answer)"}`);

    const records = JSON.parse(await tally.cli(["records", "--session", String(before.id), "--json"])) as { kind: string; inputOctets: number | null }[];
    assert.deepEqual(records.map((r) => [r.kind, r.inputOctets]), [["start", null], ["interim", 5000]], "the late interim is stored in the stale session");

    const afterwards = await session("reap-1");
    assert.deepEqual(afterwards, before, "status, totals and times exactly as the reaper left them");
    assert.deepEqual([afterwards?.status, afterwards?.inputOctets, afterwards?.outputOctets, afterwards?.sessionTime], ["stale", 0, 0, 0]);
    // Told once, when it was reaped; the late record announces nothing more.
    assert.equal(probeCalls().filter((c) => c.hook === "sessionClosed" && c.sessionId === "reap-1").length, 1);
    const acctCalls = probeCalls().filter((c) => c.hook === "accounting" && c.sessionId === "reap-1");
    assert.deepEqual(acctCalls.map((c) => [c.kind, c.sessionStatus]), [["start", "open"], ["interim", "stale"]], "plugins see the late interim with the session stale");
  });
});

describe("the reaper after a restart", () => {
  it("time the server was down does not count as silence: stale only interval x 2 + grace after the restart", async (t) => {
    const dir = makeTempDir();
    const config = (reapInterval: number) => ({
      ...BASE_CONFIG,
      users: [{ name: "alice", password: "alicepass", reply: { "Acct-Interim-Interval": 1 } }],
      accounting: { defaultInterimInterval: 0, reapInterval, staleGrace: 1 },
    });
    // First without a reaper, so nothing is reaped before the outage however slow this machine is.
    let tally = await startTally(config(0), dir);
    try {
      const acct = `127.0.0.1:${tally.acctPort}`;
      const auth = `127.0.0.1:${tally.authPort}`;
      assert.match((await radclient(auth, "auth", packet({ "User-Name": "alice", "User-Password": "alicepass" }))).stdout, /Received Access-Accept/);
      const start = await radclient(acct, "acct", packet({ "Acct-Status-Type": "Start", "User-Name": "alice", "NAS-Identifier": "nas-q", "Acct-Session-Id": "outage-1" }));
      assert.match(start.stdout, /Received Accounting-Response/);
      await tally.stop();
      // Down for longer than interval x 2 + grace (3 s).
      const downAt = Date.now();
      await until(30_000, "down for more than 4 s", async () => (Date.now() - downAt > 4000 ? true : undefined));
      tally = await startTally(config(1), dir);
      const running = await tally.waitForLog((l) => l.msg === "reaper running");
      const reaped = await tally.waitForLog((l) => l.msg === "session reaped: stale" && l.sessionId === "outage-1", 30_000);
      // Both times from the server's own clock; "reaper running" is logged just after the reaper
      // starts counting. Without counting from the restart it would reap at its first run (1 s).
      const afterStart = Date.parse(String(reaped.time)) - Date.parse(String(running.time));
      t.diagnostic(`silent ${Date.parse(String(reaped.time)) - downAt} ms in all; reaped ${afterStart} ms after the reaper started`);
      assert.ok(afterStart >= 2900, `reaped ${afterStart} ms after the restart: the 3 s of silence count from the restart`);
      const [s] = (JSON.parse(await tally.cli(["sessions", "--json"])) as SessionJson[]).filter((x) => x.sessionId === "outage-1");
      assert.deepEqual([s?.status, s?.terminateCause], ["stale", "Lost-Service"]);
    } finally {
      await tally.cleanup();
    }
  });
});
