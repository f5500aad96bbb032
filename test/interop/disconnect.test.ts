// Disconnect and Change-of-Authorization (RFC 5176) against a real dynamic-authorization peer
// (pyrad, test/interop/pyrad/das.py) standing in for the NAS: ACK, NAK and silence are each
// recorded on the session; the quota plugin's disconnect reaches the peer end to end with a
// valid authenticator; a plugin's new interval goes out as a CoA-Request; and for TACACS+
// devices a configured command runs with the session's details.

import assert from "node:assert/strict";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { TacacsClient } from "../../src/tacacs/client.ts";
import { AcctFlag, AcctStatus } from "../../src/tacacs/constants.ts";
import { DasPeer } from "./das-peer.ts";
import { BASE_CONFIG, makeTempDir, radclient, runCli, SECRET, sleep, startTally, TACACS_KEY, type TallyProcess } from "./harness.ts";

const probe = join(import.meta.dirname, "..", "plugins", "fixtures", "probe.ts");

const acct = (fields: Record<string, string | number>) =>
  Object.entries(fields)
    .map(([k, v]) => `${k} = ${typeof v === "number" || /^[A-Z][A-Za-z-]+$/.test(v) ? v : `"${v}"`}`)
    .join("\n");

describe("RADIUS Disconnect and CoA", () => {
  let das: DasPeer;
  let tally: TallyProcess;

  before(async () => {
    das = await DasPeer.start(["ack-1", "q-ack", "iv-1"], ["nak-1"]);
    tally = await startTally({
      ...BASE_CONFIG,
      clients: [{ name: "lab", address: "127.0.0.0/8", secret: SECRET, coa: { address: "127.0.0.1", port: das.port, timeout: 0.2, retries: 2 }, coaInterimInterval: true }],
      users: [...BASE_CONFIG.users, { name: "bob", password: "bobpass" }],
      plugins: [{ module: "quota", options: { bytes: 10000, period: "total", exempt: ["alice"] } }],
    });
  });
  after(async () => {
    das.stop();
    await tally.cleanup();
  });

  async function start(sessionId: string, user = "alice"): Promise<number> {
    const r = await radclient(`127.0.0.1:${tally.acctPort}`, "acct", acct({ "User-Name": user, "NAS-IP-Address": "127.0.0.1", "Acct-Session-Id": sessionId, "Framed-IP-Address": "10.8.0.9", "Acct-Status-Type": "Start" }));
    assert.match(r.stdout, /Received Accounting-Response/);
    const sessions = JSON.parse(await tally.cli(["sessions", "--json", "--open"])) as { id: number; sessionId: string }[];
    return sessions.find((s) => s.sessionId === sessionId)!.id;
  }

  it("tally disconnect: ACK is acknowledged, NAK refused with its Error-Cause, silence retried and unanswered", async () => {
    const ids = { ack: await start("ack-1"), nak: await start("nak-1"), silent: await start("silent-1") };
    const results: Record<string, { state: string; detail: string }> = {};
    for (const [name, id] of Object.entries(ids)) {
      const r = await runCli(tally.configPath, ["disconnect", String(id), "--reason", "test", "--json"]);
      results[name] = (JSON.parse(r.stdout) as { state: string; detail: string }[])[0]!;
      assert.equal(r.code, name === "ack" ? 0 : 1, r.stderr);
    }
    assert.equal(results.ack!.state, "acknowledged");
    assert.equal(results.nak!.state, "refused");
    assert.match(results.nak!.detail, /Disconnect-NAK \(Error-Cause Session-Context-Not-Found\)/);
    assert.equal(results.silent!.state, "unanswered");

    const sessions = JSON.parse(await tally.cli(["sessions", "--json"])) as { sessionId: string; disconnect: string; status: string }[];
    const state = (sid: string) => sessions.find((s) => s.sessionId === sid)!.disconnect;
    assert.deepEqual([state("ack-1"), state("nak-1"), state("silent-1")], ["acknowledged", "refused", "unanswered"]);

    const ack = await das.waitFor((r) => r.code === 40 && r.sessionId === "ack-1");
    assert.equal(ack.user, "alice");
    assert.equal(ack.nasIp, "127.0.0.1");
    assert.equal(ack.framedIp, "10.8.0.9");
    assert.ok(ack.eventTimestamp !== null && Math.abs(ack.eventTimestamp - Date.now() / 1000) < 60, "Event-Timestamp is now");
    assert.equal(ack.authenticatorValid, true);
    assert.equal(ack.messageAuthenticatorValid, true);
    const silentAttempts = das.requests.filter((r) => r.code === 40 && r.sessionId === "silent-1");
    assert.equal(silentAttempts.length, 3, "the first attempt and 2 retries");
    assert.equal(new Set(silentAttempts.map((r) => r.identifier)).size, 1, "retransmissions keep the identifier");
  });

  it("end to end: the quota's disconnect reaches the peer naming the session; the NAS's Stop closes it with its own cause", async () => {
    const base = { "User-Name": "bob", "NAS-IP-Address": "127.0.0.1", "Acct-Session-Id": "q-ack" };
    assert.match((await radclient(`127.0.0.1:${tally.acctPort}`, "acct", acct({ ...base, "Acct-Status-Type": "Start" }))).stdout, /Received Accounting-Response/);
    let octets = 0;
    for (let i = 1; i <= 4 && das.requests.every((r) => !(r.code === 40 && r.sessionId === "q-ack")); i++) {
      octets += 4000;
      const r = await radclient(`127.0.0.1:${tally.acctPort}`, "acct", acct({ ...base, "Acct-Status-Type": "Interim-Update", "Acct-Session-Time": i * 60, "Acct-Input-Octets": octets }));
      assert.match(r.stdout, /Received Accounting-Response/);
      await sleep(300);
    }
    const req = await das.waitFor((r) => r.code === 40 && r.sessionId === "q-ack");
    assert.equal(octets, 12000, "the third interim crossed 10000 octets");
    assert.equal(req.user, "bob");
    assert.equal(req.authenticatorValid, true, "valid Request Authenticator for the peer's secret");
    assert.equal(req.messageAuthenticatorValid, true);
    await tally.waitForLog((l) => l.msg === "disconnect" && l.outcome === "acknowledged");
    let [s] = (JSON.parse(await tally.cli(["sessions", "--json", "--user", "bob"])) as Record<string, unknown>[]);
    assert.equal(s!.disconnect, "acknowledged");
    assert.match(String(s!.disconnectReason), /quota exhausted/);
    const stop = await radclient(`127.0.0.1:${tally.acctPort}`, "acct", acct({ ...base, "Acct-Status-Type": "Stop", "Acct-Session-Time": 250, "Acct-Input-Octets": 12500, "Acct-Terminate-Cause": "Admin-Reset" }));
    assert.match(stop.stdout, /Received Accounting-Response/);
    [s] = JSON.parse(await tally.cli(["sessions", "--json", "--user", "bob"])) as Record<string, unknown>[];
    assert.equal(s!.status, "closed");
    assert.equal(s!.terminateCause, "Admin-Reset");
  });

  it("a plugin's new interval goes to the NAS as a CoA-Request with Acct-Interim-Interval", async () => {
    const config = JSON.parse(readFileSync(tally.configPath, "utf8"));
    config.plugins = [{ module: probe, options: { acctInterval: 25 } }];
    writeFileSync(tally.configPath, JSON.stringify(config));
    tally.child.kill("SIGHUP");
    await tally.waitForLog((l) => l.msg === "configuration reloaded");
    await start("iv-1");
    const coa = await das.waitFor((r) => r.code === 43 && r.sessionId === "iv-1");
    assert.equal(coa.interimInterval, 25);
    assert.equal(coa.authenticatorValid, true);
    await tally.waitForLog((l) => l.msg === "CoA interim interval" && l.outcome === "acknowledged");
  });
});

