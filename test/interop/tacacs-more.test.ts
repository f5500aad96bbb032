// More of the TACACS+ server through real sockets: MS-CHAPv1/v2 logins, the bounded ASCII
// conversation, the connection cap, and a real store failure (a SQLite trigger that aborts
// the insert) answered with ERROR over TACACS+ and with silence over RADIUS.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { mschapV1Response, mschapV2AuthenticatorResponse, mschapV2NtResponse } from "../../src/auth/mschap.ts";
import { decodeAuthenReply, encodeAuthenStart } from "../../src/tacacs/bodies.ts";
import { TacacsClient } from "../../src/tacacs/client.ts";
import { AcctFlag, AcctStatus, AuthenAction, AuthenService, AuthenStatus, AuthenType, PacketType } from "../../src/tacacs/constants.ts";
import { decodeHeader } from "../../src/tacacs/header.ts";
import { openPacket, sealPacket } from "../../src/tacacs/packet.ts";
import { radclient, sleep, startTally, TACACS_CONFIG, TACACS_KEY, SECRET, type TallyProcess } from "./harness.ts";

const key = Buffer.from(TACACS_KEY);

async function mschapLogin(port: number, authenType: number, data: Buffer) {
  const body = encodeAuthenStart({ action: AuthenAction.Login, privLvl: 1, authenType, authenService: AuthenService.Ppp, user: "bob", port: "", remAddr: "", data });
  const packet = sealPacket({ majorVersion: 0xc, minorVersion: 1, type: PacketType.Authentication, seqNo: 1, flags: 0, sessionId: 77 }, body, key);
  const r = await TacacsClient.exchangeRaw("127.0.0.1", port, packet, 1000);
  const h = decodeHeader(r.data);
  assert.ok(h.ok, "h.ok");
  const reply = decodeAuthenReply(openPacket(h.header, r.data.subarray(12, 12 + h.header.length), key));
  assert.ok(reply.ok, "reply.ok");
  return reply.value;
}

describe("TACACS+ server, more", () => {
  let tally: TallyProcess;
  before(async () => {
    tally = await startTally({
      ...TACACS_CONFIG,
      radius: { auth: null, acct: "127.0.0.1:0" },
      clients: [{ name: "lab", address: "127.0.0.0/8", tacacsKey: TACACS_KEY, secret: SECRET }],
      tacacs: { listen: "127.0.0.1:0", maxConnections: 3, loginRounds: 3 },
    });
  });
  after(async () => {
    await tally.cleanup();
  });

  it("MS-CHAPv2: the right response passes with the authenticator response; a wrong one fails", async () => {
    const authChallenge = randomBytes(16);
    const peerChallenge = randomBytes(16);
    const nt = mschapV2NtResponse(authChallenge, peerChallenge, "bob", "bobpass");
    const response = Buffer.concat([peerChallenge, Buffer.alloc(8), nt, Buffer.from([0])]);
    const ok = await mschapLogin(tally.tacacsPort, AuthenType.MsChapV2, Buffer.concat([Buffer.from([7]), authChallenge, response]));
    assert.equal(ok.status, AuthenStatus.Pass);
    assert.equal(ok.data.toString(), mschapV2AuthenticatorResponse("bobpass", nt, peerChallenge, authChallenge, "bob"));
    const badNt = mschapV2NtResponse(authChallenge, peerChallenge, "bob", "wrong");
    const bad = await mschapLogin(tally.tacacsPort, AuthenType.MsChapV2, Buffer.concat([Buffer.from([7]), authChallenge, peerChallenge, Buffer.alloc(8), badNt, Buffer.from([0])]));
    assert.equal(bad.status, AuthenStatus.Fail);
  });

  it("MS-CHAPv1: the right NT response passes, a wrong one fails", async () => {
    const challenge = randomBytes(8);
    const { ntResponse, lmResponse } = mschapV1Response(challenge, "bobpass");
    const ok = await mschapLogin(tally.tacacsPort, AuthenType.MsChap, Buffer.concat([Buffer.from([1]), challenge, lmResponse, ntResponse, Buffer.from([1])]));
    assert.equal(ok.status, AuthenStatus.Pass);
    const wrong = mschapV1Response(challenge, "nope");
    const bad = await mschapLogin(tally.tacacsPort, AuthenType.MsChap, Buffer.concat([Buffer.from([1]), challenge, wrong.lmResponse, wrong.ntResponse, Buffer.from([1])]));
    assert.equal(bad.status, AuthenStatus.Fail);
  });

  it("an ASCII login that never gives a user name fails after tacacs.loginRounds prompts", async () => {
    const client = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY });
    const r = await client.authenAscii(null, "x", { answers: ["", "", "", "", ""] });
    assert.equal(r.reply.status, AuthenStatus.Fail);
    assert.equal(r.prompts.length, 3);
    assert.ok(r.prompts.every((p) => p.status === AuthenStatus.GetUser), "r.prompts.every((p) => p.status === AuthenStatus.GetUser)");
    await client.close();
  });

  it("connections beyond tacacs.maxConnections are refused; the others keep working", async () => {
    const held: Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const s = connect(tally.tacacsPort, "127.0.0.1");
      await new Promise((r) => s.once("connect", r));
      held.push(s);
    }
    await sleep(100);
    const extra = await TacacsClient.exchangeRaw("127.0.0.1", tally.tacacsPort, Buffer.alloc(0), 500);
    assert.ok(extra.closed, "the fourth connection is closed at once");
    await tally.waitForLog((l) => l.reason === "connection-limit");
    for (const s of held) s.destroy();
    await sleep(200);
    const client = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY });
    assert.equal((await client.authenPap("bob", "bobpass")).status, AuthenStatus.Pass);
    await client.close();
  });

  it("a store that refuses the record: TACACS+ answers ERROR, RADIUS stays silent; then both recover", async () => {
    const db = new Database(join(tally.dir, "tally.db"));
    db.exec("CREATE TRIGGER refuse BEFORE INSERT ON records WHEN NEW.user = 'failme' BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END");
    try {
      const client = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY });
      const refused = await client.account({ user: "failme", flags: AcctFlag.Start, args: ["task_id=1", "service=shell"] });
      assert.equal(refused.status, AcctStatus.Error);
      const fine = await client.account({ user: "bob", flags: AcctFlag.Start, args: ["task_id=500", "service=shell"] });
      assert.equal(fine.status, AcctStatus.Success);
      await client.close();
      const r = await radclient(`127.0.0.1:${tally.acctPort}`, "acct", 'User-Name = "failme"\nAcct-Status-Type = Start\nAcct-Session-Id = "f1"');
      assert.doesNotMatch(r.stdout, /Received Accounting-Response/);
      await tally.waitForLog((l) => l.reason === "store-failed");
    } finally {
      db.exec("DROP TRIGGER refuse");
      db.close();
    }
    const again = await radclient(`127.0.0.1:${tally.acctPort}`, "acct", 'User-Name = "failme"\nAcct-Status-Type = Start\nAcct-Session-Id = "f1"');
    assert.match(again.stdout, /Received Accounting-Response/, "the NAS's retry is stored once the store works");
  });
});
