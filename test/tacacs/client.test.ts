// TacacsClient against a tiny TACACS+ server written here with the codec (not Tally's server):
// PAP, CHAP, the ASCII GETUSER/GETPASS dialogue, enable, authorization, accounting,
// single-connect multiplexing and its refusal, timeouts, a wrong key and raw exchanges.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import {
  decodeAcctRequest,
  decodeAuthenContinue,
  decodeAuthenStart,
  decodeAuthorRequest,
  encodeAcctReply,
  encodeAuthenReply,
  encodeAuthorResponse,
  parseArg,
} from "../../src/tacacs/bodies.ts";
import {
  AcctFlag,
  AcctStatus,
  AuthenContinueFlag,
  AuthenReplyFlag,
  AuthenService,
  AuthenStatus,
  AuthenType,
  AuthorStatus,
  HeaderFlag,
  PacketType,
} from "../../src/tacacs/constants.ts";
import type { TacacsHeader } from "../../src/tacacs/header.ts";
import { TacacsClient } from "../../src/tacacs/client.ts";
import { FrameReader, openPacket, sealPacket } from "../../src/tacacs/packet.ts";

const KEY = "s3cret-key";
const USERS = new Map([["alice", "wonderland"], ["admin", "enable-me"]]);

interface TestServer {
  port: number;
  /** TCP connections accepted so far. */
  connections: number;
  /** Minor version of every packet received, in order. */
  minorVersions: number[];
  close(): Promise<void>;
}

/** Per-session state of the ASCII dialogue. */
type Ascii = { want: "user" } | { want: "pass"; user: string; service: number };

/**
 * A minimal server: PAP/CHAP/ASCII against USERS, authorization echoes the request's args
 * (honouring `delay=<ms>`, and never answering user "silent"), accounting always succeeds.
 * Without single-connect it closes the connection after each session, as §4.3 allows.
 */
function startServer(opts: { singleConnect: boolean }): Promise<TestServer> {
  const key = Buffer.from(KEY);
  const state: TestServer = { port: 0, connections: 0, minorVersions: [], close: () => Promise.resolve() };
  const sockets = new Set<Socket>();
  const server = createServer((socket: Socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const reader = new FrameReader({ maxBodyLength: 65536 });
    const ascii = new Map<number, Ascii>();
    let multiplexed: boolean | undefined;
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      const { frames, failure } = reader.push(chunk);
      if (failure) return void socket.destroy();
      for (const { header, rawBody } of frames) {
        state.minorVersions.push(header.minorVersion);
        multiplexed ??= opts.singleConnect && (header.flags & HeaderFlag.SingleConnect) !== 0;
        const reply = (body: Buffer, final: boolean) => {
          const flags = multiplexed ? HeaderFlag.SingleConnect : 0;
          socket.write(sealPacket({ ...header, seqNo: header.seqNo + 1, flags }, body, key));
          if (final && !multiplexed) socket.end();
        };
        handle(header, openPacket(header, rawBody, key), ascii, reply);
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      state.port = (server.address() as AddressInfo).port;
      state.close = () =>
        new Promise<void>((done) => {
          server.close(() => done());
          for (const s of sockets) s.destroy();
        });
      resolve(state);
    });
  });
}

const authenReply = (status: number, serverMsg = "", flags = 0) => encodeAuthenReply({ status, flags, serverMsg, data: Buffer.alloc(0) });

