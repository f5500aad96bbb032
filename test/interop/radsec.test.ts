// RadSec (RFC 6614) with a real peer: Debian's radsecproxy, the RADIUS/TLS proxy eduroam runs,
// between radclient (freeradius-utils, over UDP) and a real `tally serve` (over TLS). radsecproxy
// authenticates itself with a client certificate from a private CA and checks Tally's server
// certificate against its IP SAN; the shared secret on the TLS leg is "radsec".

import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makePki, type TestPki } from "../support/certs.ts";
import { freeUdpPort } from "../support/ports.ts";
import { attrs, radclient, sleep, startTally, until, type TallyProcess } from "./harness.ts";

/** The UDP secret between radclient and radsecproxy (the TLS leg uses "radsec"). */
const NAS_SECRET = "nassecret";

interface SessionJson {
  id: number;
  nas: string;
  user: string | null;
  sessionId: string;
  status: string;
  inputOctets: number;
  outputOctets: number;
  sessionTime: number;
  terminateCause: string | null;
}

/** radsecproxy's configuration as docs/radsec.md shows it: UDP in from the NAS, TLS out to Tally. */
export function radsecproxyConfig(o: { udpPort: number; tallyPort: number; ca: string; cert: string; key: string }): string {
  return `ListenUDP 127.0.0.1:${o.udpPort}

tls tally {
    CACertificateFile ${o.ca}
    CertificateFile ${o.cert}
    CertificateKeyFile ${o.key}
    TlsVersion TLS1_2:
}

client nas {
    host 127.0.0.1
    type udp
    secret ${NAS_SECRET}
}

server tally {
    host 127.0.0.1:${o.tallyPort}
    type tls
    tls tally
    secret radsec
    StatusServer on
    CertificateNameCheck on
}

realm * {
    server tally
    accountingServer tally
}
`;
}

