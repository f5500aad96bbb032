// The RadSec listener's edges, against a real `tally serve`, with Node's own TLS client and the
// project's RADIUS codec (secret "radsec"): who gets refused before and after the handshake,
// many requests on one connection, a bad Length, the connection caps, the handshake timeout, and
// a certificate swapped by SIGHUP while a connection stays up.

import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { connect as netConnect, createServer as netCreateServer, type AddressInfo, type Socket } from "node:net";
import { X509Certificate } from "node:crypto";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { after, before, describe, it } from "node:test";
import { AcctStatusType, Attr, PacketCode, buildAccessRequest, buildAccountingRequest, buildStatusServer, decodePacket, verifyResponse } from "../../src/radius/index.ts";
import { RadiusStreamReader } from "../../src/radius/stream.ts";
import { startTally, until, type TallyProcess } from "../interop/harness.ts";
import { makePki, pem, type CertPair, type TestPki } from "../support/certs.ts";

const SECRET = Buffer.from("radsec");
/** The address the TLS client is configured for; connections from 127.0.0.1 are not covered. */
const CLIENT_ADDRESS = "127.0.0.2";
/** A second source for the per-source cap, so it does not disturb the other tests. */
const CAPPED_ADDRESS = "127.0.0.5";
const PER_SOURCE = 3;

const text = (s: string) => Buffer.from(s);
const int = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** One Status-Server and its answer: then the server's side of the handshake is surely done too. */
async function ping(peer: Peer, id: number): Promise<void> {
  const before = peer.packets.length;
  peer.socket.write(buildStatusServer(id, [], SECRET).datagram);
  const packets = await peer.waitFor(before + 1);
  assert.equal(packets[before]![0], PacketCode.AccessAccept);
}

interface Peer {
  socket: TLSSocket;
  /** Whole RADIUS packets received, in order. */
  packets: Buffer[];
  closed: Promise<void>;
  /** Resolves once `n` packets have arrived (or rejects after `ms`). */
  waitFor(n: number, ms?: number): Promise<Buffer[]>;
}

/** A TLS connection to Tally from `localAddress` with `cert`; resolves once the handshake is done. */
function connectPeer(port: number, cert: CertPair, opts: { ca?: string; localAddress?: string } = {}): Promise<Peer> {
  return new Promise((resolve, reject) => {
    // The TCP connection first: tls.connect's options do not take a source address.
    const tcp = netConnect({ host: "127.0.0.1", port, localAddress: opts.localAddress ?? CLIENT_ADDRESS });
    const socket = tlsConnect({
      socket: tcp,
      servername: "localhost",
      ca: pem(opts.ca ?? pkiForPeers.ca),
      cert: pem(cert.cert),
      key: pem(cert.key),
    });
    const packets: Buffer[] = [];
    const reader = new RadiusStreamReader();
    socket.on("data", (chunk: Buffer) => packets.push(...reader.push(chunk).packets));
    const closed = bounded(new Promise<void>((r) => socket.once("close", () => r())), "the connection closing");
    socket.once("error", reject);
    socket.once("secureConnect", () => {
      socket.off("error", reject);
      socket.on("error", () => {});
      resolve({
        socket,
        packets,
        closed,
        waitFor: (n, ms = 10_000) => until(ms, `${n} RADIUS packets`, async () => (packets.length >= n ? packets : undefined)),
      });
    });
  });
}

/** The ClientHello Node's TLS client sends, captured from a plain TCP listener. */
async function captureClientHello(): Promise<Buffer> {
  const server = netCreateServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const hello = new Promise<Buffer>((resolve) => server.once("connection", (s: Socket) => s.once("data", (d: Buffer) => { resolve(d); s.destroy(); })));
  const client = tlsConnect({ host: "127.0.0.1", port: (server.address() as AddressInfo).port, rejectUnauthorized: false });
  client.on("error", () => {});
  const bytes = await hello;
  client.destroy();
  server.close();
  return bytes;
}

/**
 * Sends raw bytes over plain TCP from `localAddress`; resolves with what came back once the
 * server closed, or fails after 10 s of the server keeping it open.
 */
function rawExchange(port: number, localAddress: string, bytes: Buffer | null): Promise<{ received: number; ms: number }> {
  const started = Date.now();
  let received = 0;
  const s = netConnect({ host: "127.0.0.1", port, localAddress }, () => {
    if (bytes !== null) s.write(bytes);
  });
  s.on("data", (d: Buffer) => (received += d.length));
  s.on("error", () => {});
  const closed = new Promise<{ received: number; ms: number }>((resolve) => s.on("close", () => resolve({ received, ms: Date.now() - started })));
  return bounded(closed, "the server closing the connection").finally(() => s.destroy());
}

let pkiForPeers: TestPki;