describe("TACACS+ disconnect by command", () => {
  let tally: TallyProcess;
  let out: string;
  before(async () => {
    const dir = makeTempDir();
    out = join(dir, "kick.out");
    const script = join(dir, "kick.sh");
    writeFileSync(script, `#!/bin/sh\necho "$* | $TALLY_USER $TALLY_SESSION_ID $TALLY_PROTOCOL" >> ${out}\n[ "$1" = fail ] && { echo "no such line" >&2; exit 3; }\nexit 0\n`);
    chmodSync(script, 0o755);
    tally = await startTally(
      {
        store: { sqlite: "./tally.db" },
        radius: { auth: null, acct: null },
        tacacs: { listen: "127.0.0.1:0" },
        clients: [{ name: "switches", address: "127.0.0.0/8", tacacsKey: TACACS_KEY, disconnect: { action: "command", command: "./kick.sh", timeout: 5 } }],
      },
      dir,
    );
  });
  after(async () => {
    await tally.cleanup();
  });

  it("runs the command with user, NAS, port, remote address and session id; a failing command is refused", async () => {
    const client = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY });
    for (const user of ["carol", "fail"]) {
      const r = await client.account({ user, port: "tty5", remAddr: "198.51.100.9", flags: AcctFlag.Start, args: ["task_id=55", "service=shell"] });
      assert.equal(r.status, AcctStatus.Success);
    }
    await client.close();
    const ok = await runCli(tally.configPath, ["disconnect", "--user", "carol", "--json"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { state: string }[])[0]!.state, "acknowledged");
    assert.equal(readFileSync(out, "utf8").split("\n")[0], "carol 127.0.0.1 tty5 198.51.100.9 55 | carol 55 tacacs");
    const bad = await runCli(tally.configPath, ["disconnect", "--user", "fail", "--json"]);
    assert.equal(bad.code, 1);
    const [r] = JSON.parse(bad.stdout) as { state: string; detail: string }[];
    assert.equal(r!.state, "refused");
    assert.equal(r!.detail, "command exited 3: no such line");
    const [s] = JSON.parse(await tally.cli(["sessions", "--json", "--user", "fail"])) as { disconnect: string }[];
    assert.equal(s!.disconnect, "refused");
  });
});

