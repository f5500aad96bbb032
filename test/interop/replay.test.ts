// Replays: an attacker (or a confused NAS) sends the exact bytes of accounting packets that were
// already counted. The bytes come from real peers' traffic captured on the way in: radclient's
// datagrams through a UDP relay, and the TACACS+ client's streams through a TCP relay. Each is
// replayed while the response is still cached, after the duplicate window has passed, and after
// Tally has restarted; out of order (a Start after its Stop); and as a NAS's retransmission with
// a new Acct-Delay-Time. Every time: answered, but not one more record, and the session's totals
// do not move.

import assert from "node:assert/strict";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect, createServer, type AddressInfo, type Server } from "node:net";
import { after, before, describe, it } from "node:test";
import { TacacsClient } from "../../src/tacacs/client.ts";
import { AcctFlag, AcctStatus } from "../../src/tacacs/constants.ts";
import { decodeAcctReply } from "../../src/tacacs/bodies.ts";
import { FrameReader, openPacket } from "../../src/tacacs/packet.ts";
import { BASE_CONFIG, SECRET, TACACS_KEY, radclient, sleep, startTally, within, type TallyProcess } from "./harness.ts";

interface SessionJson {
  id: number;
  sessionId: string;
  status: string;
  inputOctets: number;
  outputOctets: number;
  sessionTime: number | null;
}

/** A UDP relay between radclient and Tally that keeps every request datagram it forwarded. */
async function udpRelay(target: number): Promise<{ port: number; requests: Buffer[]; close(): void }> {
  const front = createSocket("udp4");
  const requests: Buffer[] = [];
  const back = new Map<number, UdpSocket>();
  front.on("message", (msg, rinfo) => {
    requests.push(Buffer.from(msg));
    let upstream = back.get(rinfo.port);
    if (upstream === undefined) {
      upstream = createSocket("udp4");
      upstream.on("message", (reply) => front.send(reply, rinfo.port, rinfo.address));
      back.set(rinfo.port, upstream);
    }
    upstream.send(msg, target, "127.0.0.1");
  });
  await new Promise<void>((r) => front.bind(0, "127.0.0.1", () => r()));
  return {
    port: front.address().port,
    requests,
    close() {
      front.close();
      for (const s of back.values()) s.close();
    },
  };
}

/** Sends one datagram from a fresh socket and waits for the answer (or `null` after 1.5 s). */
async function sendDatagram(port: number, datagram: Buffer): Promise<Buffer | null> {
  const socket = createSocket("udp4");
  try {
    return await new Promise<Buffer | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), 1500);
      socket.once("message", (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      socket.send(datagram, port, "127.0.0.1");
    });
  } finally {
    socket.close();
  }
}

const ACCT = (kind: string, extra: string[]) =>
  [`User-Name = "alice"`, `Acct-Status-Type = ${kind}`, `Acct-Session-Id = "replay-1"`, "NAS-IP-Address = 192.0.2.10", "NAS-Port = 3", ...extra].join("\n") + "\n";