describe("RadSec interop with radsecproxy", () => {
  let pki: TestPki;
  let tally: TallyProcess;
  let proxy: ChildProcess;
  let proxyLog = "";
  let pidFile: string;
  let nas: string;

  before(async () => {
    pki = makePki();
    const proxyCert = pki.issue("radsecproxy", { subject: "/CN=radsecproxy.test/O=Tally Tests", san: ["DNS:radsecproxy.test"] });
    tally = await startTally({
      store: { sqlite: "./tally.db" },
      radius: { auth: null, acct: null, radsec: { listen: "127.0.0.1:0" } },
      tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca },
      clients: [{ name: "edge-proxy", address: "127.0.0.1/32", certificate: { subject: "CN=radsecproxy.test,O=Tally Tests", san: ["DNS:radsecproxy.test"] } }],
      users: [{ name: "alice", password: "alicepass", reply: { "Session-Timeout": 3600 } }],
      log: { level: "info" },
    });
    const udpPort = await freeUdpPort();
    const conf = join(pki.dir, "radsecproxy.conf");
    pidFile = join(pki.dir, "radsecproxy.pid");
    writeFileSync(conf, radsecproxyConfig({ udpPort, tallyPort: tally.radsecPort, ca: pki.ca, cert: proxyCert.cert, key: proxyCert.key }));
    proxy = spawn("radsecproxy", ["-f", "-d", "5", "-c", conf, "-i", pidFile], { stdio: ["ignore", "pipe", "pipe"] });
    proxy.stdout!.on("data", (d: Buffer) => (proxyLog += d.toString()));
    proxy.stderr!.on("data", (d: Buffer) => (proxyLog += d.toString()));
    nas = `127.0.0.1:${udpPort}`;
    // radsecproxy opens its TLS connection at startup; Tally logs it once the certificate matched.
    await tally.waitForLog((l) => l.msg === "RadSec connection" && l.client === "edge-proxy", 10_000);
  });

  after(async () => {
    if (proxy !== undefined && proxy.exitCode === null) {
      // The PID radsecproxy wrote is the child we started (-f: no fork); kill exactly that.
      assert.equal(Number(readFileSync(pidFile, "utf8").trim()), proxy.pid);
      const exited = new Promise((r) => proxy.once("exit", r));
      process.kill(proxy.pid!, "SIGTERM");
      await exited;
    }
    await tally?.cleanup();
  });

  it("radsecproxy verified Tally's certificate and Tally identified radsecproxy by its certificate", async () => {
    assert.match(proxyLog, /certnamecheck: Found subjectaltname matching address 127\.0\.0\.1/);
    assert.match(proxyLog, /TLS connection to tally \(127\.0\.0\.1 port \d+\), subject CN=tally\.test up/);
    const line = tally.logs.find((l) => l.msg === "RadSec connection");
    assert.equal(line?.client, "edge-proxy");
  });

  it("PAP through the proxy: Access-Accept for alice, Access-Reject for a wrong password", async () => {
    const ok = await radclient(nas, "auth", attrs({ "User-Name": "alice", "User-Password": "alicepass" }), [], NAS_SECRET);
    assert.match(ok.stdout, /Received Access-Accept/);
    assert.match(ok.stdout, /Session-Timeout = 3600/);
    assert.match(proxyLog, /Access-Accept for user alice from tally/);
    const bad = await radclient(nas, "auth", attrs({ "User-Name": "alice", "User-Password": "wrong" }), [], NAS_SECRET);
    assert.match(bad.stdout, /Received Access-Reject/);
    const decided = tally.logs.filter((l) => l.msg === "access request" && l.user === "alice").map((l) => [l.client, l.result]);
    assert.deepEqual(decided, [
      ["edge-proxy", "Access-Accept"],
      ["edge-proxy", "Access-Reject"],
    ]);
  });

  it("accounting Start / Interim / Stop through the proxy is stored exactly, answered after the store", async () => {
    const common = { "User-Name": "alice", "NAS-Identifier": "nas-behind-proxy", "NAS-IP-Address": "127.0.0.1", "Acct-Session-Id": "radsec-1" };
    const start = await radclient(nas, "acct", attrs({ ...common, "Acct-Status-Type": "Start" }), [], NAS_SECRET);
    assert.match(start.stdout, /Received Accounting-Response/);
    const interim = await radclient(
      nas,
      "acct",
      attrs({ ...common, "Acct-Status-Type": "Interim-Update", "Acct-Session-Time": 60, "Acct-Input-Octets": 1000, "Acct-Input-Gigawords": 1, "Acct-Output-Octets": 20 }),
      [],
      NAS_SECRET,
    );
    assert.match(interim.stdout, /Received Accounting-Response/);
    const stop = await radclient(
      nas,
      "acct",
      attrs({ ...common, "Acct-Status-Type": "Stop", "Acct-Session-Time": 125, "Acct-Input-Octets": 4242, "Acct-Input-Gigawords": 1, "Acct-Output-Octets": 77, "Acct-Terminate-Cause": "User-Request" }),
      [],
      NAS_SECRET,
    );
    assert.match(stop.stdout, /Received Accounting-Response/);
    const sessions = JSON.parse(await tally.cli(["sessions", "--json"])) as SessionJson[];
    const s = sessions.find((x) => x.sessionId === "radsec-1");
    assert.ok(s, "the session is in the store");
    assert.equal(s.status, "closed");
    assert.equal(s.nas, "nas-behind-proxy");
    assert.equal(s.user, "alice");
    assert.equal(s.inputOctets, 2 ** 32 + 4242);
    assert.equal(s.outputOctets, 77);
    assert.equal(s.sessionTime, 125);
    assert.equal(s.terminateCause, "User-Request");
    const records = JSON.parse(await tally.cli(["records", "--session", String(s.id), "--json"])) as { kind: string; client: string }[];
    assert.deepEqual(records.map((r) => r.kind), ["start", "interim", "stop"]);
  });

  it("Status-Server: radsecproxy answers radclient's itself, and its own Status-Server to Tally is answered", async () => {
    const r = await radclient(nas, "status", "Message-Authenticator = 0x00", [], NAS_SECRET);
    assert.match(r.stdout, /Received Access-Accept/);
    assert.match(proxyLog, /Access-Accept \(response to Status-Server\) from _self_/);
    // With `StatusServer on`, radsecproxy probes Tally 25-32 s after its last request to it and
    // judges the server only by the answers.
    const probed = await until(45_000, "radsecproxy's Status-Server to Tally answered", async () => {
      const sent = proxyLog.indexOf("clientwr: sending Status-Server to tally");
      return sent >= 0 && proxyLog.indexOf("replyh: got status server response from tally", sent) > sent ? proxyLog.slice(sent) : undefined;
    });
    // radsecproxy checked the answer's authenticators with the secret "radsec" before taking it.
    assert.match(probed, /buf2radmsg: message auth ok\s+[^\n]*got Access-Accept message with id \d+/);
    // Still forwarding after the probe: the server is up in radsecproxy's eyes.
    await sleep(100);
    const again = await radclient(nas, "auth", attrs({ "User-Name": "alice", "User-Password": "alicepass" }), [], NAS_SECRET);
    assert.match(again.stdout, /Received Access-Accept/);
  });
});