describe("disconnect by HTTP", () => {
  let tally: TallyProcess;
  let receiver: Server;
  const bodies: { action: string; reason: string; session: { user: string; sessionId: string } }[] = [];
  before(async () => {
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const parsed = JSON.parse(body) as (typeof bodies)[number];
        bodies.push(parsed);
        res.statusCode = parsed.session.user === "refuse-me" ? 409 : 204;
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
    const port = (receiver.address() as { port: number }).port;
    tally = await startTally({
      store: { sqlite: "./tally.db" },
      radius: { auth: null, acct: null },
      tacacs: { listen: "127.0.0.1:0" },
      clients: [{ name: "switches", address: "127.0.0.0/8", tacacsKey: TACACS_KEY, disconnect: { action: "http", url: `http://127.0.0.1:${port}/kick`, timeout: 2 } }],
    });
  });
  after(async () => {
    await tally.cleanup();
    receiver.close();
  });

  it("POSTs the session as JSON; 2xx is acknowledged, any other status refused", async () => {
    const client = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY });
    for (const user of ["dan", "refuse-me"]) {
      assert.equal((await client.account({ user, port: "tty1", flags: AcctFlag.Start, args: ["task_id=5", "service=shell"] })).status, AcctStatus.Success);
    }
    await client.close();
    const ok = await runCli(tally.configPath, ["disconnect", "--user", "dan", "--reason", "policy", "--json"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(
      (JSON.parse(ok.stdout) as { state: string; detail: string }[]).map((r) => [r.state, r.detail]),
      [["acknowledged", "HTTP 204"]],
    );
    assert.equal(bodies[0]!.action, "disconnect");
    assert.equal(bodies[0]!.reason, "policy");
    assert.equal(bodies[0]!.session.sessionId, "5");
    const bad = await runCli(tally.configPath, ["disconnect", "--user", "refuse-me", "--json"]);
    assert.equal(bad.code, 1);
    assert.deepEqual(
      (JSON.parse(bad.stdout) as { state: string; detail: string }[]).map((r) => [r.state, r.detail]),
      [["refused", "HTTP 409"]],
    );
  });
});