function handle(h: TacacsHeader, body: Buffer, ascii: Map<number, Ascii>, reply: (b: Buffer, final: boolean) => void): void {
  if (h.type === PacketType.Authentication && h.seqNo === 1) {
    const r = decodeAuthenStart(body);
    // §4.5: a body that does not add up gets an empty reply body.
    if (!r.ok) return reply(Buffer.alloc(0), true);
    const s = r.value;
    const password = USERS.get(s.user);
    if (s.authenType === AuthenType.Pap) {
      return reply(authenReply(password === s.data.toString() ? AuthenStatus.Pass : AuthenStatus.Fail), true);
    }
    if (s.authenType === AuthenType.Chap) {
      const [id, challenge, response] = [s.data.subarray(0, 1), s.data.subarray(1, -16), s.data.subarray(-16)];
      const expected = createHash("md5").update(id).update(password ?? "").update(challenge).digest();
      const ok = password !== undefined && challenge.length === 16 && expected.equals(response);
      return reply(authenReply(ok ? AuthenStatus.Pass : AuthenStatus.Fail), true);
    }
    if (s.user === "") {
      ascii.set(h.sessionId, { want: "user" });
      return reply(authenReply(AuthenStatus.GetUser, "Username: "), false);
    }
    ascii.set(h.sessionId, { want: "pass", user: s.user, service: s.authenService });
    return reply(authenReply(AuthenStatus.GetPass, "Password: ", AuthenReplyFlag.NoEcho), false);
  }
  if (h.type === PacketType.Authentication) {
    const r = decodeAuthenContinue(body);
    const st = ascii.get(h.sessionId);
    if (!r.ok || !st) return reply(authenReply(AuthenStatus.Error, "bad continue"), true);
    if (r.value.flags & AuthenContinueFlag.Abort) return void ascii.delete(h.sessionId);
    const answer = r.value.userMsg.toString();
    if (st.want === "user") {
      if (answer === "curious") return reply(authenReply(AuthenStatus.GetData, "Favourite colour? "), false);
      ascii.set(h.sessionId, { want: "pass", user: answer, service: AuthenService.Login });
      return reply(authenReply(AuthenStatus.GetPass, "Password: ", AuthenReplyFlag.NoEcho), false);
    }
    ascii.delete(h.sessionId);
    const ok = USERS.get(st.user) === answer;
    return reply(authenReply(ok ? AuthenStatus.Pass : AuthenStatus.Fail, st.service === AuthenService.Enable ? "enable" : ""), true);
  }
  if (h.type === PacketType.Authorization) {
    const r = decodeAuthorRequest(body);
    if (!r.ok) {
      return reply(encodeAuthorResponse({ status: AuthorStatus.Error, args: [], serverMsg: "undecodable", data: Buffer.alloc(0) }), true);
    }
    if (r.value.user === "silent") return;
    const delay = Number(r.value.args.map(parseArg).find((a) => a.name === "delay")?.value ?? 0);
    const response = encodeAuthorResponse({ status: AuthorStatus.PassAdd, args: [`user=${r.value.user}`, ...r.value.args], serverMsg: "", data: Buffer.alloc(0) });
    setTimeout(() => reply(response, true), delay);
    return;
  }
  const r = decodeAcctRequest(body);
  const status = r.ok && r.value.flags & AcctFlag.Start ? AcctStatus.Success : AcctStatus.Error;
  reply(encodeAcctReply({ status, serverMsg: r.ok ? `recorded ${r.value.user}` : "", data: Buffer.alloc(0) }), true);
}

