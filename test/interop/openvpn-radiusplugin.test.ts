// Tally's RADIUS server serving a stock OpenVPN 2.6 server through Debian's radiusplugin
// (openvpn-auth-radius, /usr/lib/openvpn/radiusplugin.so): a real server and client in network
// namespaces (test/openvpn/netns-rig.ts), Tally inside the server's namespace on
// 127.0.0.1:1812/1813 where radiusplugin sends. A wrong password is rejected (AUTH_FAILED);
// the right one gives a Start, Interim-Updates at the Acct-Interim-Interval of alice's reply with
// the ping's bytes, and a Stop that closes the session. Needs root, tun, ip netns and the
// plugin; skipped with the reason otherwise.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { rigUnavailable, startRig, type OpenVpnRig } from "../openvpn/netns-rig.ts";
import { makeTempDir, SECRET, sleep, startTally, until, type TallyProcess } from "./harness.ts";

const PLUGIN = "/usr/lib/openvpn/radiusplugin.so";
const unavailable =
  (await rigUnavailable()) ?? (existsSync(PLUGIN) ? null : `${PLUGIN} is missing (apt-get install openvpn-auth-radius)`);

const NAS_IDENTIFIER = "tally-openvpn";
const INTERIM = 2;
/** What `ping -c 10 -s 1000` puts through the tunnel each way: 10 IP packets of 1028 bytes. */
const PINGS = 10;
const PING_BYTES = PINGS * (1000 + 8 + 20);

interface RecordJson {
  kind: string;
  receivedAt: string;
  nas: string;
  client: string;
  user: string | null;
  sessionId: string | null;
  inputOctets: number | null;
  outputOctets: number | null;
  sessionTime: number | null;
  terminateCause: string | null;
  framedAddress: string | null;
  clientAddress: string | null;
  nasPort: string | null;
  attributes: { name: string; value: string | number }[];
}

/** The Access-Request attributes radiusplugin sends, as Tally's plugins see them. */
const CAPTURE_PLUGIN = `
import { appendFileSync } from "node:fs";
export default (setup) => ({
  name: "capture",
  authenticate(request) {
    appendFileSync(setup.options.file, JSON.stringify({ user: request.user, method: request.method, nas: request.nas, attributes: request.attributes }) + "\\n");
    return { status: "next" };
  },
});
`;