describe("replayed RADIUS Accounting-Requests are not counted twice", () => {
  let tally: TallyProcess;
  let relay: Awaited<ReturnType<typeof udpRelay>>;
  // The duplicate window is one second, so the later replays reach the store's own dedup.
  const config = { ...BASE_CONFIG, radius: { auth: "127.0.0.1:0", acct: "127.0.0.1:0", duplicateWindow: 1 } };

  const sessions = async () => JSON.parse(await tally.cli(["sessions", "--json", "--user", "alice"])) as SessionJson[];
  const records = async (id: number) => JSON.parse(await tally.cli(["records", "--session", String(id), "--json"])) as { kind: string }[];
  /** The one session, exactly as the real NAS's traffic left it. */
  const assertUnchanged = async (when: string) => {
    const all = await sessions();
    assert.equal(all.length, 1, `${when}: one session`);
    const s = all[0]!;
    assert.deepEqual(
      { status: s.status, in: s.inputOctets, out: s.outputOctets, time: s.sessionTime },
      { status: "closed", in: 3000, out: 5000, time: 120 },
      `${when}: totals`,
    );
    assert.deepEqual((await records(s.id)).map((r) => r.kind), ["start", "interim", "stop"], `${when}: records`);
  };

  before(async () => {
    tally = await startTally(config);
    relay = await udpRelay(tally.acctPort);
    const server = `127.0.0.1:${relay.port}`;
    for (const packet of [
      ACCT("Start", []),
      ACCT("Interim-Update", ["Acct-Input-Octets = 1000", "Acct-Output-Octets = 2000", "Acct-Session-Time = 60"]),
      ACCT("Stop", ["Acct-Input-Octets = 3000", "Acct-Output-Octets = 5000", "Acct-Session-Time = 120"]),
    ]) {
      const r = await radclient(server, "acct", packet);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Received Accounting-Response/);
    }
    assert.equal(relay.requests.length, 3, "radclient sent three datagrams, each answered at once");
  });
  after(async () => {
    relay?.close();
    await tally?.cleanup();
  });

  it("the real session is stored once", async () => {
    await assertUnchanged("before any replay");
  });

  it("replayed at once: the cached Accounting-Response, byte for byte, and nothing stored", async () => {
    // From the relay's source address, as the original came: the duplicate cache keys on it.
    const first = await Promise.all(relay.requests.map((d) => sendDatagram(tally.acctPort, d)));
    const again = await Promise.all(relay.requests.map((d) => sendDatagram(tally.acctPort, d)));
    for (let i = 0; i < 3; i++) {
      assert.ok(first[i] !== null, `replay ${i} answered`);
      assert.equal(first[i]![0], 5, "Accounting-Response");
      assert.deepEqual(again[i], first[i], "the same answer each time");
    }
    await assertUnchanged("after an immediate replay");
  });

  it("replayed after the duplicate window: answered from the store's dedup, nothing counted", async () => {
    await sleep(2500);
    for (const d of relay.requests) assert.ok((await sendDatagram(tally.acctPort, d)) !== null, "answered");
    await assertUnchanged("after the window");
  });

  it("a Start replayed after its Stop does not reopen the session", async () => {
    await sleep(1200);
    assert.ok((await sendDatagram(tally.acctPort, relay.requests[0]!)) !== null, "answered");
    await assertUnchanged("after a late Start");
  });

  it("a NAS retransmission with a new identifier and Acct-Delay-Time is the same record", async () => {
    const r = await radclient(`127.0.0.1:${tally.acctPort}`, "acct", ACCT("Interim-Update", ["Acct-Input-Octets = 1000", "Acct-Output-Octets = 2000", "Acct-Session-Time = 60", "Acct-Delay-Time = 7"]));
    assert.equal(r.code, 0, r.stderr);
    await assertUnchanged("after a retransmission with Acct-Delay-Time");
  });

  it("replayed after a restart: still not counted", async () => {
    await tally.stop();
    tally = await startTally(config, tally.dir);
    for (const d of relay.requests) assert.ok((await sendDatagram(tally.acctPort, d)) !== null, "answered");
    await assertUnchanged("after a restart");
    const everyone = JSON.parse(await tally.cli(["sessions", "--json"])) as unknown[];
    assert.equal(everyone.length, 1, "no session under another user appeared");
  });

  it("a replay with one octet changed fails the Request Authenticator and is dropped", async () => {
    const forged = Buffer.from(relay.requests[2]!);
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 0x01; // the last attribute's last octet
    assert.equal(await sendDatagram(tally.acctPort, forged), null, "no answer");
    await tally.waitForLog((l) => l.reason === "bad-authenticator");
    await assertUnchanged("after a forged replay");
  });
});

