// The OpenVPN connector in a real `tally serve` against a real OpenVPN 2.6 server and clients in
// network namespaces: authentication through Tally's users (right password in, wrong password
// denied with the reason), tunnel traffic in interim records at the client's interval, the stop
// with bytes and duration, and a quota disconnect carried out with client-kill. Needs root, tun
// and ip netns; skipped with the reason otherwise.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { rigUnavailable, startRig, type OpenVpnRig } from "../openvpn/netns-rig.ts";
import { sleep, startTally, until, within, type TallyProcess } from "./harness.ts";

const unavailable = await rigUnavailable();

interface RecordJson {
  kind: string;
  eventTime: string;
  inputOctets: number | null;
  outputOctets: number | null;
  sessionTime: number | null;
  terminateCause: string | null;
}

describe("OpenVPN connector with a real OpenVPN 2.6", { skip: unavailable ?? false }, () => {
  let rig: OpenVpnRig;
  let tally: TallyProcess;

  before(async () => {
    rig = await startRig();
    tally = await startTally({
      store: { sqlite: "./tally.db" },
      radius: { auth: null, acct: null },
      users: [
        { name: "alice", password: "alicepass", reply: { "Acct-Interim-Interval": 2 } },
        { name: "bob", password: "bobpass", reply: { "Acct-Interim-Interval": 1 } },
      ],
      plugins: [{ module: "quota", options: { bytes: 30000, period: "total", exempt: ["alice"], minInterval: 1 } }],
      openvpn: [{ name: "vpn1", management: rig.managementSocket, defaultInterimInterval: 5 }],
    });
    await tally.waitForLog((l) => l.msg === "OpenVPN management connected");
  });
  after(async () => {
    await tally?.cleanup();
    await rig?.stop();
  });

  async function sessionsOf(user: string): Promise<Record<string, unknown>[]> {
    return JSON.parse(await tally.cli(["sessions", "--json", "--user", user])) as Record<string, unknown>[];
  }

  async function session(user: string) {
    const [s] = JSON.parse(await tally.cli(["sessions", "--json", "--user", user])) as Record<string, unknown>[];
    return s;
  }

  it("a wrong password is denied with the reason; the client gives up", async () => {
    const c = await rig.startClient({ user: "alice", password: "wrong", name: "wrong" });
    await within(20_000, "the denied client exits", c.exited());
    assert.match(readFileSync(c.log, "utf8"), /AUTH_FAILED,Authentication failed/);
    await tally.waitForLog((l) => l.msg === "OpenVPN authentication" && l.result === "deny" && l.reason === "wrong password");
  });

  it("alice connects; ping traffic shows in interims every 2 s; stopping the client closes the session with bytes", async () => {
    const c = await rig.startClient({ user: "alice", password: "alicepass", name: "alice" });
    try {
    await c.connected();
    await rig.inClient("ping", ["-c", "8", "-s", "1000", "-i", "0.2", "-W", "2", rig.tunnelServerAddress]);
    await sleep(4500);
    const open = await session("alice");
    assert.equal(open!.status, "open");
    assert.equal(open!.protocol, "openvpn");
    assert.equal(open!.nas, "vpn1");
    const records = JSON.parse(await tally.cli(["records", "--session", String(open!.id), "--json"])) as RecordJson[];
    const interims = records.filter((r) => r.kind === "interim");
    assert.ok(interims.length >= 2, `at least two interims, got ${interims.length}`);
    assert.ok(interims.some((r) => (r.inputOctets ?? 0) > 8000), "the ping's bytes are counted");
    const gaps = interims.slice(1).map((r, i) => (Date.parse(r.eventTime) - Date.parse(interims[i]!.eventTime)) / 1000);
    // Each interim goes out within about half a bytecount period (0.5 s) of its anchored due
    // time, so one gap can be up to a second shorter or longer; the mean cannot drift.
    assert.ok(gaps.every((g) => g >= 0.8 && g <= 4.5), `interims about 2 s apart: ${gaps.join(", ")}`);
    // Over the whole span only the first and the last interim's jitter counts (each within about
    // half a period, more under load): an interval that drifted would miss by a period per gap.
    const span = gaps.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(span - 2 * gaps.length) <= 1.2, `interims 2 s apart on average: gaps ${gaps.join(", ")}`);
    } finally {
      await c.stop();
    }
    const closed = await until(15_000, "alice's session closes", async () => {
      const s = await session("alice");
      return s?.status === "closed" ? s : undefined;
    });
    assert.equal(closed!.status, "closed");
    assert.equal(closed!.terminateCause, "User-Request");
    assert.ok((closed!.inputOctets as number) > 8000, "the stop carries the tunnel's bytes");
    assert.ok((closed!.sessionTime as number) >= 4, "and its duration");
  });

  it("`tally disconnect` from another process: the running connector kills the client and the session closes", async () => {
    // This client's session, not an earlier one of alice's that OpenVPN may still be closing.
    const earlier = new Set((await sessionsOf("alice")).map((x) => x.id));
    const c = await rig.startClient({ user: "alice", password: "alicepass", name: "alice-cli" });
    let id: unknown;
    try {
      await c.connected();
      const s = await until(10_000, "alice's new session opens", async () => (await sessionsOf("alice")).find((x) => !earlier.has(x.id) && x.status === "open"));
      id = s.id;
      assert.equal(s!.status, "open");
      const out = JSON.parse(await tally.cli(["disconnect", String(s!.id), "--reason", "operator says so", "--json"])) as { state: string; detail: string }[];
      assert.equal(out[0]!.state, "acknowledged", `the CLI reports the connector's outcome: ${JSON.stringify(out)}`);
      assert.match(out[0]!.detail, /client-kill HALT/);
      await within(20_000, "the client is killed", c.exited());
    } finally {
      await c.stop();
    }
    const s = await until(15_000, "alice's session closes", async () => (await sessionsOf("alice")).find((x) => x.id === id && x.status === "closed"));
    assert.equal(s.status, "closed");
    assert.equal(s.terminateCause, "Admin-Reset");
    assert.match(String(s.disconnectReason), /operator says so; client-kill HALT/);
  });

  it("the quota's disconnect is carried out with client-kill; the session closes as Admin-Reset", async () => {
    const c = await rig.startClient({ user: "bob", password: "bobpass", name: "bob" });
    await c.connected();
    // About 40 kB through the tunnel crosses bob's 30 kB quota at the next 1 s interim.
    try {
      await rig.inClient("ping", ["-c", "20", "-s", "1000", "-i", "0.1", "-W", "2", rig.tunnelServerAddress]).catch(() => {});
      await within(20_000, "bob's client is killed", c.exited());
    } finally {
      await c.stop();
    }
    const s = await until(15_000, "bob's session closes", async () => {
      const closed = await session("bob");
      return closed?.status === "closed" ? closed : undefined;
    });
    assert.equal(s!.status, "closed");
    assert.equal(s!.disconnect, "acknowledged");
    assert.match(String(s!.disconnectReason), /quota exhausted; client-kill HALT/);
    assert.equal(s!.terminateCause, "Admin-Reset");
  });
});
