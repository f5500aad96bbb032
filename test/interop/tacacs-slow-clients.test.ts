// Slow and silent TACACS+ clients must not hold the server or other clients: against a real
// `tally serve`, 1,000 connections that send nothing and 200 that dribble a valid packet a byte a
// second (spread over twelve loopback addresses, so the per-source limit is not what saves the
// server), while Tally's own client, from another address, logs in with PAP. The dribblers are
// closed by packetTimeout, the silent ones by idleTimeout, as the server's drop counters show.
// Then the per-source limit: the (maxConnectionsPerSource+1)-th connection from one address is
// refused while another address still logs in.

import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { encodeAuthenStart } from "../../src/tacacs/bodies.ts";
import { TacacsClient } from "../../src/tacacs/client.ts";
import { AuthenAction, AuthenService, AuthenStatus, AuthenType, PacketType, TAC_PLUS_MAJOR_VERSION } from "../../src/tacacs/constants.ts";
import { sealPacket } from "../../src/tacacs/packet.ts";
import { dropCounts } from "../support/drops.ts";
import { TACACS_CONFIG, TACACS_KEY, startTally, until, within, type TallyProcess } from "./harness.ts";

const SILENT = 1000;
const DRIBBLERS = 200;
const PER_SOURCE = 200;
/** 127.0.1.1 .. 127.0.1.12: ten for the silent connections, two for the dribblers (100 each). */
const hostileAddress = (i: number) => `127.0.1.${1 + Math.floor(i / 100)}`;

interface Hostile {
  socket: Socket;
  closed: boolean;
  received: number;
  sent: number;
}

function open(port: number, localAddress: string): Promise<Hostile> {
  return new Promise((resolve, reject) => {
    const h: Hostile = { socket: connect({ host: "127.0.0.1", port, localAddress }), closed: false, received: 0, sent: 0 };
    h.socket.once("connect", () => resolve(h));
    h.socket.once("error", reject);
    h.socket.on("data", (d: Buffer) => (h.received += d.length));
    h.socket.once("close", () => (h.closed = true));
  });
}

/** Opens `count` connections, 100 at a time (the listen backlog is finite). */
async function openMany(port: number, count: number, address: (i: number) => string): Promise<Hostile[]> {
  const all: Hostile[] = [];
  for (let i = 0; i < count; i += 100) {
    all.push(...(await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, j) => open(port, address(i + j))))));
  }
  return all;
}

/** A valid PAP START: what a dribbler sends, one octet a second. */
const packet = sealPacket(
  { majorVersion: TAC_PLUS_MAJOR_VERSION, minorVersion: 1, type: PacketType.Authentication, seqNo: 1, flags: 0, sessionId: 0x51070001 },
  encodeAuthenStart({ action: AuthenAction.Login, privLvl: 1, authenType: AuthenType.Pap, authenService: AuthenService.Login, user: "bob", port: "tty1", remAddr: "192.0.2.1", data: Buffer.from("bobpass") }),
  Buffer.from(TACACS_KEY),
);

describe("slow and silent TACACS+ clients", () => {
  let tally: TallyProcess;
  const hostile: Hostile[] = [];
  let dribble: NodeJS.Timeout | undefined;

  before(async () => {
    tally = await startTally({
      ...TACACS_CONFIG,
      tacacs: { listen: "127.0.0.1:0", maxConnections: 2000, maxConnectionsPerSource: PER_SOURCE, packetTimeout: 3, idleTimeout: 5 },
      http: { listen: "127.0.0.1:0" },
    });
  });
  after(async () => {
    clearInterval(dribble);
    for (const h of hostile) h.socket.destroy();
    await tally.cleanup();
  });

  it(`${SILENT} silent and ${DRIBBLERS} byte-a-second connections: a PAP login still takes under a second`, { timeout: 60_000 }, async (t) => {
    assert.ok(packet.length > 10, "the dribbled packet takes longer than packetTimeout to send");
    const silent = await openMany(tally.tacacsPort, SILENT, hostileAddress);
    const dribblers = await openMany(tally.tacacsPort, DRIBBLERS, (i) => hostileAddress(SILENT + i));
    hostile.push(...silent, ...dribblers);
    const step = () => {
      for (const d of dribblers) {
        if (d.closed || d.sent >= packet.length) continue;
        d.socket.write(packet.subarray(d.sent, d.sent + 1));
        d.sent++;
      }
    };
    step();
    dribble = setInterval(step, 1000);
    await new Promise((r) => setTimeout(r, 1200)); // every dribbler is mid-packet

    const started = performance.now();
    const client = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY, localAddress: "127.0.0.1", timeout: 5 });
    const reply = await client.authenPap("bob", "bobpass");
    const wall = performance.now() - started;
    await client.close();
    assert.equal(reply.status, AuthenStatus.Pass);
    assert.ok(wall < 1000, `the login took ${wall.toFixed(0)} ms`);
    t.diagnostic(`PAP login with ${hostile.length} hostile connections open: ${wall.toFixed(1)} ms`);
    assert.equal(hostile.filter((h) => h.closed).length, 0, "no hostile connection was closed before the login");

    // packetTimeout 3 s closes the dribblers, idleTimeout 5 s the silent ones.
    await within(15_000, "every hostile connection closed", until(15_000, "closes", async () => (hostile.every((h) => h.closed) ? true : undefined)));
    clearInterval(dribble);
    for (const d of dribblers) assert.ok(d.sent < packet.length && d.received === 0, "cut off mid-packet, never answered");
    assert.equal(silent.reduce((n, s) => n + s.received, 0), 0);
    const drops = await dropCounts(tally.httpPort, "tacacs");
    assert.equal(drops["packet-timeout"], DRIBBLERS);
    assert.equal(drops["idle-timeout"], SILENT);
    assert.equal(drops["connection-limit"], 0);
    assert.equal(drops["source-connection-limit"], 0);
  });

  it(`the connection past maxConnectionsPerSource (${PER_SOURCE}) from one address is refused; another address still logs in`, { timeout: 30_000 }, async () => {
    const before = await dropCounts(tally.httpPort, "tacacs");
    const full = await openMany(tally.tacacsPort, PER_SOURCE, () => "127.0.2.1");
    hostile.push(...full);
    const extra = await open(tally.tacacsPort, "127.0.2.1");
    hostile.push(extra);
    await until(3000, "the extra connection closed", async () => (extra.closed ? true : undefined));
    assert.equal(extra.received, 0);
    assert.equal(full.filter((h) => h.closed).length, 0, "the first ones stay open (idleTimeout is 5 s)");

    const limited = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY, localAddress: "127.0.2.1", timeout: 3 });
    await assert.rejects(limited.authenPap("bob", "bobpass"), /closed the connection|ECONNRESET/);
    await limited.close();
    const other = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY, localAddress: "127.0.2.2", timeout: 3 });
    assert.equal((await other.authenPap("bob", "bobpass")).status, AuthenStatus.Pass);
    await other.close();

    const after = await dropCounts(tally.httpPort, "tacacs");
    assert.equal(after["source-connection-limit"]! - (before["source-connection-limit"] ?? 0), 2, "the extra connection and the limited login");
    assert.equal(after["connection-limit"], 0);
    for (const h of full) h.socket.destroy();
  });
});