describe("radiusplugin (openvpn-auth-radius) against Tally's RADIUS server", { skip: unavailable ?? false }, () => {
  let rig: OpenVpnRig;
  let tally: TallyProcess;
  let captured: string;

  before(async () => {
    rig = await startRig({
      // radiusplugin authenticates; nothing answers on the management interface.
      managementClientAuth: false,
      prepareServer: ({ dir, serverConf, serverAddress }) => {
        mkdirSync(join(dir, "ccd"));
        mkdirSync(join(dir, "tmp"));
        // radiusplugin 2.1's syntax: key=value without spaces, a server block per RADIUS server.
        writeFileSync(
          join(dir, "radiusplugin.cnf"),
          [
            `NAS-Identifier=${NAS_IDENTIFIER}`,
            "Service-Type=5",
            "Framed-Protocol=1",
            "NAS-Port-Type=5",
            `NAS-IP-Address=${serverAddress}`,
            `OpenVPNConfig=${serverConf}`,
            "subnet=255.255.255.0",
            "overwriteccfiles=true",
            "useauthcontrolfile=false",
            "server",
            "{",
            "\tacctport=1813",
            "\tauthport=1812",
            "\tname=127.0.0.1",
            "\tretry=1",
            "\twait=1",
            `\tsharedsecret=${SECRET}`,
            "}",
            "",
          ].join("\n"),
        );
        return [
          `client-config-dir ${dir}/ccd`,
          `tmp-dir ${dir}/tmp`,
          // radiusplugin reads the byte counters from this file (version 1), rewritten every second.
          `status ${dir}/openvpn-status.log 1`,
          "status-version 1",
          `plugin ${PLUGIN} ${dir}/radiusplugin.cnf`,
        ];
      },
    });
    const dir = makeTempDir();
    captured = join(dir, "access-requests.jsonl");
    writeFileSync(join(dir, "capture.mjs"), CAPTURE_PLUGIN);
    tally = await startTally(
      {
        store: { sqlite: "./tally.db" },
        // The server's namespace is private: the standard ports on its loopback are free.
        radius: { auth: "127.0.0.1:1812", acct: "127.0.0.1:1813" },
        clients: [{ name: "radiusplugin", address: "127.0.0.1", secret: SECRET }],
        users: [{ name: "alice", password: "alicepass", reply: { "Acct-Interim-Interval": INTERIM } }],
        plugins: [{ module: "./capture.mjs", options: { file: captured } }],
        log: { level: "info" },
      },
      dir,
      { netns: rig.nsServer },
    );
  });
  after(async () => {
    // Tally first: it runs in the rig's namespace, whose leftovers rig.stop() SIGKILLs.
    await tally?.cleanup();
    await rig?.stop();
  });

  function accessRequests(): { user: string; method: string; nas: string | null; attributes: RecordJson["attributes"] }[] {
    return existsSync(captured) ? readFileSync(captured, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
  }

  async function sessions(): Promise<Record<string, unknown>[]> {
    return JSON.parse(await tally.cli(["sessions", "--json", "--user", "alice"])) as Record<string, unknown>[];
  }

  async function records(id: unknown): Promise<RecordJson[]> {
    return JSON.parse(await tally.cli(["records", "--session", String(id), "--json"])) as RecordJson[];
  }

  it("a wrong password: Tally rejects, the client gets AUTH_FAILED", async () => {
    const c = await rig.startClient({ user: "alice", password: "wrong", name: "wrong" });
    try {
      await Promise.race([c.exited(), sleep(20_000).then(() => assert.fail("the rejected client did not exit within 20 s"))]);
    } finally {
      await c.stop();
    }
    assert.match(readFileSync(c.log, "utf8"), /AUTH_FAILED/);
    const line = await tally.waitForLog((l) => l.msg === "access request" && l.user === "alice" && l.result === "Access-Reject");
    assert.equal(line.reason, "wrong password");
    assert.equal(line.client, "radiusplugin");
    assert.equal(line.method, "pap");
    assert.deepEqual(await sessions(), [], "no session for a rejected client");
  });

  it("the right password: Start, interims every 2 s with the ping's bytes, a Stop that closes the session", async () => {
    const c = await rig.startClient({ user: "alice", password: "alicepass", name: "alice" });
    const clientAddress = rig.serverAddress.replace(/\.1$/, ".2");
    let accessRequest!: ReturnType<typeof accessRequests>[number];
    let stoppedAt = 0;
    let baseline!: RecordJson;
    try {
      await c.connected();
      await tally.waitForLog((l) => l.msg === "access request" && l.user === "alice" && l.result === "Access-Accept");

      // What radiusplugin put in the Access-Request (Tally leaves the password out).
      const request = accessRequests().at(-1);
      assert.ok(request, "the capture plugin saw the Access-Request");
      accessRequest = request;
      const attr = (name: string) => request.attributes.find((a) => a.name === name)?.value;
      assert.equal(request.method, "pap");
      assert.equal(request.nas, NAS_IDENTIFIER);
      assert.deepEqual(
        request.attributes.map((a) => a.name),
        ["User-Name", "NAS-IP-Address", "NAS-Port", "Service-Type", "Calling-Station-Id", "NAS-Identifier", "Acct-Session-Id", "NAS-Port-Type"],
        "the attributes of radiusplugin's Access-Request, in order (no Framed-Protocol, though configured)",
      );
      assert.equal(attr("User-Name"), "alice");
      assert.equal(attr("NAS-IP-Address"), rig.serverAddress);
      assert.equal(attr("NAS-Port"), 1);
      assert.equal(attr("Service-Type"), "Outbound-User");
      assert.equal(attr("Calling-Station-Id"), clientAddress, "the client's real address");
      assert.equal(attr("NAS-Identifier"), NAS_IDENTIFIER);
      assert.equal(attr("NAS-Port-Type"), "Virtual");

      // The Start, then a first interim: the counters before the ping.
      const session = await until(10_000, "the Start opens a session", async () => (await sessions())[0]);
      assert.equal(session.status, "open");
      assert.equal(session.protocol, "radius");
      assert.equal(session.nas, NAS_IDENTIFIER);
      assert.equal(session.client, "radiusplugin");
      // The session expects updates at the interval Tally's Access-Accept gave radiusplugin.
      assert.equal(session.interimInterval, 2);
      baseline = await until(10_000, "a first interim", async () => (await records(session.id)).find((r) => r.kind === "interim"));

      const ping = await rig.inClient("ping", ["-c", String(PINGS), "-s", "1000", "-i", "0.2", "-W", "2", rig.tunnelServerAddress]);
      assert.match(ping.stdout, new RegExp(`${PINGS} packets transmitted, ${PINGS} received`));

      // The status file is rewritten every second and read at each interim: the ping's bytes
      // show in an interim a few seconds later.
      const grown = await until(15_000, "an interim with the ping's bytes", async () => {
        const all = await records(session.id);
        const covering = all.find(
          (r) => r.kind === "interim" && r.inputOctets! >= baseline.inputOctets! + PING_BYTES && r.outputOctets! >= baseline.outputOctets! + PING_BYTES,
        );
        return covering && all.filter((r) => r.kind === "interim").length >= 3 ? all : undefined;
      });
      const interims = grown.filter((r) => r.kind === "interim");
      for (let i = 1; i < interims.length; i++) {
        assert.ok(interims[i]!.inputOctets! >= interims[i - 1]!.inputOctets!, `input octets never shrink: ${interims.map((r) => r.inputOctets).join(", ")}`);
        assert.ok(interims[i]!.outputOctets! >= interims[i - 1]!.outputOctets!, `output octets never shrink: ${interims.map((r) => r.outputOctets).join(", ")}`);
      }
      // radiusplugin schedules interims from Acct-Interim-Interval (whole seconds); allow for
      // its scheduler's granularity and for the packets' trip.
      const gaps = interims.slice(1).map((r, i) => (Date.parse(r.receivedAt) - Date.parse(interims[i]!.receivedAt)) / 1000);
      assert.ok(gaps.every((g) => g >= INTERIM - 1 && g <= INTERIM + 2.5), `interims about ${INTERIM} s apart: ${gaps.join(", ")}`);
      const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
      assert.ok(mean >= INTERIM - 0.5 && mean <= INTERIM + 1, `interims ${INTERIM} s apart on average: ${gaps.join(", ")}`);
      const times = interims.map((r) => r.sessionTime!);
      assert.ok(times.slice(1).every((t, i) => t - times[i]! >= 1 && t - times[i]! <= INTERIM + 2), `Acct-Session-Time steps by about ${INTERIM}: ${times.join(", ")}`);
      const last = interims.at(-1)!;
      assert.deepEqual(
        last.attributes.map((a) => a.name),
        [
          "User-Name",
          "NAS-IP-Address",
          "NAS-Port",
          "Service-Type",
          "Framed-Protocol",
          "Framed-IP-Address",
          "Calling-Station-Id",
          "NAS-Identifier",
          "Acct-Status-Type",
          "Acct-Input-Octets",
          "Acct-Output-Octets",
          "Acct-Session-Id",
          "Acct-Session-Time",
          "Acct-Input-Gigawords",
          "Acct-Output-Gigawords",
          "NAS-Port-Type",
        ],
        "the attributes of radiusplugin's Interim-Update, in order",
      );
      stoppedAt = Date.now();
    } finally {
      await c.stop();
    }

    const closed = await until(15_000, "the Stop closes the session", async () => {
      const [s] = await sessions();
      return s?.status === "closed" ? s : undefined;
    });
    const all = await records(closed.id);
    const start = all.find((r) => r.kind === "start")!;
    const stop = all.find((r) => r.kind === "stop")!;
    assert.ok(start, "a Start record");
    assert.ok(stop, "a Stop record");
    assert.equal(all.filter((r) => r.kind === "start").length, 1, "one Start");
    assert.equal(all.filter((r) => r.kind === "stop").length, 1, "one Stop");
    for (const r of all) {
      assert.equal(r.nas, NAS_IDENTIFIER);
      assert.equal(r.client, "radiusplugin");
      assert.equal(r.user, "alice");
      assert.equal(r.sessionId, start.sessionId);
      assert.equal(r.nasPort, "1");
      assert.equal(r.clientAddress, clientAddress);
      assert.equal(r.framedAddress, rig.tunnelServerAddress.replace(/\.1$/, ".2"));
    }
    assert.match(start.sessionId!, /^[0-9A-F]{32}$/, "radiusplugin's Acct-Session-Id: 32 hex digits");
    assert.equal(accessRequest.attributes.find((a) => a.name === "Acct-Session-Id")?.value, start.sessionId, "the Access-Request had the same Acct-Session-Id");
    assert.equal(start.inputOctets, null, "the Start carries no counters");
    assert.equal(start.sessionTime, null, "nor a session time");

    const lastInterim = all.filter((r) => r.kind === "interim").at(-1)!;
    assert.ok(stop.inputOctets! >= lastInterim.inputOctets!, `the Stop's input octets (${stop.inputOctets}) >= the last interim's (${lastInterim.inputOctets})`);
    assert.ok(stop.inputOctets! >= baseline.inputOctets! + PING_BYTES, `the Stop's input octets cover the ping: ${stop.inputOctets}`);
    assert.ok(stop.outputOctets! >= baseline.outputOctets! + PING_BYTES, `the Stop's output octets cover the ping: ${stop.outputOctets}`);
    // radiusplugin sends no Acct-Terminate-Cause, whatever ended the session.
    assert.equal(stop.terminateCause, null);
    assert.ok(!stop.attributes.some((a) => a.name === "Acct-Terminate-Cause"), "radiusplugin's Stop has no Acct-Terminate-Cause");
    // Acct-Session-Time counts whole seconds from the Start to when the Stop is sent. OpenVPN's
    // server tears a client down 5 s after its explicit-exit-notify, so the Stop comes then.
    const sent = (Date.parse(stop.receivedAt) - Date.parse(start.receivedAt)) / 1000;
    assert.ok(Math.abs(stop.sessionTime! - sent) <= 1.5, `the Stop's Acct-Session-Time (${stop.sessionTime}) is the ${sent.toFixed(1)} s from Start to Stop`);
    const up = (stoppedAt - Date.parse(start.receivedAt)) / 1000;
    assert.ok(stop.sessionTime! >= up - 1, `and at least the ${up.toFixed(1)} s until the client was stopped: ${stop.sessionTime}`);

    assert.equal(closed.protocol, "radius");
    assert.equal(closed.nas, NAS_IDENTIFIER);
    assert.equal(closed.inputOctets, stop.inputOctets);
    assert.equal(closed.outputOctets, stop.outputOctets);
    assert.equal(closed.sessionTime, stop.sessionTime);
    assert.equal(closed.terminateCause, null);
  });
});
