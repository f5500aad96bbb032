// Interop with Debian's radclient (freeradius-utils) against a real `tally serve`:
// PAP and CHAP, Accounting Start / Interim / Stop / On / Off, retransmissions, a VSA from
// FreeRADIUS's own dictionaries, and the store's state as `tally sessions --json` shows it.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { attrs, radclient, startTally, type TallyProcess } from "./harness.ts";

interface SessionJson {
  id: number;
  protocol: string;
  nas: string;
  user: string | null;
  sessionId: string;
  status: string;
  startedAt: string;
  stoppedAt: string | null;
  inputOctets: number;
  outputOctets: number;
  inputPackets: number;
  outputPackets: number;
  sessionTime: number;
  terminateCause: string | null;
}

async function sessions(tally: TallyProcess, ...args: string[]): Promise<SessionJson[]> {
  return JSON.parse(await tally.cli(["sessions", "--json", ...args])) as SessionJson[];
}

describe("radclient interop", () => {
  let tally: TallyProcess;
  let auth: string;
  let acct: string;

  before(async () => {
    tally = await startTally();
    auth = `127.0.0.1:${tally.authPort}`;
    acct = `127.0.0.1:${tally.acctPort}`;
  });
  after(async () => {
    await tally.cleanup();
  });

  it("PAP: accepts alice with her reply attributes and Message-Authenticator", async () => {
    const r = await radclient(auth, "auth", attrs({ "User-Name": "alice", "User-Password": "alicepass", "NAS-IP-Address": "127.0.0.1" }));
    assert.match(r.stdout, /Received Access-Accept/);
    assert.match(r.stdout, /Acct-Interim-Interval = 60/);
    assert.match(r.stdout, /Session-Timeout = 3600/);
    assert.match(r.stdout, /Message-Authenticator = 0x[0-9a-f]{32}/);
    assert.equal(r.code, 0);
  });

  it("PAP: rejects a wrong password with a Reply-Message", async () => {
    const r = await radclient(auth, "auth", attrs({ "User-Name": "alice", "User-Password": "wrong", "NAS-IP-Address": "127.0.0.1" }));
    assert.match(r.stdout, /Received Access-Reject/);
    assert.match(r.stdout, /Reply-Message = "Authentication failed"/);
  });

  it("PAP: rejects an unknown user", async () => {
    const r = await radclient(auth, "auth", attrs({ "User-Name": "mallory", "User-Password": "alicepass" }));
    assert.match(r.stdout, /Received Access-Reject/);
  });

  it("CHAP: accepts the right password and rejects a wrong one", async () => {
    const ok = await radclient(auth, "auth", attrs({ "User-Name": "alice", "CHAP-Password": "alicepass" }));
    assert.match(ok.stdout, /Sent Access-Request .*[\s\S]*CHAP-Password/);
    assert.match(ok.stdout, /Received Access-Accept/);
    const bad = await radclient(auth, "auth", attrs({ "User-Name": "alice", "CHAP-Password": "nope" }));
    assert.match(bad.stdout, /Received Access-Reject/);
  });

  it("a wrong shared secret gets no answer at all", async () => {
    const r = await radclient(auth, "auth", attrs({ "User-Name": "alice", "User-Password": "alicepass" }), [], "wrongsecret");
    // With a wrong secret the password decodes to garbage: Reject, but signed with the real secret,
    // so radclient (with the wrong secret) cannot verify it and reports no valid reply.
    assert.doesNotMatch(r.stdout, /Received Access-Accept/);
    const a = await radclient(acct, "acct", attrs({ "Acct-Status-Type": "Start", "Acct-Session-Id": "wrong-secret-1", "User-Name": "alice" }), [], "wrongsecret");
    assert.doesNotMatch(a.stdout, /Received Accounting-Response/);
    assert.notEqual(a.code, 0);
    assert.equal((await sessions(tally)).filter((s) => s.sessionId === "wrong-secret-1").length, 0);
  });

  it("Start, Interim-Update and Stop fold into one closed session with 64-bit totals", async () => {
    const common = {
      "User-Name": "alice",
      "NAS-IP-Address": "127.0.0.1",
      "NAS-Identifier": "nas-a",
      "NAS-Port": 7,
      "Acct-Session-Id": "sess-64bit",
      "Framed-IP-Address": "10.8.0.6",
      "Calling-Station-Id": "198.51.100.7",
    };
    const start = await radclient(acct, "acct", attrs({ ...common, "Acct-Status-Type": "Start" }));
    assert.match(start.stdout, /Received Accounting-Response/);
    let [s] = await sessions(tally, "--user", "alice", "--open");
    assert.ok(s, "an open session after Start");
    assert.equal(s.sessionId, "sess-64bit");
    assert.equal(s.status, "open");

    const interim = await radclient(
      acct,
      "acct",
      attrs({ ...common, "Acct-Status-Type": "Interim-Update", "Acct-Session-Time": 60, "Acct-Input-Octets": 1000, "Acct-Input-Gigawords": 2, "Acct-Output-Octets": 500, "Acct-Input-Packets": 10, "Acct-Output-Packets": 20 }),
    );
    assert.match(interim.stdout, /Received Accounting-Response/);
    [s] = (await sessions(tally)).filter((x) => x.sessionId === "sess-64bit");
    assert.equal(s!.inputOctets, 2 * 2 ** 32 + 1000);
    assert.equal(s!.status, "open");

    const stop = await radclient(
      acct,
      "acct",
      attrs({
        ...common,
        "Acct-Status-Type": "Stop",
        "Acct-Session-Time": 125,
        "Acct-Input-Octets": 4242,
        "Acct-Input-Gigawords": 5,
        "Acct-Output-Octets": 77,
        "Acct-Output-Gigawords": 1,
        "Acct-Input-Packets": 30,
        "Acct-Output-Packets": 40,
        "Acct-Terminate-Cause": "User-Request",
      }),
    );
    assert.match(stop.stdout, /Received Accounting-Response/);
    const [done] = (await sessions(tally)).filter((x) => x.sessionId === "sess-64bit");
    assert.ok(done, "done");
    assert.equal(done.status, "closed");
    assert.equal(done.protocol, "radius");
    assert.equal(done.nas, "nas-a");
    assert.equal(done.user, "alice");
    assert.equal(done.inputOctets, 5 * 2 ** 32 + 4242);
    assert.equal(done.outputOctets, 2 ** 32 + 77);
    assert.equal(done.inputPackets, 30);
    assert.equal(done.outputPackets, 40);
    assert.equal(done.sessionTime, 125);
    assert.equal(done.terminateCause, "User-Request");
    assert.ok(done.stoppedAt, "done.stoppedAt");

    // An interim after the stop is stored but does not reopen the session or move its totals.
    const late = await radclient(acct, "acct", attrs({ ...common, "Acct-Status-Type": "Interim-Update", "Acct-Session-Time": 200, "Acct-Input-Octets": 1 }));
    assert.match(late.stdout, /Received Accounting-Response/);
    const [still] = (await sessions(tally)).filter((x) => x.sessionId === "sess-64bit");
    assert.equal(still!.status, "closed");
    assert.equal(still!.inputOctets, 5 * 2 ** 32 + 4242);
    const records = JSON.parse(await tally.cli(["records", "--session", String(done.id), "--json"])) as { kind: string }[];
    assert.deepEqual(records.map((r) => r.kind), ["start", "interim", "stop", "interim"]);
  });

  it("a Stop without a Start makes a closed session", async () => {
    const r = await radclient(
      acct,
      "acct",
      attrs({ "User-Name": "alice", "NAS-Identifier": "nas-a", "Acct-Session-Id": "stop-only", "Acct-Status-Type": "Stop", "Acct-Session-Time": 30, "Acct-Output-Octets": 99 }),
    );
    assert.match(r.stdout, /Received Accounting-Response/);
    const [s] = (await sessions(tally)).filter((x) => x.sessionId === "stop-only");
    assert.equal(s!.status, "closed");
    assert.equal(s!.outputOctets, 99);
    assert.equal(Date.parse(s!.stoppedAt!) - Date.parse(s!.startedAt), 30_000);
  });

  it("Accounting-On and Accounting-Off close every open session of that NAS only", async () => {
    for (const [nas, id] of [["nas-on", "on-1"], ["nas-on", "on-2"], ["nas-other", "other-1"], ["nas-off", "off-1"]]) {
      const r = await radclient(acct, "acct", attrs({ "User-Name": "alice", "NAS-Identifier": nas!, "Acct-Session-Id": id!, "Acct-Status-Type": "Start" }));
      assert.match(r.stdout, /Received Accounting-Response/);
    }
    const on = await radclient(acct, "acct", attrs({ "NAS-Identifier": "nas-on", "Acct-Status-Type": "Accounting-On", "Acct-Session-Id": "0" }));
    assert.match(on.stdout, /Received Accounting-Response/);
    const off = await radclient(acct, "acct", attrs({ "NAS-Identifier": "nas-off", "Acct-Status-Type": "Accounting-Off" }));
    assert.match(off.stdout, /Received Accounting-Response/);
    const all = await sessions(tally);
    const byId = new Map(all.map((s) => [s.sessionId, s]));
    assert.equal(byId.get("on-1")!.status, "closed");
    assert.equal(byId.get("on-2")!.status, "closed");
    assert.equal(byId.get("on-1")!.terminateCause, "NAS-Reboot");
    assert.equal(byId.get("off-1")!.status, "closed");
    assert.equal(byId.get("other-1")!.status, "open");
  });

  it("radclient -c 5 (the same record 5 times, new identifiers): 5 responses, 1 record", async () => {
    const r = await radclient(
      acct,
      "acct",
      attrs({ "User-Name": "alice", "NAS-Identifier": "nas-a", "Acct-Session-Id": "repeat-5", "Acct-Status-Type": "Interim-Update", "Acct-Session-Time": 5, "Acct-Input-Octets": 555 }),
      ["-c", "5"],
    );
    assert.equal((r.stdout.match(/Received Accounting-Response/g) ?? []).length, 5);
    const [s] = (await sessions(tally)).filter((x) => x.sessionId === "repeat-5");
    const records = JSON.parse(await tally.cli(["records", "--session", String(s!.id), "--json"])) as unknown[];
    assert.equal(records.length, 1);
    assert.equal(s!.inputOctets, 555);
  });

  it("Status-Server (RFC 5997) is answered on both ports", async () => {
    const a = await radclient(auth, "status", attrs({ "Message-Authenticator": "0x00" }));
    assert.match(a.stdout, /Received Access-Accept/);
    const b = await radclient(acct, "status", attrs({ "Message-Authenticator": "0x00" }));
    assert.match(b.stdout, /Received Accounting-Response/);
  });
});

