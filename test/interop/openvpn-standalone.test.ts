// `tally openvpn` on its own: the connector as a RADIUS NAS in front of a real OpenVPN 2.6
// (network namespaces), talking RADIUS to a separate `tally serve`. Authentication by
// Access-Request (a wrong password is denied with the server's reason), accounting by
// Accounting-Request with the tunnel's bytes, a plugin's interval change carried to the
// connector by CoA-Request (RFC 5176), and `tally disconnect` by Disconnect-Request.
// Needs root, tun and ip netns; skipped with the reason otherwise.

import assert from "node:assert/strict";
import { freeUdpPort } from "../support/ports.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { rigUnavailable, startRig, type OpenVpnRig, type RigClient } from "../openvpn/netns-rig.ts";
import { makeTempDir, radclient, SECRET, sleep, startTally, until, within, type TallyProcess } from "./harness.ts";

const unavailable = await rigUnavailable();
const schedulePlugin = join(import.meta.dirname, "..", "plugins", "fixtures", "interval-schedule.ts");

interface RecordJson {
  kind: string;
  eventTime: string;
  inputOctets: number | null;
  attributes: { name: string; value: string | number }[];
}

describe("tally openvpn as a RADIUS NAS for a real OpenVPN 2.6, against tally serve", { skip: unavailable ?? false }, () => {
  let rig: OpenVpnRig;
  let tally: TallyProcess;
  let connector: TallyProcess;
  let dasPort = 0;
  const clients: RigClient[] = [];

  before(async () => {
    rig = await startRig();
    dasPort = await freeUdpPort();
    tally = await startTally({
      store: { sqlite: "./tally.db" },
      radius: { auth: "127.0.0.1:0", acct: "127.0.0.1:0" },
      clients: [{ name: "vpn1", address: "127.0.0.1", secret: SECRET, coaInterimInterval: true, coa: { address: "127.0.0.1", port: dasPort } }],
      users: [{ name: "alice", password: "alicepass", reply: { "Acct-Interim-Interval": 2 } }],
      // 2 s from the Start's decision, 3 s from the first interim's: each change goes out as a CoA.
      plugins: [{ module: schedulePlugin, options: { schedule: { alice: [2, 3] } } }],
    });
    // The connector's own config, in its own directory, as on the OpenVPN machine.
    connector = await startTally(
      {
        radius: { auth: null, acct: null },
        openvpn: [
          {
            name: "vpn1",
            management: rig.managementSocket,
            defaultInterimInterval: 30,
            radius: { server: "127.0.0.1", authPort: tally.authPort, acctPort: tally.acctPort, secret: SECRET, timeout: 1, retries: 2, dynamicAuthorization: { listen: `127.0.0.1:${dasPort}` } },
          },
        ],
      },
      makeTempDir(),
      { command: { args: ["openvpn"], ready: "tally openvpn is running" } },
    );
    await connector.waitForLog((l) => l.msg === "OpenVPN reconciled with status 3", 20_000);
  });
  after(async () => {
    for (const c of clients) await c.stop();
    await connector?.cleanup();
    await tally?.cleanup();
    await rig?.stop();
  });

  async function session(): Promise<Record<string, unknown>> {
    const [s] = JSON.parse(await tally.cli(["sessions", "--json", "--user", "alice"])) as Record<string, unknown>[];
    assert.ok(s, "alice has a session in tally serve's store");
    return s;
  }

  it("a wrong password is denied with the RADIUS server's reason", async () => {
    const c = await rig.startClient({ user: "alice", password: "nope", name: "wrong" });
    clients.push(c);
    await within(20_000, "the denied client exits", c.exited());
    assert.match(readFileSync(c.log, "utf8"), /AUTH_FAILED/);
    const denied = await connector.waitForLog((l) => l.msg === "OpenVPN authentication" && l.result === "deny");
    // Tally's Access-Reject carries Reply-Message "Authentication failed"; the connector passes it on.
    assert.equal(denied.reason, "Authentication failed");
  });

  it("accounting reaches tally serve by RADIUS; a plugin's new interval comes back by CoA; tally disconnect by Disconnect-Request", async () => {
    const c = await rig.startClient({ user: "alice", password: "alicepass", name: "alice" });
    clients.push(c);
    await c.connected();
    const ping = rig.inClient("ping", ["-c", "30", "-s", "1000", "-i", "0.3", "-W", "2", rig.tunnelServerAddress]).catch(() => null);
    await sleep(12_000);
    await ping;
    const s = await session();
    assert.equal(s.status, "open");
    assert.equal(s.protocol, "radius", "the records came in as RADIUS accounting");
    assert.equal(s.nas, "vpn1", "NAS-Identifier is the connector's name");
    await connector.waitForLog((l) => l.msg === "OpenVPN interim interval changed" && l.interimInterval === 3);
    const records = JSON.parse(await tally.cli(["records", "--session", String(s.id), "--json"])) as RecordJson[];
    const interims = records.filter((r) => r.kind === "interim");
    const times = interims.map((r) => Date.parse(r.eventTime));
    const gaps = times.slice(1).map((t, i) => (t - times[i]!) / 1000);
    assert.ok(interims.length >= 3, `interims arrive: ${interims.length}`);
    // Event-Timestamp has whole seconds: gaps of 3 s after the CoA, give or take a second.
    const later = gaps.slice(1);
    assert.ok(later.length >= 2 && later.every((g) => g >= 2 && g <= 4), `3 s apart after the CoA: ${gaps.join(", ")}`);
    assert.ok(Math.max(...interims.map((r) => r.inputOctets ?? 0)) > 25_000, "the ping's bytes are in the interims");

    const out = JSON.parse(await tally.cli(["disconnect", String(s.id), "--json"])) as { state: string; detail: string }[];
    assert.equal(out[0]!.state, "acknowledged", `Disconnect-ACK from the connector: ${JSON.stringify(out)}`);
    await within(20_000, "the client is killed", c.exited());
    const closed = await until(15_000, "the session closes", async () => {
      const s = await session();
      return s.status === "closed" ? s : undefined;
    });
    assert.equal(closed.status, "closed");
    assert.equal(closed.terminateCause, "Admin-Reset");
    assert.ok((closed.inputOctets as number) > 30_000, `the Stop carries the tunnel's bytes: ${String(closed.inputOctets)}`);
  });

  it("radclient as the dynamic-authorization client: CoA with Acct-Interim-Interval is acknowledged and applied; Disconnect for an unknown session is refused with Error-Cause 503, for the real one acknowledged", async () => {
    const c = await rig.startClient({ user: "alice", password: "alicepass", name: "alice-das" });
    clients.push(c);
    await c.connected();
    const open = await until(10_000, "a new open session", async () => {
      const s = await session();
      return s.status === "open" ? s : undefined;
    });
    const das = `127.0.0.1:${dasPort}`;
    const coa = await radclient(das, "coa", `Acct-Session-Id = "${String(open.sessionId)}"\nAcct-Interim-Interval = 7\n`);
    assert.match(coa.stdout, /Received CoA-ACK/, coa.stdout + coa.stderr);
    await connector.waitForLog((l) => l.msg === "OpenVPN interim interval changed" && l.sessionId === open.sessionId && l.interimInterval === 7);

    const unknown = await radclient(das, "disconnect", 'Acct-Session-Id = "no-such-session"\n');
    assert.match(unknown.stdout, /Received Disconnect-NAK/, unknown.stdout + unknown.stderr);
    assert.match(unknown.stdout, /Error-Cause = Session-Context-Not-Found/);

    const dm = await radclient(das, "disconnect", `Acct-Session-Id = "${String(open.sessionId)}"\n`);
    assert.match(dm.stdout, /Received Disconnect-ACK/, dm.stdout + dm.stderr);
    await within(20_000, "the client is killed", c.exited());
  });
});
