// clients[].nas: a client bound to its NASes cannot write into another NAS's sessions. Another
// client (pyrad, from 127.0.0.2) opens a session on NAS "bras-2"; the bound client (radclient,
// from 127.0.0.1) may account for "bras-1" and 192.0.2.10 only: its Stop and Accounting-Off
// naming bras-2 are dropped unanswered (`nas-not-allowed`) and bras-2's session stays open.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { dropCounts } from "../support/drops.ts";
import { SECRET, python, radclient, startTally, type TallyProcess } from "./harness.ts";
import { join } from "node:path";
import { writeFileSync } from "node:fs";

/** One pyrad Accounting-Request Start from `source`; prints the reply code (or "none"). */
const PYRAD_START = `
import os, socket, sys, select
import pyrad.packet
from pyrad.dictionary import Dictionary
host, port, secret, source, nas, session = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4], sys.argv[5], sys.argv[6]
d = Dictionary(os.path.join(sys.argv[7], "dictionary"))
req = pyrad.packet.AcctPacket(code=pyrad.packet.AccountingRequest, secret=secret, dict=d)
req["User-Name"] = "carol"; req["NAS-Identifier"] = nas; req["Acct-Session-Id"] = session; req["Acct-Status-Type"] = "Start"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((source, 0)); s.sendto(req.RequestPacket(), (host, port))
r, _, _ = select.select([s], [], [], 3)
print(req.CreateReply(packet=s.recv(4096)).code if r else "none")
`;

describe("clients[].nas binds a client to its NASes", () => {
  let tally: TallyProcess;
  const acct = () => `127.0.0.1:${tally.acctPort}`;
  const packet = (fields: Record<string, string>) => Object.entries(fields).map(([k, v]) => `${k} = ${v}`).join("\n") + "\n";

  before(async () => {
    tally = await startTally({
      store: { sqlite: "./tally.db" },
      radius: { auth: "127.0.0.1:0", acct: "127.0.0.1:0" },
      clients: [
        { name: "edge", address: "127.0.0.1/32", secret: SECRET, nas: ["bras-1", "192.0.2.10"] },
        { name: "core", address: "127.0.0.2/32", secret: SECRET },
      ],
      http: { listen: "127.0.0.1:0" },
    });
    const script = join(tally.dir, "start.py");
    writeFileSync(script, PYRAD_START);
    const reply = await python(script, ["127.0.0.1", String(tally.acctPort), SECRET, "127.0.0.2", "bras-2", "c1", join(import.meta.dirname, "pyrad")]);
    assert.equal(reply.trim(), "5", "the core client's Start answered with an Accounting-Response");
  });
  after(async () => {
    await tally.cleanup();
  });

  it("its own NASes, by NAS-Identifier or NAS-IP-Address, are accounted", async () => {
    const nases: [string, Record<string, string>][] = [
      ["e1", { "NAS-Identifier": '"bras-1"' }],
      ["e2", { "NAS-IP-Address": "192.0.2.10" }],
    ];
    for (const [session, nas] of nases) {
      const r = await radclient(acct(), "acct", packet({ "User-Name": '"alice"', "Acct-Status-Type": "Start", "Acct-Session-Id": `"${session}"`, ...nas }));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Received Accounting-Response/);
    }
    const sessions = JSON.parse(await tally.cli(["sessions", "--json", "--user", "alice"])) as { nas: string }[];
    assert.deepEqual(sessions.map((s) => s.nas).sort(), ["192.0.2.10", "bras-1"]);
  });

  it("a Stop and an Accounting-Off naming another client's NAS are dropped, and its session stays open", async () => {
    const before = await dropCounts(tally.httpPort, "radius");
    const stop = await radclient(acct(), "acct", packet({ "User-Name": '"carol"', "Acct-Status-Type": "Stop", "Acct-Session-Id": '"c1"', "NAS-Identifier": '"bras-2"', "Acct-Input-Octets": "999" }));
    assert.notEqual(stop.code, 0, "no Accounting-Response for the Stop");
    const off = await radclient(acct(), "acct", packet({ "Acct-Status-Type": "Accounting-Off", "NAS-Identifier": '"bras-2"' }));
    assert.notEqual(off.code, 0, "no Accounting-Response for the Accounting-Off");
    const after = await dropCounts(tally.httpPort, "radius");
    // The harness runs radclient with -r 1: one datagram per request.
    assert.equal(after["nas-not-allowed"]! - (before["nas-not-allowed"] ?? 0), 2);
    const carol = JSON.parse(await tally.cli(["sessions", "--json", "--user", "carol"])) as { status: string; inputOctets: number; client: string }[];
    assert.deepEqual(carol.map((s) => [s.status, s.inputOctets, s.client]), [["open", 0, "core"]]);
    await tally.waitForLog((l) => l.reason === "nas-not-allowed" && l.nas === "bras-2" && l.client === "edge");
  });

  it("a nas list that is empty or not strings is refused at load, naming the key", async () => {
    const { buildConfig } = await import("../../src/config/load.ts");
    assert.throws(() => buildConfig("/t/tally.yaml", { clients: [{ name: "x", address: "127.0.0.1", secret: "s", nas: [] }] }), /clients\[0\]\.nas: expected at least one NAS name/);
    assert.throws(() => buildConfig("/t/tally.yaml", { clients: [{ name: "x", address: "127.0.0.1", secret: "s", nas: [""] }] }), /clients\[0\]\.nas\[0\]: expected a NAS-Identifier or an address/);
  });
});
