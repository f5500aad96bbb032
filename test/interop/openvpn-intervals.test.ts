// Per-client interim intervals chosen by a plugin, with a real OpenVPN 2.6 server and two real
// clients in network namespaces: carol's interims come 2 s apart and then 3 s apart after the
// plugin changes her interval; dave's plugin answer 0 stops his updates while carol keeps her
// own schedule; a slow authentication plugin for one user does not hold up another user's
// connection. Needs root, tun and ip netns; skipped with the reason otherwise.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { rigUnavailable, startRig, type OpenVpnRig, type RigClient } from "../openvpn/netns-rig.ts";
import { sleep, startTally, until, within, type TallyProcess } from "./harness.ts";

const unavailable = await rigUnavailable();
const schedulePlugin = join(import.meta.dirname, "..", "plugins", "fixtures", "interval-schedule.ts");

interface RecordJson {
  kind: string;
  eventTime: string;
  inputOctets: number | null;
  outputOctets: number | null;
  sessionTime: number | null;
}

describe("OpenVPN per-client intervals chosen by a plugin (real OpenVPN 2.6)", { skip: unavailable ?? false }, () => {
  let rig: OpenVpnRig;
  let tally: TallyProcess;
  const clients: RigClient[] = [];

  before(async () => {
    rig = await startRig();
    tally = await startTally({
      store: { sqlite: "./tally.db" },
      radius: { auth: null, acct: null },
      users: [
        { name: "carol", password: "carolpass" },
        { name: "dave", password: "davepass" },
        { name: "slow", password: "slowpass" },
        { name: "quick", password: "quickpass" },
      ],
      plugins: [
        {
          module: schedulePlugin,
          options: {
            // carol: 2 s after the start and after her first interim, 3 s from her second on.
            // dave: 2 s after the start, then 0 (no more updates) from his first interim on.
            schedule: { carol: [2, 2, 3], dave: [2, 0] },
            slowAuth: { user: "slow", ms: 6000 },
          },
          timeout: 20,
        },
      ],
      openvpn: [{ name: "vpn1", management: rig.managementSocket, defaultInterimInterval: 30 }],
      log: { level: process.env.DEBUG_OVPN ? "trace" : "debug" },
    });
    await tally.waitForLog((l) => l.msg === "OpenVPN management connected");
  });
  after(async () => {
    for (const c of clients) await c.stop();
    await tally?.cleanup();
    await rig?.stop();
  });

  async function sessionOf(user: string): Promise<Record<string, unknown>> {
    const [s] = JSON.parse(await tally.cli(["sessions", "--json", "--user", user])) as Record<string, unknown>[];
    assert.ok(s, `a session for ${user}`);
    return s;
  }
  async function recordsOf(user: string): Promise<RecordJson[]> {
    const s = await sessionOf(user);
    return JSON.parse(await tally.cli(["records", "--session", String(s.id), "--json"])) as RecordJson[];
  }
  const interimTimes = (records: RecordJson[]) => records.filter((r) => r.kind === "interim").map((r) => Date.parse(r.eventTime));
  const gaps = (times: number[]) => times.slice(1).map((t, i) => (t - times[i]!) / 1000);

  it("carol's interims follow the plugin (2 s, then 3 s); dave's stop at 0 while carol's go on; both stops carry bytes", async () => {
    const carol = await rig.startClient({ user: "carol", password: "carolpass", name: "carol" });
    clients.push(carol);
    await carol.connected();
    const dave = await rig.startClient({ user: "dave", password: "davepass", name: "dave" });
    clients.push(dave);
    await dave.connected();
    // Traffic through the tunnel during the run (bounded: 40 pings of 1000 bytes, 0.3 s apart).
    const ping = rig.inClient("ping", ["-c", "40", "-s", "1000", "-i", "0.3", "-W", "2", rig.tunnelServerAddress]).catch(() => null);
    await sleep(16_000);
    await ping;

    const carolTimes = interimTimes(await recordsOf("carol"));
    if (process.env.DEBUG_OVPN) {
      for (const u of ["carol", "dave"]) console.log(u, (await recordsOf(u)).map((r) => `${r.kind}@${r.eventTime.slice(17, 23)} ${r.inputOctets}`).join(" | "));
      console.log(tally.logs.filter((l) => String(l.msg).startsWith("OpenVPN")).map((l) => `${new Date(l.time as number).toISOString().slice(17, 23)} ${String(l.msg)} ${JSON.stringify({ ...l, msg: undefined, time: undefined, level: undefined, pid: undefined, hostname: undefined })}`).join("\n"));
    }
    const daveRecords = await recordsOf("dave");
    const daveInterims = daveRecords.filter((r) => r.kind === "interim");
    assert.ok(carolTimes.length >= 5, `carol keeps reporting: ${carolTimes.length} interims in 16 s`);
    const g = gaps(carolTimes);
    // The first gap follows the 2 s interval; from the third interim on the interval is 3 s.
    // Each interim goes out within about half a bytecount period (0.5 s) of its anchored due
    // time, so one gap can be up to a second shorter or longer; the mean cannot drift.
    assert.ok(g[0]! >= 0.8 && g[0]! <= 3.2, `carol's first interims 2 s apart: ${g.join(", ")}`);
    const later = g.slice(2);
    assert.ok(later.length >= 2, `carol has interims at the 3 s interval: ${g.join(", ")}`);
    assert.ok(later.every((x) => x >= 1.8 && x <= 4.2), `carol's later interims 3 s apart: ${g.join(", ")}`);
    const laterMean = later.reduce((a, b) => a + b, 0) / later.length;
    assert.ok(laterMean >= 2.6 && laterMean <= 3.5, `3 s on average after the change: ${g.join(", ")}`);
    assert.equal(daveInterims.length, 1, `dave has one interim (the plugin answered 0 on it): ${daveRecords.map((r) => r.kind).join(", ")}`);

    const daveSession = await sessionOf("dave");
    assert.equal(daveSession.status, "open");
    assert.equal(daveSession.interimInterval, 0, "dave's session records the interval 0");
    assert.equal((await sessionOf("carol")).interimInterval, 3, "carol's session records the interval 3");

    await carol.stop();
    await dave.stop();
    for (const user of ["carol", "dave"]) {
      const s = await until(15_000, `${user}'s session closes`, async () => {
        const closed = await sessionOf(user);
        return closed.status === "closed" ? closed : undefined;
      });
      assert.equal(s.status, "closed", `${user}'s session closes`);
      assert.equal(s.terminateCause, "User-Request");
      assert.ok((s.outputOctets as number) > 0 && (s.inputOctets as number) > 0, `${user}'s stop carries bytes`);
    }
    // The ping went through one of the two tunnels; its 40 kB show up in that client's stop.
    const totals = [await sessionOf("carol"), await sessionOf("dave")].map((s) => s.inputOctets as number);
    assert.ok(Math.max(...totals) > 40_000, `the ping's bytes are in a stop: ${totals.join(", ")}`);
  });

  it("a slow authentication plugin for one user does not hold up another user", async () => {
    const slow = await rig.startClient({ user: "slow", password: "slowpass", name: "slow" });
    clients.push(slow);
    await tally.waitForLog((l) => l.msg === "OpenVPN authentication request" && l.user === "slow", 10_000);
    const started = Date.now();
    const quick = await rig.startClient({ user: "quick", password: "quickpass", name: "quick" });
    clients.push(quick);
    await within(20_000, "quick connects", quick.connected());
    const quickAccepted = tally.logs.find((l) => l.msg === "OpenVPN authentication" && l.user === "quick" && l.result === "accept");
    const slowAccepted = () => tally.logs.find((l) => l.msg === "OpenVPN authentication" && l.user === "slow" && l.result === "accept");
    assert.ok(quickAccepted, "quick was accepted");
    assert.equal(slowAccepted(), undefined, `quick was accepted while slow's plugin was still working (${Date.now() - started} ms)`);
    await within(20_000, "slow connects after its plugin answers", slow.connected());
    assert.ok(slowAccepted(), "slow was accepted in the end");
  });
});
