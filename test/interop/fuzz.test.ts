// A short run of the fuzzer in bench/fuzz.ts against a real `tally serve`, with the same checks
// as `npm run fuzz`; and the inputs the fuzzer found that once took the server down.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { FUZZ_CONFIG, formatReport, fuzz } from "../../bench/fuzz.ts";
import { encodeAuthenStart } from "../../src/tacacs/bodies.ts";
import { TacacsClient } from "../../src/tacacs/client.ts";
import { AuthenStatus, AuthorStatus } from "../../src/tacacs/constants.ts";
import { sealPacket } from "../../src/tacacs/packet.ts";
import { TACACS_KEY, startTally, type TallyProcess } from "./harness.ts";

describe("fuzzing a running server", () => {
  let tally: TallyProcess;
  before(async () => {
    tally = await startTally(FUZZ_CONFIG);
  });
  after(async () => {
    await tally.cleanup();
  });

  it("a TACACS+ request at seq_no 255 is dropped without a reply and the server stays up", async () => {
    // Found by the fuzzer: the ERROR reply to it was sealed with seq_no 256, which threw out of
    // the socket's data handler and ended the process.
    const body = encodeAuthenStart({ action: 1, privLvl: 1, authenType: 2, authenService: 1, user: "bob", port: "tty1", remAddr: "", data: Buffer.from("bobpass") });
    const packet = sealPacket({ majorVersion: 0xc, minorVersion: 1, type: 1, seqNo: 255, flags: 0, sessionId: 0x01020304 }, body, Buffer.from(TACACS_KEY));
    const r = await TacacsClient.exchangeRaw("127.0.0.1", tally.tacacsPort, packet, 1000);
    assert.equal(r.data.length, 0, "no reply: none has a seq_no left");
    assert.equal(r.closed, true, "the server closes the connection");
    await tally.waitForLog((l) => l.reason === "bad-seq-no" && l.seq === 255);
    const client = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY });
    assert.equal((await client.authenPap("bob", "bobpass")).status, AuthenStatus.Pass);
    assert.equal(tally.child.exitCode, null, "still running");
  });

  it("a PASS_REPL whose echoed args would not fit (a bare 255-octet arg gains an '=') is answered ERROR, no exception", async () => {
    // Found by the fuzzer: encodeAuthorResponse threw on the 256-octet reply arg, logged at
    // level 50 as "TACACS+ session failed".
    const client = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY });
    const r = await client.authorize({ user: "bob", args: ["service=shell", "cmd=", "priv-lvl*1", "x".repeat(255)] });
    assert.equal(r.status, AuthorStatus.Error);
    assert.equal(r.serverMsg, "authorization reply too long");
    await tally.waitForLog((l) => l.msg === "TACACS+ authorization reply does not fit a packet: answered ERROR");
    assert.deepEqual(tally.logs.filter((l) => typeof l.level === "number" && l.level >= 50), [], "no error logged");
    const ok = await client.authorize({ user: "bob", args: ["service=shell", "cmd=", "priv-lvl*1"] });
    assert.equal(ok.status, AuthorStatus.PassRepl);
  });

  it("mutated and random packets for 8 s: same process, no error logged, bounded RSS, valid clients answered", async () => {
    const report = await fuzz(tally, { seconds: 8 });
    const text = formatReport(report, 8);
    assert.deepEqual(report.failures, [], text);
    assert.ok(report.valid.sent > 10, `valid requests were interleaved:\n${text}`);
    assert.ok(Object.keys(report.drops).length >= 5, `the fuzz reached several drop reasons:\n${text}`);
    const dropped = Object.values(report.drops).reduce((a, b) => a + b, 0);
    assert.ok(report.dropLogLines > 0 && report.dropLogLines * 10 < dropped, `drops are logged, thinned out (src/log-throttle.ts):\n${text}`);
  });
});
