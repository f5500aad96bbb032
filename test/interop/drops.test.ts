// Packets Tally must not answer (RFC 2865 section 3): unknown sources, malformed datagrams,
// a wrong secret. Each is dropped with its reason logged, and the server keeps serving.

import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { after, before, describe, it } from "node:test";
import { BASE_CONFIG, radclient, SECRET, sleep, startTally, type TallyProcess } from "./harness.ts";

async function sendRaw(port: number, datagrams: Buffer[]): Promise<number> {
  const socket = createSocket("udp4");
  let replies = 0;
  socket.on("message", () => replies++);
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
  for (const d of datagrams) socket.send(d, port, "127.0.0.1");
  await sleep(500);
  socket.close();
  return replies;
}

describe("dropped packets", () => {
  let tally: TallyProcess;
  before(async () => {
    tally = await startTally({
      ...BASE_CONFIG,
      clients: [
        { name: "lab", address: "127.0.0.1", secret: SECRET },
        { name: "elsewhere", address: "192.0.2.0/24", secret: SECRET },
      ],
    });
  });
  after(async () => {
    await tally.cleanup();
  });

  it("malformed datagrams are dropped by reason and never crash the server", async () => {
    const valid = Buffer.from("04010014" + "00".repeat(16), "hex");
    const bad = [
      Buffer.from([1, 2, 3]),
      Buffer.from("0101000f" + "00".repeat(16), "hex"), // Length 15 < 20
      Buffer.from("01010030" + "00".repeat(16), "hex"), // Length 48 > datagram
      Buffer.concat([Buffer.from("01010017" + "00".repeat(16), "hex"), Buffer.from([1, 9, 0])]), // attribute past the end
      Buffer.concat([Buffer.from("01010016" + "00".repeat(16), "hex"), Buffer.from([1, 1])]), // attribute length 1
      Buffer.concat([Buffer.from("63010014", "hex"), valid.subarray(4)]), // code 99
    ];
    assert.equal(await sendRaw(tally.authPort, bad), 0);
    for (const r of ["too-short", "length-too-short", "length-exceeds-datagram", "attribute-truncated", "attribute-length-invalid", "unknown-code"]) {
      await tally.waitForLog((l) => l.reason === r);
    }
    const ok = await radclient(`127.0.0.1:${tally.authPort}`, "auth", 'User-Name = "alice"\nUser-Password = "alicepass"');
    assert.match(ok.stdout, /Received Access-Accept/, "still serving");
  });

  it("an Accounting-Request signed with the wrong secret is dropped as bad-authenticator", async () => {
    const r = await radclient(`127.0.0.1:${tally.acctPort}`, "acct", 'Acct-Status-Type = Start\nAcct-Session-Id = "wrong"', [], "not-the-secret");
    assert.doesNotMatch(r.stdout, /Received/);
    await tally.waitForLog((l) => l.reason === "bad-authenticator");
  });

  it("an Accounting-Request on the authentication port is dropped as unexpected-code", async () => {
    const r = await radclient(`127.0.0.1:${tally.authPort}`, "acct", 'Acct-Status-Type = Start\nAcct-Session-Id = "x"');
    assert.doesNotMatch(r.stdout, /Received/);
    await tally.waitForLog((l) => l.reason === "unexpected-code");
  });

  it("a source outside every client's range is dropped as unknown-client", async () => {
    const socket = createSocket("udp4");
    await new Promise<void>((r) => socket.bind(0, "127.0.0.2", () => r()));
    let replies = 0;
    socket.on("message", () => replies++);
    socket.send(Buffer.from("04010014" + "00".repeat(16), "hex"), tally.acctPort, "127.0.0.1");
    await sleep(300);
    socket.close();
    assert.equal(replies, 0);
    const entry = await tally.waitForLog((l) => l.reason === "unknown-client");
    assert.match(String(entry.source), /^127\.0\.0\.2:/);
  });

  it("SIGTERM stops cleanly and the last log line counts drops by reason", async () => {
    await tally.stop();
    const last = (await tally.waitForLog((l) => l.msg === "stopped")) as { radius?: { drops: Record<string, number>; requests: Record<string, number> } };
    assert.ok(last?.radius, "a final 'stopped' line with counters");
    assert.equal(last.radius.drops["unknown-client"], 1);
    assert.equal(last.radius.drops["bad-authenticator"], 1);
    assert.ok((last.radius.requests["Access-Request"] ?? 0) >= 1, "(last.radius.requests[\"Access-Request\"] ?? 0) >= 1");
  });
});