describe("TacacsClient, a connection per session", () => {
  let server: TestServer;
  let client: TacacsClient;
  before(async () => {
    server = await startServer({ singleConnect: false });
    client = await TacacsClient.connect({ host: "127.0.0.1", port: server.port, key: KEY });
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  test("PAP pass and fail, each on its own connection, minor version 1", async () => {
    const before = server.connections;
    assert.equal((await client.authenPap("alice", "wonderland")).status, AuthenStatus.Pass);
    assert.equal((await client.authenPap("alice", "nope", { port: "tty3", remAddr: "192.0.2.1" })).status, AuthenStatus.Fail);
    assert.equal(server.connections - before, 2);
    assert.deepEqual(server.minorVersions.slice(-2), [1, 1]);
  });

  test("CHAP: the server can check MD5(id, password, challenge)", async () => {
    assert.equal((await client.authenChap("alice", "wonderland")).status, AuthenStatus.Pass);
    assert.equal((await client.authenChap("alice", "wrong")).status, AuthenStatus.Fail);
  });

  test("ASCII: GETUSER answered with the first answer, GETPASS with the password", async () => {
    const { reply, prompts } = await client.authenAscii(null, "wonderland", { answers: ["alice"] });
    assert.equal(reply.status, AuthenStatus.Pass);
    assert.deepEqual(prompts.map((p) => [p.status, p.serverMsg]), [[AuthenStatus.GetUser, "Username: "], [AuthenStatus.GetPass, "Password: "]]);
    assert.equal(prompts[1]!.flags & AuthenReplyFlag.NoEcho, AuthenReplyFlag.NoEcho);
    assert.equal(server.minorVersions.at(-1), 0);
  });

  test("ASCII with the user in START gets only GETPASS; a wrong password fails", async () => {
    const ok = await client.authenAscii("alice", "wonderland");
    assert.deepEqual(ok.prompts.map((p) => p.status), [AuthenStatus.GetPass]);
    assert.equal(ok.reply.status, AuthenStatus.Pass);
    assert.equal((await client.authenAscii("alice", "x")).reply.status, AuthenStatus.Fail);
  });

  test("ASCII: a prompt with no answer left aborts the session and rejects", async () => {
    await assert.rejects(client.authenAscii(null, "pw", { answers: ["curious"] }), /aborted: no answer left for the prompt "Favourite colour\? "/);
  });

  test("enable: ASCII with service ENABLE", async () => {
    const reply = await client.authenEnable("admin", "enable-me", 15);
    assert.deepEqual([reply.status, reply.serverMsg], [AuthenStatus.Pass, "enable"]);
  });

  test("authorization and accounting", async () => {
    const author = await client.authorize({ user: "alice", args: ["service=shell", "cmd*"] });
    assert.deepEqual([author.status, author.args], [AuthorStatus.PassAdd, ["user=alice", "service=shell", "cmd*"]]);
    const acct = await client.account({ flags: AcctFlag.Start, user: "alice", args: ["task_id=1"] });
    assert.deepEqual([acct.status, acct.serverMsg], [AcctStatus.Success, "recorded alice"]);
  });

  test("a reply that does not come in time rejects with a clear error", async () => {
    const impatient = await TacacsClient.connect({ host: "127.0.0.1", port: server.port, key: KEY, timeout: 0.2 });
    await assert.rejects(impatient.authorize({ user: "silent", args: [] }), /no reply from TACACS\+ server 127\.0\.0\.1:\d+ within 0\.2 s \(Authorization session 0x[0-9a-f]{8}, seq_no 1\)/);
    await impatient.close();
  });

  test("a wrong key: an undecodable reply, or the empty body of §4.5, rejects naming the key", async () => {
    const wrong = await TacacsClient.connect({ host: "127.0.0.1", port: server.port, key: "not-the-key" });
    await assert.rejects(
      wrong.authorize({ user: "alice", args: ["service=shell"] }),
      /bad TACACS\+ reply \(Authorization session 0x[0-9a-f]{8}, seq_no 1\): it did not decode \(length-mismatch at offset \d+\); the server's key is probably different/,
    );
    await assert.rejects(wrong.authenPap("alice", "wonderland"), /empty body: the server could not read the request .* is the key the same on both sides\?/);
    await wrong.close();
  });

  test("exchangeRaw: garbage makes the server hang up", async () => {
    const r = await TacacsClient.exchangeRaw("127.0.0.1", server.port, Buffer.from("GET / HTTP/1.0\r\n\r\n"), 2000);
    assert.deepEqual(r, { data: Buffer.alloc(0), closed: true });
  });

  test("a closed client refuses new sessions", async () => {
    const c = await TacacsClient.connect({ host: "127.0.0.1", port: server.port, key: KEY });
    await c.close();
    await assert.rejects(c.authenPap("alice", "wonderland"), /closed/);
  });
});

describe("TacacsClient, single-connect", () => {
  test("concurrent sessions share one connection; replies are matched by session_id", async () => {
    const server = await startServer({ singleConnect: true });
    const client = await TacacsClient.connect({ host: "127.0.0.1", port: server.port, key: KEY, singleConnect: true });
    // Sessions started together: the first negotiates, the others wait for its answer.
    const early = await Promise.all([1, 2, 3].map((n) => client.authorize({ user: `u${n}`, args: [] })));
    assert.deepEqual(early.map((r) => r.args[0]), ["user=u1", "user=u2", "user=u3"]);
    // The slow session's reply arrives after the fast one's, on the same connection.
    const order: string[] = [];
    const slow = client.authorize({ user: "slow", args: ["delay=150"] }).then((r) => (order.push("slow"), r));
    const fast = client.authorize({ user: "fast", args: [] }).then((r) => (order.push("fast"), r));
    const ascii = client.authenAscii(null, "wonderland", { answers: ["alice"] });
    const [s, f, a] = await Promise.all([slow, fast, ascii]);
    assert.deepEqual(order, ["fast", "slow"]);
    assert.equal(s.args[0], "user=slow");
    assert.equal(f.args[0], "user=fast");
    assert.equal(a.reply.status, AuthenStatus.Pass);
    assert.equal(server.connections, 1);
    await client.close();
    await server.close();
  });

  test("a server that does not agree gets a connection per session instead", async () => {
    const server = await startServer({ singleConnect: false });
    const client = await TacacsClient.connect({ host: "127.0.0.1", port: server.port, key: KEY, singleConnect: true });
    const replies = await Promise.all([1, 2, 3].map((n) => client.authorize({ user: `u${n}`, args: [] })));
    assert.deepEqual(replies.map((r) => r.args[0]), ["user=u1", "user=u2", "user=u3"]);
    assert.equal((await client.authenPap("alice", "wonderland")).status, AuthenStatus.Pass);
    assert.equal(server.connections, 4);
    await client.close();
    await server.close();
  });

  test("a timeout on a shared connection fails only that session", async () => {
    const server = await startServer({ singleConnect: true });
    const client = await TacacsClient.connect({ host: "127.0.0.1", port: server.port, key: KEY, singleConnect: true, timeout: 0.3 });
    await client.authorize({ user: "first", args: [] });
    const [silent, ok] = await Promise.allSettled([client.authorize({ user: "silent", args: [] }), client.authorize({ user: "ok", args: ["delay=50"] })]);
    assert.equal(silent.status, "rejected");
    assert.match(String((silent as PromiseRejectedResult).reason), /within 0\.3 s/);
    assert.equal(ok.status, "fulfilled");
    assert.equal(server.connections, 1);
    await client.close();
    await server.close();
  });

  test("connect() fails when nothing listens", async () => {
    const server = await startServer({ singleConnect: true });
    const port = server.port;
    await server.close();
    await assert.rejects(TacacsClient.connect({ host: "127.0.0.1", port, key: KEY, singleConnect: true }), /cannot connect to TACACS\+ server 127\.0\.0\.1:\d+/);
  });
});