/** A TCP relay that keeps, per connection, every byte the client sent. */
async function tcpRelay(target: number): Promise<{ port: number; streams: Buffer[][]; close(): Promise<void> }> {
  const streams: Buffer[][] = [];
  const server: Server = createServer((front) => {
    const chunks: Buffer[] = [];
    streams.push(chunks);
    const back = connect(target, "127.0.0.1");
    front.on("data", (d: Buffer) => {
      chunks.push(Buffer.from(d));
      back.write(d);
    });
    back.on("data", (d: Buffer) => front.write(d));
    front.on("end", () => back.end());
    back.on("end", () => front.end());
    front.on("error", () => back.destroy());
    back.on("error", () => front.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    streams,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Writes `bytes` on a new connection; resolves with the accounting replies' statuses. */
async function replayStream(port: number, bytes: Buffer): Promise<number[]> {
  const socket = connect(port, "127.0.0.1");
  const reader = new FrameReader({ maxBodyLength: 65536 });
  const statuses: number[] = [];
  socket.write(bytes);
  await within(5000, "TACACS+ replay answered", new Promise<void>((resolve, reject) => {
    socket.on("data", (chunk: Buffer) => {
      for (const f of reader.push(chunk).frames) {
        const reply = decodeAcctReply(openPacket(f.header, f.rawBody, Buffer.from(TACACS_KEY)));
        if (!reply.ok) return reject(new Error("undecodable reply"));
        statuses.push(reply.value.status);
      }
    });
    socket.on("close", () => resolve());
    socket.on("error", reject);
  }));
  return statuses;
}

describe("replayed TACACS+ accounting packets are not counted twice", () => {
  let tally: TallyProcess;
  let relay: Awaited<ReturnType<typeof tcpRelay>>;
  const config = {
    store: { sqlite: "./tally.db" },
    radius: { auth: null, acct: null },
    tacacs: { listen: "127.0.0.1:0" },
    clients: [{ name: "lab", address: "127.0.0.0/8", tacacsKey: TACACS_KEY, secret: SECRET }],
    users: [{ name: "bob", password: "bobpass" }],
  };
  const base = { user: "bob", port: "tty7", remAddr: "198.51.100.7" };

  const state = async () => {
    const sessions = JSON.parse(await tally.cli(["sessions", "--json", "--user", "bob"])) as SessionJson[];
    const audit = JSON.parse(await tally.cli(["audit", "--json", "--user", "bob"])) as unknown[];
    const records = sessions.length === 1 ? (JSON.parse(await tally.cli(["records", "--session", String(sessions[0]!.id), "--json"])) as { kind: string }[]) : [];
    return {
      sessions: sessions.map((s) => ({ id: s.sessionId, status: s.status, in: s.inputOctets, out: s.outputOctets })),
      records: records.map((r) => r.kind),
      commands: audit.length,
    };
  };
  const expected = { sessions: [{ id: "77", status: "closed", in: 5000, out: 7000 }], records: ["start", "interim", "stop"], commands: 1 };

  before(async () => {
    tally = await startTally(config);
    relay = await tcpRelay(tally.tacacsPort);
    // A connection per session, as most devices do: each relayed stream is one packet.
    const client = await TacacsClient.connect({ host: "127.0.0.1", port: relay.port, key: TACACS_KEY });
    try {
      const now = Math.floor(Date.now() / 1000);
      for (const req of [
        { ...base, flags: AcctFlag.Start, args: ["task_id=77", "service=shell", `start_time=${now - 60}`] },
        { ...base, flags: AcctFlag.Watchdog | AcctFlag.Start, args: ["task_id=77", "service=shell", "elapsed_time=30", "bytes_in=1000", "bytes_out=2000"] },
        { ...base, flags: AcctFlag.Stop, args: ["task_id=77", "service=shell", "elapsed_time=60", "bytes_in=5000", "bytes_out=7000", `stop_time=${now}`] },
        { ...base, flags: AcctFlag.Stop, args: ["task_id=78", "service=shell", "priv-lvl=15", "cmd=show", "cmd-arg=version", "cmd-arg=<cr>"] },
      ]) {
        assert.equal((await client.account(req)).status, AcctStatus.Success);
      }
    } finally {
      await client.close();
    }
    assert.equal(relay.streams.length, 4, "four connections, one per packet");
  });
  after(async () => {
    await relay?.close();
    await tally?.cleanup();
  });

  it("the real session and command are stored once", async () => {
    assert.deepEqual(await state(), expected);
  });

  it("each captured connection replayed twice: SUCCESS again, nothing counted", async () => {
    for (let round = 0; round < 2; round++) {
      for (const chunks of relay.streams) assert.deepEqual(await replayStream(tally.tacacsPort, Buffer.concat(chunks)), [AcctStatus.Success]);
    }
    assert.deepEqual(await state(), expected);
  });

  it("all four packets replayed back to back on one connection: whatever is answered is SUCCESS, nothing counted", async () => {
    const statuses = await replayStream(tally.tacacsPort, Buffer.concat(relay.streams.flat()));
    assert.ok(statuses.length >= 1, "answered");
    assert.ok(statuses.every((s) => s === AcctStatus.Success), `all SUCCESS: ${statuses.join(",")}`);
    assert.deepEqual(await state(), expected);
  });

  it("replayed after a restart: still not counted", async () => {
    await tally.stop();
    tally = await startTally(config, tally.dir);
    for (const chunks of relay.streams) assert.deepEqual(await replayStream(tally.tacacsPort, Buffer.concat(chunks)), [AcctStatus.Success]);
    assert.deepEqual(await state(), expected);
  });

  it("a replay with its arg count altered no longer decodes: ERROR, and nothing stored", async () => {
    // MD5 obfuscation has no integrity check (RFC 8907 section 4.5): a flipped bit flips the same
    // plaintext bit. Here it lands on arg_cnt (body octet 8), so the body's lengths no longer add up.
    const forged = Buffer.from(Buffer.concat(relay.streams[2]!));
    forged[12 + 8] = forged[12 + 8]! ^ 0x40;
    assert.deepEqual(await replayStream(tally.tacacsPort, forged), [AcctStatus.Error]);
    await tally.waitForLog((l) => l.reason === "bad-key-or-malformed");
    assert.deepEqual(await state(), expected);
  });
});
