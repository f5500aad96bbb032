// A real `tally serve` driven by Tally's own TACACS+ client: authorization (permit, deny,
// PASS_ADD, PASS_REPL), enable, accounting start / watchdog / stop into the session store and
// command accounting into the audit trail; then hostile input (wrong key, truncated packet, bad
// seq_no, oversized length, the UNENCRYPTED flag), after which the server still serves.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeAcctReply, decodeAuthenReply, encodeAcctRequest, encodeAuthenStart } from "../../src/tacacs/bodies.ts";
import { TacacsClient } from "../../src/tacacs/client.ts";
import { AcctFlag, AcctStatus, AuthenAction, AuthenService, AuthenStatus, AuthenType, AuthorStatus, HeaderFlag, PacketType } from "../../src/tacacs/constants.ts";
import { encodeHeader } from "../../src/tacacs/header.ts";
import { openPacket, sealPacket } from "../../src/tacacs/packet.ts";
import { decodeHeader } from "../../src/tacacs/header.ts";
import { TACACS_CONFIG, TACACS_KEY, startTally, type TallyProcess } from "./harness.ts";

const key = Buffer.from(TACACS_KEY);

describe("TACACS+ server with Tally's client", () => {
  let tally: TallyProcess;
  let client: TacacsClient;

  before(async () => {
    tally = await startTally({ ...TACACS_CONFIG, tacacs: { listen: "127.0.0.1:0", idleTimeout: 1 } });
    client = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY });
  });
  after(async () => {
    await client.close();
    await tally.cleanup();
  });

  describe("authorization", () => {
    it("a shell start gets priv-lvl=15 added (PASS_ADD)", async () => {
      const r = await client.authorize({ user: "bob", port: "tty1", remAddr: "192.0.2.9", args: ["service=shell", "cmd="] });
      assert.equal(r.status, AuthorStatus.PassAdd);
      assert.deepEqual(r.args, ["priv-lvl=15"]);
    });

    it("a shell start asking for priv-lvl 1 gets its list replaced (PASS_REPL)", async () => {
      const r = await client.authorize({ user: "bob", args: ["service=shell", "cmd=", "priv-lvl*1"] });
      assert.equal(r.status, AuthorStatus.PassRepl);
      assert.deepEqual(r.args, ["service=shell", "cmd=", "priv-lvl=15"]);
    });

    it("commands: show permitted, reload denied, anything unmatched denied", async () => {
      const show = await client.authorize({ user: "bob", args: ["service=shell", "cmd=show", "cmd-arg=version", "cmd-arg=<cr>"] });
      assert.equal(show.status, AuthorStatus.PassAdd);
      const reload = await client.authorize({ user: "bob", args: ["service=shell", "cmd=reload", "cmd-arg=<cr>"] });
      assert.equal(reload.status, AuthorStatus.Fail);
      const conf = await client.authorize({ user: "bob", args: ["service=shell", "cmd=configure", "cmd-arg=terminal"] });
      assert.equal(conf.status, AuthorStatus.Fail);
      const nobody = await client.authorize({ user: "mallory", args: ["service=shell", "cmd="] });
      assert.equal(nobody.status, AuthorStatus.Fail);
    });
  });

  describe("authentication", () => {
    it("enable: a user's own enable password, or the login password up to their shell priv-lvl", async () => {
      assert.equal((await client.authenEnable("eve", "evenable", 15)).status, AuthenStatus.Pass);
      assert.equal((await client.authenEnable("eve", "evepass", 15)).status, AuthenStatus.Fail);
      assert.equal((await client.authenEnable("bob", "bobpass", 15)).status, AuthenStatus.Pass);
      assert.equal((await client.authenEnable("bob", "wrong", 15)).status, AuthenStatus.Fail);
    });

    it("ASCII login without a user name: GETUSER, then GETPASS with NOECHO", async () => {
      const r = await client.authenAscii(null, "bobpass", { answers: ["bob"] });
      assert.equal(r.reply.status, AuthenStatus.Pass);
      assert.deepEqual(r.prompts.map((p) => [p.status, p.serverMsg, p.flags]), [
        [AuthenStatus.GetUser, "Username: ", 0],
        [AuthenStatus.GetPass, "Password: ", 1],
      ]);
    });

    it("CHAP passes with the right password", async () => {
      assert.equal((await client.authenChap("bob", "bobpass")).status, AuthenStatus.Pass);
      assert.equal((await client.authenChap("bob", "bobpas")).status, AuthenStatus.Fail);
    });
  });

  describe("accounting", () => {
    it("start, watchdog with update, and stop make one closed TACACS+ session with byte counts", async () => {
      const base = { user: "bob", port: "tty3", remAddr: "198.51.100.4" };
      const start = await client.account({ ...base, flags: AcctFlag.Start, args: ["task_id=41", "service=shell", `start_time=${Math.floor(Date.now() / 1000) - 60}`] });
      assert.equal(start.status, AcctStatus.Success);
      const watchdog = await client.account({ ...base, flags: AcctFlag.Watchdog | AcctFlag.Start, args: ["task_id=41", "service=shell", "elapsed_time=30", "bytes_in=1000", "bytes_out=2000"] });
      assert.equal(watchdog.status, AcctStatus.Success);
      const [open] = (JSON.parse(await tally.cli(["sessions", "--json", "--user", "bob"])) as { status: string; inputOctets: number }[]);
      assert.equal(open!.status, "open");
      assert.equal(open!.inputOctets, 1000);
      const stop = await client.account({
        ...base,
        flags: AcctFlag.Stop,
        args: ["task_id=41", "service=shell", "elapsed_time=60", "bytes_in=5000", "bytes_out=7000", "paks_in=50", "paks_out=70", `stop_time=${Math.floor(Date.now() / 1000)}`],
      });
      assert.equal(stop.status, AcctStatus.Success);
      const sessions = JSON.parse(await tally.cli(["sessions", "--json", "--user", "bob"])) as Record<string, unknown>[];
      assert.equal(sessions.length, 1);
      const s = sessions[0]!;
      assert.equal(s.protocol, "tacacs");
      assert.equal(s.sessionId, "41");
      assert.equal(s.nas, "127.0.0.1");
      assert.equal(s.nasPort, "tty3");
      assert.equal(s.clientAddress, "198.51.100.4");
      assert.equal(s.status, "closed");
      assert.equal(s.inputOctets, 5000);
      assert.equal(s.outputOctets, 7000);
      assert.equal(s.inputPackets, 50);
      assert.equal(s.sessionTime, 60);
      const records = JSON.parse(await tally.cli(["records", "--session", String(s.id), "--json"])) as { kind: string; attributes: { name: string; value: string }[] }[];
      assert.deepEqual(records.map((r) => r.kind), ["start", "interim", "stop"]);
      assert.ok(records[2]!.attributes.some((a) => a.name === "bytes_out" && a.value === "7000"), "raw pairs kept");
    });

    it("command accounting lands in the audit trail, not in sessions", async () => {
      const r = await client.account({
        user: "bob",
        port: "tty3",
        remAddr: "198.51.100.4",
        flags: AcctFlag.Stop,
        args: ["task_id=42", "service=shell", "priv-lvl=15", "cmd=show", "cmd-arg=ip", "cmd-arg=route", "cmd-arg=<cr>"],
      });
      assert.equal(r.status, AcctStatus.Success);
      const audit = JSON.parse(await tally.cli(["audit", "--json", "--user", "bob"])) as Record<string, unknown>[];
      assert.equal(audit.length, 1);
      assert.equal(audit[0]!.command, "show ip route");
      assert.equal(audit[0]!.privLvl, "15");
      assert.equal(audit[0]!.port, "tty3");
      assert.equal(audit[0]!.remoteAddress, "198.51.100.4");
      const sessions = JSON.parse(await tally.cli(["sessions", "--json", "--user", "bob"])) as { sessionId: string }[];
      assert.ok(!sessions.some((s) => s.sessionId === "42"), "!sessions.some((s) => s.sessionId === \"42\")");
    });

    it("flags other than START, STOP, WATCHDOG, WATCHDOG|START get ERROR", async () => {
      const r = await client.account({ user: "bob", flags: AcctFlag.Start | AcctFlag.Stop, args: ["task_id=43"] });
      assert.equal(r.status, AcctStatus.Error);
    });

    it("single-connect: many concurrent sessions on one connection are all committed", async () => {
      const shared = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY, singleConnect: true });
      try {
        const replies = await Promise.all(
          Array.from({ length: 40 }, (_, i) => shared.account({ user: "carol", port: `vty${i}`, flags: AcctFlag.Start, args: [`task_id=${i}`, "service=shell"] })),
        );
        assert.ok(replies.every((r) => r.status === AcctStatus.Success), "replies.every((r) => r.status === AcctStatus.Success)");
      } finally {
        await shared.close();
      }
      const sessions = JSON.parse(await tally.cli(["sessions", "--json", "--user", "carol"])) as unknown[];
      assert.equal(sessions.length, 40);
    });
  });

  describe("hostile input", () => {
    const port = () => tally.tacacsPort;
    const startBody = encodeAuthenStart({ action: AuthenAction.Login, privLvl: 1, authenType: AuthenType.Pap, authenService: AuthenService.Login, user: "bob", port: "", remAddr: "", data: Buffer.from("bobpass") });
    const header = (over: Partial<Parameters<typeof sealPacket>[0]> = {}) => ({ majorVersion: 0xc, minorVersion: 1, type: PacketType.Authentication, seqNo: 1, flags: 0, sessionId: 0x1234, ...over });

    function replyOf(data: Buffer) {
      const h = decodeHeader(data);
      assert.ok(h.ok, "a reply header");
      return { header: h.header, body: openPacket(h.header, data.subarray(12, 12 + h.header.length), key) };
    }

    it("a wrong key gets an ERROR the client cannot read, and the connection closes", async () => {
      const wrong = await TacacsClient.connect({ host: "127.0.0.1", port: port(), key: "not-the-key" });
      await assert.rejects(wrong.authenPap("bob", "bobpass"), /key/);
      await wrong.close();
      const r = await TacacsClient.exchangeRaw("127.0.0.1", port(), sealPacket(header(), startBody, Buffer.from("not-the-key")), 500);
      assert.ok(r.closed, "r.closed");
      const reply = replyOf(r.data);
      const body = decodeAuthenReply(reply.body);
      assert.ok(body.ok, "body.ok");
      assert.equal(body.value.status, AuthenStatus.Error);
    });

    it("a bad seq_no (a session starting at 3) gets ERROR with seq_no 4", async () => {
      const r = await TacacsClient.exchangeRaw("127.0.0.1", port(), sealPacket(header({ seqNo: 3 }), startBody, key), 500);
      const reply = replyOf(r.data);
      assert.equal(reply.header.seqNo, 4);
      const body = decodeAuthenReply(reply.body);
      assert.ok(body.ok && body.value.status === AuthenStatus.Error, "body.ok && body.value.status === AuthenStatus.Error");
      assert.ok(r.closed, "r.closed");
    });

    it("an oversized length closes the connection before any body is read", async () => {
      const h = encodeHeader({ majorVersion: 0xc, minorVersion: 0, type: PacketType.Accounting, seqNo: 1, flags: 0, sessionId: 9, length: 50 * 1024 * 1024 });
      const r = await TacacsClient.exchangeRaw("127.0.0.1", port(), h, 1000);
      assert.ok(r.closed, "r.closed");
      assert.equal(r.data.length, 0);
      await tally.waitForLog((l) => l.reason === "body-too-large");
    });

    it("a truncated packet is closed by the idle timeout", async () => {
      const full = sealPacket(header(), startBody, key);
      const r = await TacacsClient.exchangeRaw("127.0.0.1", port(), full.subarray(0, full.length - 5), 3000);
      assert.ok(r.closed, "closed after tacacs.idleTimeout");
      assert.equal(r.data.length, 0);
      await tally.waitForLog((l) => l.reason === "idle-timeout");
    });

    it("the UNENCRYPTED flag is refused outside TLS", async () => {
      const body = encodeAcctRequest({ flags: AcctFlag.Start, authenMethod: 6, privLvl: 1, authenType: 1, authenService: 1, user: "bob", port: "", remAddr: "", args: ["task_id=99"] });
      const r = await TacacsClient.exchangeRaw("127.0.0.1", port(), sealPacket(header({ type: PacketType.Accounting, minorVersion: 0, flags: HeaderFlag.Unencrypted }), body, key), 500);
      const reply = replyOf(r.data);
      const decoded = decodeAcctReply(reply.body);
      assert.ok(decoded.ok && decoded.value.status === AcctStatus.Error, "decoded.ok && decoded.value.status === AcctStatus.Error");
      assert.ok(r.closed, "r.closed");
      const sessions = JSON.parse(await tally.cli(["sessions", "--json", "--user", "bob"])) as { sessionId: string }[];
      assert.ok(!sessions.some((s) => s.sessionId === "99"), "nothing was stored");
    });

    it("after all that, the server still serves", async () => {
      assert.equal((await client.authenPap("bob", "bobpass")).status, AuthenStatus.Pass);
    });
  });
});
