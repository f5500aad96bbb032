// Restarts with a real OpenVPN 2.6 in network namespaces: whatever restarts (OpenVPN politely,
// OpenVPN killed, Tally killed), afterwards Tally's open sessions are exactly the clients
// OpenVPN lists, and no session ends without a stop. OpenVPN's own status file (version 3,
// rewritten every second) is the independent witness of which clients are connected.
// Needs root, tun and ip netns; skipped with the reason otherwise.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseStatus3 } from "../../src/openvpn/management-codec.ts";
import { rigUnavailable, startRig, type OpenVpnRig, type RigClient } from "../openvpn/netns-rig.ts";
import { makeTempDir, sleep, startTally, until, type TallyProcess } from "./harness.ts";

const unavailable = await rigUnavailable();

interface SessionJson {
  id: number;
  sessionId: string;
  status: string;
  user: string | null;
  inputOctets: number;
  outputOctets: number;
  sessionTime: number;
  terminateCause: string | null;
}

describe("OpenVPN and Tally restarts leave no wrong open session (real OpenVPN 2.6)", { skip: unavailable ?? false }, () => {
  let rig: OpenVpnRig;
  let tally: TallyProcess;
  let statusFile = "";
  const dir = makeTempDir();
  const clients: RigClient[] = [];
  const config = () => ({
    store: { sqlite: "./tally.db" },
    radius: { auth: null, acct: null },
    users: [{ name: "alice", password: "alicepass", reply: { "Acct-Interim-Interval": 2 } }],
    openvpn: [{ name: "vpn1", management: rig.managementSocket, defaultInterimInterval: 2 }],
  });

  before(async () => {
    rig = await startRig({
      prepareServer: (files) => {
        statusFile = join(files.dir, "status.txt");
        return [`status ${statusFile} 1`, "status-version 3"];
      },
    });
    tally = await startTally(config(), dir);
    await tally.waitForLog((l) => l.msg === "OpenVPN management connected");
  });
  after(async () => {
    for (const c of clients) await c.stop();
    await tally?.cleanup();
    await rig?.stop();
  });

  /** The clients OpenVPN's status file lists now, by Tally's session id (connect time - CID). */
  function listedByOpenVpn(): Set<string> {
    if (!existsSync(statusFile)) return new Set();
    const status = parseStatus3(readFileSync(statusFile, "utf8").split("\n"));
    return new Set(status.clients.map((c) => `${c.connectedSince}-${c.cid}`));
  }
  async function sessions(): Promise<SessionJson[]> {
    return JSON.parse(await tally.cli(["sessions", "--json"])) as SessionJson[];
  }
  /** Waits until Tally's open sessions are exactly the clients OpenVPN lists (bounded). */
  async function agreeWithOpenVpn(what: string, ms = 15_000): Promise<SessionJson[]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const all = await sessions();
      const open = new Set(all.filter((s) => s.status === "open").map((s) => s.sessionId));
      const listed = listedByOpenVpn();
      if (open.size === listed.size && [...open].every((id) => listed.has(id))) return all;
      if (Date.now() > deadline) assert.fail(`${what}: Tally's open sessions [${[...open].join(", ")}] are not OpenVPN's clients [${[...listed].join(", ")}]`);
      await sleep(300);
    }
  }
  async function connectAlice(name: string): Promise<SessionJson> {
    const c = await rig.startClient({ user: "alice", password: "alicepass", name });
    clients.push(c);
    await c.connected();
    await rig.inClient("ping", ["-c", "5", "-s", "1000", "-i", "0.2", "-W", "2", rig.tunnelServerAddress]);
    // An interim carries the ping's bytes.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const open = (await sessions()).find((s) => s.status === "open" && s.inputOctets > 5000);
      if (open) return open;
      if (Date.now() > deadline) assert.fail("no interim with the ping's bytes within 10 s");
      await sleep(250);
    }
  }
  const reconciledCount = () => tally.logs.filter((l) => l.msg === "OpenVPN reconciled with status 3").length;

  it("OpenVPN stopped politely and started again: the old session is stopped, the reconnected client is the only open one", async () => {
    const before = await connectAlice("polite");
    const reconciled = reconciledCount();
    await rig.restartServer();
    await tally.waitForLog(() => reconciledCount() > reconciled, 20_000);
    const all = await agreeWithOpenVpn("after a polite restart", 40_000);
    const old = all.find((s) => s.id === before.id)!;
    assert.equal(old.status, "closed");
    assert.ok(old.terminateCause === "User-Request" || old.terminateCause === "Lost-Service", `a recorded cause: ${old.terminateCause}`);
    assert.ok(old.inputOctets >= before.inputOctets, `the stop keeps the bytes counted so far (${old.inputOctets} >= ${before.inputOctets})`);
    await clients.pop()!.stop();
    await agreeWithOpenVpn("after the client left");
  });

  it("OpenVPN killed (no disconnect events) and started again: the session is closed as Lost-Service with its last counters", async () => {
    const before = await connectAlice("killed");
    const reconciled = reconciledCount();
    await rig.restartServer({ kill: true });
    await tally.waitForLog(() => reconciledCount() > reconciled, 20_000);
    const all = await agreeWithOpenVpn("after OpenVPN was killed");
    const old = all.find((s) => s.id === before.id)!;
    assert.equal(old.status, "closed");
    assert.equal(old.terminateCause, "Lost-Service");
    assert.ok(old.inputOctets >= before.inputOctets, `the stop keeps the last counters (${old.inputOctets} >= ${before.inputOctets})`);
    assert.ok(
      tally.logs.some((l) => l.msg === "OpenVPN session closed: no longer listed by OpenVPN" && l.sessionId === old.sessionId),
      "the log says why the session was closed",
    );
    await clients.pop()!.stop();
  });

  it("Tally killed while a client is connected: the next Tally picks the session up; one killed while it leaves: the next closes it", async () => {
    const before = await connectAlice("tally-restart");
    await tally.kill9();
    tally = await startTally(config(), dir);
    await tally.waitForLog((l) => l.msg === "OpenVPN reconciled with status 3", 20_000);
    assert.equal(tally.logs.find((l) => l.msg === "OpenVPN reconciled with status 3")!.adopted, 1, "the connected client is adopted");
    let all = await agreeWithOpenVpn("after Tally restarted");
    const same = all.filter((s) => s.status === "open");
    assert.deepEqual(same.map((s) => s.id), [before.id], "the same session goes on (its Start is recognised, not stored twice)");

    // Tally down while the client leaves: nobody hears the DISCONNECT.
    await tally.kill9();
    await clients.pop()!.stop();
    // OpenVPN drops a client that said goodbye (explicit-exit-notify) about 5 s later.
    await until(15_000, "OpenVPN no longer lists the client", async () => (listedByOpenVpn().size === 0 ? true : undefined));
    tally = await startTally(config(), dir);
    await tally.waitForLog((l) => l.msg === "OpenVPN reconciled with status 3", 20_000);
    all = await agreeWithOpenVpn("after the client left while Tally was down");
    const closed = all.find((s) => s.id === before.id)!;
    assert.equal(closed.status, "closed");
    assert.equal(closed.terminateCause, "Lost-Service");
    assert.ok(closed.inputOctets >= before.inputOctets, "with the counters it had");
  });
});