describe("vendor-specific attributes from Debian's FreeRADIUS dictionaries", () => {
  let tally: TallyProcess;
  before(async () => {
    tally = await startTally({
      store: { sqlite: "./tally.db" },
      radius: { auth: "127.0.0.1:0", acct: "127.0.0.1:0", dictionaries: ["/usr/share/freeradius/dictionary"] },
      clients: [{ name: "lab", address: "127.0.0.0/8", secret: "testing123" }],
    });
  });
  after(async () => {
    await tally.cleanup();
  });

  it("Cisco-AVPair and a WISPr attribute sent by radclient are stored by name", async () => {
    const r = await radclient(
      `127.0.0.1:${tally.acctPort}`,
      "acct",
      attrs({
        "User-Name": "bob",
        "NAS-Identifier": "cisco-1",
        "Acct-Session-Id": "vsa-1",
        "Acct-Status-Type": "Start",
        "Cisco-AVPair": "ip:addr-pool=pool1",
        "WISPr-Location-Name": "Lab,Building-7",
      }),
    );
    assert.match(r.stdout, /Received Accounting-Response/);
    const [s] = (await sessions(tally)).filter((x) => x.sessionId === "vsa-1");
    const [rec] = JSON.parse(await tally.cli(["records", "--session", String(s!.id), "--json"])) as { attributes: { name: string; value: unknown }[] }[];
    assert.ok(rec, "rec");
    assert.deepEqual(rec.attributes.find((a) => a.name === "Cisco-AVPair"), { name: "Cisco-AVPair", value: "ip:addr-pool=pool1" });
    assert.deepEqual(rec.attributes.find((a) => a.name === "WISPr-Location-Name"), { name: "WISPr-Location-Name", value: "Lab,Building-7" });
    assert.deepEqual(rec.attributes.find((a) => a.name === "Acct-Status-Type"), { name: "Acct-Status-Type", value: "Start" });
  });
});