/** `p`, or a failure naming `what` after 10 s; the timer goes away with `p` (no lingering wait). */
function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within 10 s`)), 10_000)));
  const settled = Promise.race([p, limit]).finally(() => clearTimeout(timer));
  settled.catch(() => {});
  return settled;
}

describe("RadSec listener", () => {
  let pki: TestPki;
  let tally: TallyProcess;
  let nas: CertPair;

  before(async () => {
    pki = makePki();
    pkiForPeers = pki;
    nas = pki.issue("nas-a", { subject: "/CN=nas-a.example.net/O=Example", san: ["DNS:nas-a.example.net"] });
    tally = await startTally({
      store: { sqlite: "./tally.db" },
      radius: { auth: null, acct: null, radsec: { listen: "127.0.0.1:0", handshakeTimeout: 1, maxConnectionsPerSource: PER_SOURCE } },
      tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca },
      clients: [
        { name: "nas-a", address: `${CLIENT_ADDRESS}/32`, certificate: { subject: "CN=nas-a.example.net", san: ["DNS:nas-a.example.net"] } },
        { name: "capped", address: `${CAPPED_ADDRESS}/32`, certificate: { subject: "CN=nas-a.example.net" } },
      ],
      users: [{ name: "alice", password: "alicepass" }],
      http: { listen: "127.0.0.1:0" },
      log: { level: "info" },
    });
  });
  after(async () => {
    await tally?.cleanup();
  });

  it("answers 100 requests written at once on one connection, each with a valid authenticator", async () => {
    const peer = await connectPeer(tally.radsecPort, nas);
    const sent = new Map<number, { code: number; authenticator: Buffer; expect: number }>();
    const out: Buffer[] = [];
    for (let id = 0; id < 100; id++) {
      if (id % 4 === 3) {
        const datagram = buildAccountingRequest(id, [
          { type: Attr.AcctStatusType, value: int(AcctStatusType.Start) },
          { type: Attr.AcctSessionId, value: text(`pipe-${id}`) },
          { type: Attr.UserName, value: text("alice") },
          { type: Attr.NasIdentifier, value: text("nas-a") },
        ], SECRET);
        sent.set(id, { code: PacketCode.AccountingRequest, authenticator: datagram.subarray(4, 20), expect: PacketCode.AccountingResponse });
        out.push(datagram);
      } else if (id % 10 === 0) {
        const { datagram, authenticator } = buildStatusServer(id, [], SECRET);
        sent.set(id, { code: PacketCode.StatusServer, authenticator, expect: PacketCode.AccessAccept });
        out.push(datagram);
      } else {
        const good = id % 2 === 0;
        const { datagram, authenticator } = buildAccessRequest(id, [
          { type: Attr.UserName, value: text("alice") },
          { type: Attr.UserPassword, value: text(good ? "alicepass" : "wrong") },
        ], SECRET);
        sent.set(id, { code: PacketCode.AccessRequest, authenticator, expect: good ? PacketCode.AccessAccept : PacketCode.AccessReject });
        out.push(datagram);
      }
    }
    peer.socket.write(Buffer.concat(out));
    const replies = await peer.waitFor(100);
    const seen = new Set<number>();
    for (const raw of replies) {
      const decoded = decodePacket(raw);
      assert.ok(decoded.ok, "each reply decodes");
      const request = sent.get(decoded.packet.identifier);
      assert.ok(request, `reply ${decoded.packet.identifier} answers a request`);
      assert.ok(verifyResponse(raw, request.authenticator, SECRET), `reply ${decoded.packet.identifier}: Response Authenticator with "radsec"`);
      assert.equal(decoded.packet.code, request.expect, `reply ${decoded.packet.identifier}`);
      seen.add(decoded.packet.identifier);
    }
    assert.equal(seen.size, 100);
    const stored = JSON.parse(await tally.cli(["sessions", "--json"])) as { sessionId: string }[];
    assert.equal(stored.filter((s) => s.sessionId.startsWith("pipe-")).length, 25);
    peer.socket.end();
  });

  it("a Length outside 20..4096 closes the connection; the listener stays up", async () => {
    const peer = await connectPeer(tally.radsecPort, nas);
    const bad = Buffer.alloc(20);
    bad[0] = PacketCode.AccessRequest;
    bad.writeUInt16BE(5000, 2);
    peer.socket.write(bad);
    await peer.closed;
    assert.equal(peer.packets.length, 0);
    await tally.waitForLog((l) => l.reason === "length-too-long" && l.client === "nas-a");
    const next = await connectPeer(tally.radsecPort, nas);
    const { datagram } = buildStatusServer(1, [], SECRET);
    next.socket.write(datagram);
    const [reply] = await next.waitFor(1);
    assert.equal(reply![0], PacketCode.AccessAccept);
    next.socket.end();
  });

  it("a source no TLS client covers is closed before any TLS: no ServerHello", async () => {
    const hello = await captureClientHello();
    assert.equal(hello[0], 0x16, "a TLS handshake record");
    const r = await rawExchange(tally.radsecPort, "127.0.0.1", hello);
    assert.equal(r.received, 0);
    const line = await tally.waitForLog((l) => l.reason === "unknown-client" && String(l.source).startsWith("127.0.0.1:"));
    assert.equal(line.msg, "RadSec connection closed: source address is not a configured client");
  });

  it("a certificate from another CA fails the handshake", async () => {
    const other = makePki("tally-other-pki-");
    const stranger = other.issue("stranger", { subject: "/CN=nas-a.example.net", san: ["DNS:nas-a.example.net"] });
    // TLS 1.3 finishes the client's side before the server has judged its certificate.
    const outcome = await connectPeer(tally.radsecPort, stranger).then(
      async (peer) => {
        const { datagram } = buildStatusServer(2, [], SECRET);
        peer.socket.write(datagram);
        await peer.closed;
        return peer.packets.length === 0 ? "closed without an answer" : "answered";
      },
      (err: Error) => `handshake error: ${err.message}`,
    );
    assert.notEqual(outcome, "answered");
    const line = await tally.waitForLog((l) => l.reason === "handshake-failed");
    // OpenSSL's verdict on a certificate whose issuer tls.ca does not hold.
    assert.equal(line.err, "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  });

  it("a valid certificate that matches no client's identity is closed and counted as certificate-mismatch", async () => {
    const wrong = pki.issue("nas-b", { subject: "/CN=nas-b.example.net", san: ["DNS:nas-b.example.net"] });
    const peer = await connectPeer(tally.radsecPort, wrong);
    const { datagram } = buildStatusServer(3, [], SECRET);
    peer.socket.write(datagram);
    await peer.closed;
    assert.equal(peer.packets.length, 0);
    const line = await tally.waitForLog((l) => l.reason === "certificate-mismatch");
    assert.equal(line.subjectaltname, "DNS:nas-b.example.net");
  });

  it(`refuses a source's connection beyond maxConnectionsPerSource (${PER_SOURCE}) before TLS, and takes one again after a close`, async () => {
    const open = [];
    for (let i = 0; i < PER_SOURCE; i++) open.push(await connectPeer(tally.radsecPort, nas, { localAddress: CAPPED_ADDRESS }));
    const hello = await captureClientHello();
    const refused = await rawExchange(tally.radsecPort, CAPPED_ADDRESS, hello);
    assert.equal(refused.received, 0);
    await tally.waitForLog((l) => l.reason === "connection-limit" && l.limit === "maxConnectionsPerSource" && String(l.source).startsWith(`${CAPPED_ADDRESS}:`));
    open[0]!.socket.destroy();
    await open[0]!.closed;
    // The server sees the close a moment later; then the source has room again.
    const again = await until(5000, "a connection after one closed", () => connectPeer(tally.radsecPort, nas, { localAddress: CAPPED_ADDRESS }).catch(() => undefined));
    const { datagram } = buildStatusServer(4, [], SECRET);
    again.socket.write(datagram);
    assert.equal((await again.waitFor(1))[0]![0], PacketCode.AccessAccept);
    for (const p of [...open.slice(1), again]) p.socket.destroy();
  });

  it("closes a TCP connection that sends no ClientHello within handshakeTimeout (1 s)", async () => {
    const r = await rawExchange(tally.radsecPort, CLIENT_ADDRESS, null);
    assert.equal(r.received, 0);
    assert.ok(r.ms >= 900, `closed by the timeout, not at once (${r.ms} ms)`);
    assert.ok(r.ms < 5000, `closed within the timeout and some slack (${r.ms} ms)`);
    await tally.waitForLog((l) => l.reason === "handshake-timeout" && String(l.source).startsWith(`${CLIENT_ADDRESS}:`));
  });

  it("SIGHUP: a new server certificate for new connections; an open connection keeps working", async () => {
    const fingerprint = (path: string) => new X509Certificate(pem(path)).fingerprint256;
    const oldFingerprint = fingerprint(pki.server.cert);
    const old = await connectPeer(tally.radsecPort, nas);
    assert.equal(old.socket.getPeerCertificate().fingerprint256, oldFingerprint);
    // TLS 1.3: the client is done before the server has read its certificate; wait for the server.
    await ping(old, 8);

    const renewed = pki.issue("server-renewed", { subject: "/CN=tally.test", san: ["DNS:localhost", "IP:127.0.0.1"] });
    copyFileSync(renewed.cert, pki.server.cert);
    copyFileSync(renewed.key, pki.server.key);
    const newFingerprint = fingerprint(pki.server.cert);
    assert.notEqual(newFingerprint, oldFingerprint);
    const reloads = tally.logs.filter((l) => l.msg === "TLS certificates reloaded").length;
    process.kill(tally.child.pid!, "SIGHUP");
    await until(10_000, "the reload", async () => (tally.logs.filter((l) => l.msg === "TLS certificates reloaded").length > reloads ? true : undefined));

    const fresh = await connectPeer(tally.radsecPort, nas);
    assert.equal(fresh.socket.getPeerCertificate().fingerprint256, newFingerprint);
    for (const [peer, id] of [[old, 5], [fresh, 6]] as const) {
      const { datagram, authenticator } = buildAccessRequest(id, [
        { type: Attr.UserName, value: text("alice") },
        { type: Attr.UserPassword, value: text("alicepass") },
      ], SECRET);
      peer.socket.write(datagram);
      const replies = await peer.waitFor(peer === old ? 2 : 1);
      const reply = replies.at(-1)!;
      assert.equal(reply[0], PacketCode.AccessAccept);
      assert.ok(verifyResponse(reply, authenticator, SECRET), "reply authenticator");
    }
    assert.equal(old.socket.getPeerCertificate().fingerprint256, oldFingerprint);
    old.socket.end();
    fresh.socket.end();
  });

  it("counts every refusal above in tally_drops_total and every request as protocol radius", async () => {
    const body = await (await fetch(`http://127.0.0.1:${tally.httpPort}/metrics`)).text();
    const value = (metric: string, labels: string) => {
      const m = new RegExp(`^${metric}\\{${labels}\\} (\\d+)$`, "m").exec(body);
      return m === null ? undefined : Number(m[1]);
    };
    const drops = (reason: string) => value("tally_drops_total", `protocol="radius",reason="${reason}"`);
    assert.equal(drops("length-too-long"), 1);
    assert.equal(drops("unknown-client"), 1);
    assert.equal(drops("handshake-failed"), 1);
    assert.equal(drops("certificate-mismatch"), 1);
    assert.equal(drops("handshake-timeout"), 1);
    // One refused for certain; a retry that raced the server's view of the close is one more.
    assert.ok((drops("connection-limit") ?? 0) >= 1, "connection-limit counted");
    assert.equal(drops("idle-timeout"), 0);
    // 10 Status-Servers in the pipeline, one after the bad Length, one under the cap, one before SIGHUP.
    assert.equal(value("tally_requests_total", 'protocol="radius",type="status",outcome="ok"'), 13);
    assert.equal(value("tally_requests_total", 'protocol="radius",type="accounting",outcome="ok"'), 25);
  });

  it("a reload that changes a client's certificate identity closes its open connections", async () => {
    const open = await connectPeer(tally.radsecPort, nas);
    await ping(open, 9);
    const config = JSON.parse(readFileSync(tally.configPath, "utf8")) as { clients: { name: string; certificate: { subject: string; san?: string[] } }[] };
    config.clients[0]!.certificate = { subject: "CN=someone-else.example.net" };
    writeFileSync(tally.configPath, JSON.stringify(config, null, 2));
    process.kill(tally.child.pid!, "SIGHUP");
    await open.closed;
    await tally.waitForLog((l) => l.msg === "RadSec connection closed: after the reload no client matches its certificate" && l.client === "nas-a");
    // A new connection with the same certificate is now refused after the handshake.
    const again = await connectPeer(tally.radsecPort, nas);
    await again.closed;
    assert.equal(again.packets.length, 0);
    await tally.waitForLog((l) => l.reason === "certificate-mismatch" && String(l.source).startsWith(`${CLIENT_ADDRESS}:`));
  });
});

describe("RadSec idle timeout", () => {
  let pki: TestPki;
  let tally: TallyProcess;

  before(async () => {
    pki = makePki();
    pkiForPeers = pki;
    tally = await startTally({
      store: { sqlite: "./tally.db" },
      radius: { auth: null, acct: null, radsec: { listen: "127.0.0.1:0", idleTimeout: 1 } },
      tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca },
      clients: [{ name: "nas-a", address: `${CLIENT_ADDRESS}/32`, certificate: { san: ["DNS:nas-a.example.net"] } }],
      log: { level: "info" },
    });
  });
  after(async () => {
    await tally?.cleanup();
  });

  it("closes a connection with no traffic for idleTimeout (1 s)", async () => {
    const peer = await connectPeer(tally.radsecPort, pki.issue("nas-a", { san: ["DNS:nas-a.example.net"] }));
    // The server's idle clock restarts when it writes the answer, after this moment.
    const quietSince = Date.now();
    await ping(peer, 7);
    await peer.closed;
    const quiet = Date.now() - quietSince;
    assert.ok(quiet >= 900, `closed after the idle time, not at once (${quiet} ms)`);
    await tally.waitForLog((l) => l.reason === "idle-timeout" && l.client === "nas-a");
  });
});
