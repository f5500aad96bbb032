// Interop with pyrad (python3-pyrad): Message-Authenticator on Access-Request and in the reply,
// a client that requires it (BlastRADIUS), exact retransmissions (RFC 5080), and durability:
// SIGKILL right after a burst of acknowledged records loses none of them.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BASE_CONFIG, python, radclient, runCli, SECRET, startTally, type TallyProcess } from "./harness.ts";

const script = join(import.meta.dirname, "pyrad", "client.py");

describe("pyrad interop", () => {
  let tally: TallyProcess;

  before(async () => {
    tally = await startTally({
      ...BASE_CONFIG,
      clients: [{ name: "strict", address: "127.0.0.0/8", secret: SECRET, requireMessageAuthenticator: true }],
    });
  });
  after(async () => {
    await tally.cleanup();
  });

  it("Access-Request with Message-Authenticator: accepted, reply authenticators valid", async () => {
    const out = JSON.parse(await python(script, ["auth-ma", "127.0.0.1", String(tally.authPort), SECRET, "alice", "alicepass"]));
    assert.equal(out.code, 2, "Access-Accept");
    assert.equal(out.responseAuthenticatorValid, true);
    assert.equal(out.replyMessageAuthenticatorValid, true);
    assert.deepEqual(out.attributes["Acct-Interim-Interval"], [60]);
    const bad = JSON.parse(await python(script, ["auth-ma", "127.0.0.1", String(tally.authPort), SECRET, "alice", "nope"]));
    assert.equal(bad.code, 3, "Access-Reject");
    assert.equal(bad.replyMessageAuthenticatorValid, true);
  });

  it("a client that requires Message-Authenticator gets no answer without one", async () => {
    const r = await radclient(`127.0.0.1:${tally.authPort}`, "auth", 'User-Name = "alice"\nUser-Password = "alicepass"');
    assert.doesNotMatch(r.stdout, /Received Access-/);
    const withMa = await radclient(`127.0.0.1:${tally.authPort}`, "auth", 'User-Name = "alice"\nUser-Password = "alicepass"\nMessage-Authenticator = 0x00');
    assert.match(withMa.stdout, /Received Access-Accept/);
    await tally.waitForLog((l) => l.reason === "missing-message-authenticator");
  });

  it("the same Accounting-Request datagram sent 5 times: 5 responses, 1 record", async () => {
    const out = JSON.parse(await python(script, ["retransmit", "127.0.0.1", String(tally.acctPort), SECRET, "pyrad-retx", "5"]));
    assert.equal(out.responses, 5);
    const sessions = JSON.parse(await tally.cli(["sessions", "--json"])) as { id: number; sessionId: string }[];
    const s = sessions.filter((x) => x.sessionId === "pyrad-retx");
    assert.equal(s.length, 1);
    const records = JSON.parse(await tally.cli(["records", "--session", String(s[0]!.id), "--json"])) as unknown[];
    assert.equal(records.length, 1);
  });
});

describe("durability", () => {
  it("SIGKILL right after a burst of acknowledged records loses none", async () => {
    const tally = await startTally();
    try {
      const out = JSON.parse(await python(script, ["burst", "127.0.0.1", String(tally.acctPort), SECRET, "burst", "600"])) as { acknowledged: string[] };
      await tally.kill9();
      assert.equal(out.acknowledged.length, 600, "every record of the burst was acknowledged");
      const r = await runCli(tally.configPath, ["sessions", "--json", "--limit", "100000"]);
      assert.equal(r.code, 0, r.stderr);
      const stored = new Set((JSON.parse(r.stdout) as { sessionId: string }[]).map((s) => s.sessionId));
      const missing = out.acknowledged.filter((id) => !stored.has(id));
      assert.deepEqual(missing, [], "acknowledged but not stored");
    } finally {
      await tally.cleanup();
    }
  });
});
