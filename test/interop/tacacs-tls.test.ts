// TACACS+ over TLS 1.3 (RFC 9887) against a real `tally serve`: Node's TLS client carrying Tally's
// TACACS+ client code (PAP, authorization, accounting stored), clients known by certificate
// subject or SAN; then everything the TLS port must refuse, each checked against the drop the
// server counted (/metrics): TLS 1.2, plain TACACS+, an obfuscated packet inside TLS, a client
// certificate from another CA, one that names no client, a source no TLS client covers, a
// silent connection (handshakeTimeout); 0-RTT checked with OpenSSL's s_client and s_server (our
// tickets allow no early data; a ClientHello offering it is cut off); the TCP port beside it still
// refusing the flag; a SIGHUP that swaps the server certificate; and tacacs.maxConnections
// counting both listeners together.

import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { spawn } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { connect as connectTcp, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect as connectTls, type ConnectionOptions } from "node:tls";
import { decodeAuthenReply, encodeAuthenStart } from "../../src/tacacs/bodies.ts";
import { TacacsClient } from "../../src/tacacs/client.ts";
import { AcctFlag, AcctStatus, AuthenAction, AuthenService, AuthenStatus, AuthenType, AuthorStatus, HeaderFlag, PacketType, TAC_PLUS_MAJOR_VERSION } from "../../src/tacacs/constants.ts";
import { decodeHeader } from "../../src/tacacs/header.ts";
import { openPacket, sealPacket } from "../../src/tacacs/packet.ts";
import { makePki, type CertPair, type TestPki } from "../support/certs.ts";
import { dropCounts } from "../support/drops.ts";
import { freeTcpPort } from "../support/ports.ts";
import { TACACS_CONFIG, TACACS_KEY, makeTempDir, startTally, until, within, type TallyProcess } from "./harness.ts";

interface Exchange {
  /** The TLS handshake finished on our side. */
  secure: boolean;
  data: Buffer;
  closed: boolean;
  error: string | null;
}

/** A PAP START for bob, seq_no 1, with the given header flags (sealed with the TACACS+ key unless UNENCRYPTED). */
function papStart(flags: number, password = "bobpass"): Buffer {
  const body = encodeAuthenStart({
    action: AuthenAction.Login, privLvl: 1, authenType: AuthenType.Pap, authenService: AuthenService.Login,
    user: "bob", port: "tty1", remAddr: "192.0.2.7", data: Buffer.from(password),
  });
  return sealPacket({ majorVersion: TAC_PLUS_MAJOR_VERSION, minorVersion: 1, type: PacketType.Authentication, seqNo: 1, flags, sessionId: 0x1234abcd }, body, Buffer.from(TACACS_KEY));
}

describe("TACACS+ over TLS 1.3 (RFC 9887)", () => {
  let pki: TestPki;
  let otherPki: TestPki;
  let router1: CertPair;
  let router2: CertPair;
  let stranger: CertPair;
  let foreign: CertPair;
  let tally: TallyProcess;
  let serverCert: string;
  let serverKey: string;

  before(async () => {
    pki = makePki();
    otherPki = makePki("tally-pki-other-");
    router1 = pki.issue("router1", { subject: "/CN=router1/O=Lab" });
    router2 = pki.issue("router2", { subject: "/CN=anything", san: ["DNS:router2.lab.example"] });
    stranger = pki.issue("stranger", { subject: "/CN=stranger" });
    foreign = otherPki.issue("router1-foreign", { subject: "/CN=router1/O=Lab" });
    const dir = makeTempDir();
    serverCert = join(dir, "server.pem");
    serverKey = join(dir, "server.key");
    copyFileSync(pki.server.cert, serverCert);
    copyFileSync(pki.server.key, serverKey);
    tally = await startTally(
      {
        ...TACACS_CONFIG,
        tacacs: { listen: "127.0.0.1:0", tls: "127.0.0.1:0", handshakeTimeout: 1, idleTimeout: 10 },
        tls: { cert: serverCert, key: serverKey, ca: pki.ca },
        http: { listen: "127.0.0.1:0" },
        clients: [
          // Certificate only: no tacacsKey, so the TCP port does not know these.
          { name: "router1", address: "127.0.0.0/24", certificate: { subject: "CN=router1,O=Lab" } },
          { name: "router2", address: "127.0.0.0/24", certificate: { san: ["DNS:router2.lab.example"] } },
          // The TCP port's client, everywhere on loopback (also where no TLS client is).
          { name: "lab", address: "127.0.0.0/8", tacacsKey: TACACS_KEY },
        ],
      },
      dir,
    );
    assert.ok(tally.tacacsTlsPort > 0, "the harness read the tacacs-tls port from the log");
  });
  after(async () => {
    await tally.cleanup();
  });

  const tlsFor = (pair: CertPair): NonNullable<ConnectionOptions> => ({ cert: readFileSync(pair.cert), key: readFileSync(pair.key), ca: readFileSync(pki.ca) });
  const client = (pair: CertPair, extra: { singleConnect?: boolean } = {}) =>
    TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsTlsPort, tls: { ...tlsFor(pair), servername: "tally.test" }, timeout: 3, ...extra });
  const drops = () => dropCounts(tally.httpPort, "tacacs");
  /** Waits until the server has counted one more drop of `reason` than `before` did. */
  const counted = async (reason: string, before: Record<string, number>) =>
    until(3000, `a ${reason} drop`, async () => ((await drops())[reason] === (before[reason] ?? 0) + 1 ? true : undefined));

  /** Collects what `socket` receives until it closes or `waitMs` pass. */
  function collect<E extends Omit<Exchange, "secure">>(socket: Socket, out: E, waitMs: number): Promise<E> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        socket.destroy();
        resolve(out);
      };
      const timer = setTimeout(finish, waitMs);
      socket.on("data", (d: Buffer) => (out.data = Buffer.concat([out.data, d])));
      socket.on("error", (e: NodeJS.ErrnoException) => (out.error ??= e.code ?? e.message));
      socket.on("close", () => {
        out.closed = true;
        finish();
      });
    });
  }

  /** TLS to the TACACS+ TLS port; writes `bytes` once secure; collects until close or `waitMs`. */
  function tlsExchange(options: ConnectionOptions, bytes: Buffer | null, waitMs: number): Promise<Exchange> {
    const out: Exchange = { secure: false, data: Buffer.alloc(0), closed: false, error: null };
    const socket = connectTls({ host: "127.0.0.1", port: tally.tacacsTlsPort, servername: "tally.test", ...options }, () => {
      out.secure = true;
      if (bytes) socket.write(bytes);
    });
    return collect(socket, out, waitMs);
  }

  /** Plain TCP to the TLS port, optionally from another loopback address; collects until close or `waitMs`. */
  function tcpExchange(bytes: Buffer | null, waitMs: number, localAddress?: string): Promise<Omit<Exchange, "secure">> {
    const out = { data: Buffer.alloc(0), closed: false, error: null as string | null };
    const socket = connectTcp({ host: "127.0.0.1", port: tally.tacacsTlsPort, localAddress }, () => {
      if (bytes) socket.write(bytes);
    });
    return collect(socket, out, waitMs);
  }


  describe("a device with a certificate", () => {
    it("PAP: the right password passes, a wrong one fails; the client is known by subject", async () => {
      const c = await client(router1);
      try {
        assert.equal((await c.authenPap("bob", "bobpass")).status, AuthenStatus.Pass);
        assert.equal((await c.authenPap("bob", "wrong")).status, AuthenStatus.Fail);
      } finally {
        await c.close();
      }
      await tally.waitForLog((l) => l.msg === "TACACS+ authentication" && l.client === "router1" && l.result === "PASS");
    });

    it("a client known by its certificate's SAN, over single-connect: two sessions on one connection", async () => {
      const c = await client(router2, { singleConnect: true });
      try {
        assert.equal((await c.authenPap("bob", "bobpass")).status, AuthenStatus.Pass);
        assert.equal((await c.authenChap("bob", "bobpass")).status, AuthenStatus.Pass);
      } finally {
        await c.close();
      }
      await tally.waitForLog((l) => l.msg === "TACACS+ authentication" && l.client === "router2");
    });

    it("authorization: show permitted, reload denied", async () => {
      const c = await client(router1);
      try {
        const show = await c.authorize({ user: "bob", args: ["service=shell", "cmd=show", "cmd-arg=version", "cmd-arg=<cr>"] });
        assert.equal(show.status, AuthorStatus.PassAdd);
        const reload = await c.authorize({ user: "bob", args: ["service=shell", "cmd=reload", "cmd-arg=<cr>"] });
        assert.equal(reload.status, AuthorStatus.Fail);
      } finally {
        await c.close();
      }
    });

    it("accounting start and stop are stored as one closed session of client router1", async () => {
      const c = await client(router1);
      const base = { user: "bob", port: "tty9", remAddr: "198.51.100.9" };
      try {
        assert.equal((await c.account({ ...base, flags: AcctFlag.Start, args: ["task_id=901", "service=shell"] })).status, AcctStatus.Success);
        const stop = await c.account({ ...base, flags: AcctFlag.Stop, args: ["task_id=901", "service=shell", "elapsed_time=30", "bytes_in=300", "bytes_out=400"] });
        assert.equal(stop.status, AcctStatus.Success);
      } finally {
        await c.close();
      }
      const sessions = JSON.parse(await tally.cli(["sessions", "--json", "--user", "bob"])) as Record<string, unknown>[];
      const s = sessions.find((x) => x.sessionId === "901");
      assert.ok(s, "session 901 stored");
      assert.equal(s.protocol, "tacacs");
      assert.equal(s.client, "router1");
      assert.equal(s.status, "closed");
      assert.equal(s.inputOctets, 300);
      assert.equal(s.outputOctets, 400);
      const records = JSON.parse(await tally.cli(["records", "--session", String(s.id), "--json"])) as { kind: string }[];
      assert.deepEqual(records.map((r) => r.kind), ["start", "stop"]);
    });
  });

  describe("refused", () => {
    // First of the handshake failures: its log line (with OpenSSL's reason) is then the first of its kind.
    it("a client certificate from another CA: no TACACS+ at all, counted handshake-failed", async () => {
      const before = await drops();
      const r = await tlsExchange({ ...tlsFor(foreign) }, papStart(HeaderFlag.Unencrypted), 3000);
      assert.equal(r.data.length, 0);
      assert.ok(r.closed, "closed");
      await counted("handshake-failed", before);
      await tally.waitForLog((l) => l.reason === "handshake-failed" && l.certificate === "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
      const c = await client(foreign);
      await assert.rejects(c.authenPap("bob", "bobpass"), /closed the connection|ECONNRESET|socket hang up/);
      await c.close();
    });

    it("a TLS 1.2-only client: no handshake, counted handshake-failed", async () => {
      const before = await drops();
      const r = await tlsExchange({ ...tlsFor(router1), minVersion: "TLSv1.2", maxVersion: "TLSv1.2" }, papStart(HeaderFlag.Unencrypted), 3000);
      assert.equal(r.secure, false);
      assert.equal(r.error, "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION");
      assert.equal(r.data.length, 0);
      await counted("handshake-failed", before);
    });

    it("a plain TACACS+ packet on the TLS port gets nothing back, and the connection closes (not-tls)", async () => {
      const before = await drops();
      const r = await tcpExchange(papStart(0), 3000);
      assert.equal(r.data.length, 0, "no reply at all");
      assert.ok(r.closed, "closed");
      await counted("not-tls", before);
    });

    it("an obfuscated packet (no UNENCRYPTED flag) over TLS: ERROR with the flag set, then the connection closes", async () => {
      const before = await drops();
      const r = await tlsExchange(tlsFor(router1), papStart(0), 3000);
      assert.ok(r.secure, "handshake done");
      assert.ok(r.closed, "closed");
      const h = decodeHeader(r.data);
      assert.ok(h.ok, "a TACACS+ reply came back");
      assert.equal(h.header.seqNo, 2);
      assert.equal(h.header.flags & HeaderFlag.Unencrypted, HeaderFlag.Unencrypted, "the reply carries the UNENCRYPTED flag");
      const reply = decodeAuthenReply(r.data.subarray(12, 12 + h.header.length));
      assert.ok(reply.ok, "the reply body is not obfuscated");
      assert.equal(reply.value.status, AuthenStatus.Error);
      await counted("obfuscated-over-tls", before);
    });

    it("the same packet with the UNENCRYPTED flag passes (the rule above is the only difference)", async () => {
      const r = await tlsExchange(tlsFor(router1), papStart(HeaderFlag.Unencrypted), 3000);
      const h = decodeHeader(r.data);
      assert.ok(h.ok, "a TACACS+ reply came back");
      const reply = decodeAuthenReply(r.data.subarray(12, 12 + h.header.length));
      assert.ok(reply.ok && reply.value.status === AuthenStatus.Pass, "PASS");
    });

    it("a certificate from our CA that names no client: closed, counted certificate-mismatch", async () => {
      const before = await drops();
      const r = await tlsExchange(tlsFor(stranger), papStart(HeaderFlag.Unencrypted), 3000);
      assert.ok(r.secure, "the CA accepted it");
      assert.equal(r.data.length, 0);
      assert.ok(r.closed, "closed");
      await counted("certificate-mismatch", before);
    });

    it("a source no TLS client covers is closed without a byte sent by either side (no ServerHello)", async () => {
      const before = await drops();
      const r = await tcpExchange(null, 3000, "127.0.3.1");
      assert.ok(r.closed, "closed although we sent nothing, so before any ClientHello or ServerHello");
      assert.equal(r.data.length, 0);
      await counted("unknown-client", before);
      const t = await tlsExchange({ ...tlsFor(router1), localAddress: "127.0.3.1" } as ConnectionOptions, null, 3000);
      assert.equal(t.secure, false);
    });

    it("a silent TCP connection is closed by handshakeTimeout (1 s)", async () => {
      const before = await drops();
      const r = await tcpExchange(null, 4000);
      assert.ok(r.closed, "closed within 4 s");
      assert.equal(r.data.length, 0);
      await counted("handshake-timeout", before);
    });
  });

  describe("0-RTT, with OpenSSL's s_client and s_server", () => {
    /** Runs `openssl args`, keeping stdin open `holdMs` (s_client reads tickets meanwhile); stdout and stderr together. */
    function openssl(args: string[], holdMs: number, input?: Buffer): Promise<string> {
      return new Promise((resolve, reject) => {
        const child = spawn("openssl", args, { stdio: ["pipe", "pipe", "pipe"] });
        if (input) child.stdin.write(input);
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (out += d.toString()));
        const hold = setTimeout(() => child.stdin.end(), holdMs);
        const limit = setTimeout(() => child.kill(), holdMs + 3000); // s_client may linger after the server hung up
        child.once("error", reject);
        child.once("exit", () => {
          clearTimeout(hold);
          clearTimeout(limit);
          resolve(out);
        });
      });
    }
    const sClientArgs = (port: number) => ["s_client", "-connect", `127.0.0.1:${port}`, "-tls1_3", "-cert", router1.cert, "-key", router1.key, "-CAfile", pki.ca, "-servername", "tally.test"];

    it("Tally's session tickets allow no early data, so a resuming client sends none", async () => {
      const session = join(tally.dir, "tally-ticket.pem");
      const first = await openssl([...sClientArgs(tally.tacacsTlsPort), "-sess_out", session, "-ign_eof"], 1000);
      assert.match(first, /Verification: OK/);
      const ticket = await openssl(["sess_id", "-in", session, "-text", "-noout"], 0);
      assert.match(ticket, /TLS session ticket:/, "the session holds a ticket");
      assert.match(ticket, /Max Early Data: 0\b/);
      const early = join(tally.dir, "early.bin");
      writeFileSync(early, "early data");
      const logins = () => tally.logs.filter((l) => l.msg === "TACACS+ authentication" && l.client === "router1").length;
      const before = logins();
      // The resumed connection still knows its client (the certificate is in the session) and is served.
      const resumed = await openssl([...sClientArgs(tally.tacacsTlsPort), "-sess_in", session, "-early_data", early], 1000, papStart(HeaderFlag.Unencrypted));
      assert.match(resumed, /Reused, TLSv1\.3/);
      assert.match(resumed, /Early data was not sent/);
      await until(3000, "a login over the resumed session", async () => (logins() === before + 1 ? true : undefined));
    });

    it("a ClientHello offering early data is cut off before the handshake, counted early-data", async () => {
      // A ticket that allows early data can only come from another server: OpenSSL's own.
      const port = await freeTcpPort();
      const server = spawn("openssl", ["s_server", "-accept", `127.0.0.1:${port}`, "-cert", pki.server.cert, "-key", pki.server.key, "-tls1_3", "-early_data", "-naccept", "1"], {
        stdio: ["pipe", "pipe", "ignore"],
      });
      try {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error("openssl s_server not ready")), 5000);
          server.stdout.on("data", (d: Buffer) => {
            if (d.toString().includes("ACCEPT")) {
              clearTimeout(t);
              resolve();
            }
          });
        });
        const session = join(tally.dir, "openssl-ticket.pem");
        await openssl([...sClientArgs(port), "-sess_out", session, "-ign_eof"], 1000);
        const ticket = await openssl(["sess_id", "-in", session, "-text", "-noout"], 0);
        assert.match(ticket, /Max Early Data: [1-9]/, "s_server's ticket allows early data");
        const before = await drops();
        const early = join(tally.dir, "early.bin");
        writeFileSync(early, "early data");
        const out = await openssl([...sClientArgs(tally.tacacsTlsPort), "-sess_in", session, "-early_data", early], 1000);
        // s_client prints the certificate remembered in the session; what counts is that nothing came back.
        assert.match(out, /SSL handshake has read 0 bytes/, "no ServerHello came back");
        await counted("early-data", before);
      } finally {
        server.kill();
      }
    });
  });

  it("the TCP port of the same server still refuses the UNENCRYPTED flag, and serves the key's client", async () => {
    const r = await TacacsClient.exchangeRaw("127.0.0.1", tally.tacacsPort, papStart(HeaderFlag.Unencrypted), 2000);
    const h = decodeHeader(r.data);
    assert.ok(h.ok, "a reply");
    assert.equal(h.header.flags & HeaderFlag.Unencrypted, 0, "over TCP the reply is obfuscated");
    const reply = decodeAuthenReply(openPacket(h.header, r.data.subarray(12, 12 + h.header.length), Buffer.from(TACACS_KEY)));
    assert.ok(reply.ok && reply.value.status === AuthenStatus.Error, "ERROR");
    assert.ok(r.closed, "closed");
    const c = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY, timeout: 3 });
    try {
      assert.equal((await c.authenPap("bob", "bobpass")).status, AuthenStatus.Pass);
    } finally {
      await c.close();
    }
  });

  it("SIGHUP with a new server certificate: a new connection sees the new certificate", async () => {
    const fingerprint = async () => {
      const r = await new Promise<string>((resolve, reject) => {
        const s = connectTls({ host: "127.0.0.1", port: tally.tacacsTlsPort, servername: "tally.test", ...tlsFor(router1) }, () => {
          resolve(s.getPeerCertificate().fingerprint256);
          s.destroy();
        });
        s.on("error", reject);
      });
      return r;
    };
    const oldPrint = await fingerprint();
    assert.equal(oldPrint, new X509Certificate(readFileSync(pki.server.cert)).fingerprint256);
    const next = pki.issue("server-next", { subject: "/CN=tally.test", san: ["DNS:tally.test", "IP:127.0.0.1"] });
    copyFileSync(next.cert, serverCert);
    copyFileSync(next.key, serverKey);
    tally.child.kill("SIGHUP");
    await tally.waitForLog((l) => l.msg === "TLS certificates reloaded");
    const newPrint = await fingerprint();
    assert.equal(newPrint, new X509Certificate(readFileSync(next.cert)).fingerprint256);
    assert.notEqual(newPrint, oldPrint);
    const c = await client(router1);
    try {
      assert.equal((await c.authenPap("bob", "bobpass")).status, AuthenStatus.Pass);
    } finally {
      await c.close();
    }
  });
});

describe("tacacs.maxConnections counts both listeners together", () => {
  let pki: TestPki;
  let tally: TallyProcess;
  before(async () => {
    pki = makePki();
    tally = await startTally({
      ...TACACS_CONFIG,
      tacacs: { listen: "127.0.0.1:0", tls: "127.0.0.1:0", maxConnections: 3, handshakeTimeout: 20, idleTimeout: 20 },
      tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca },
      http: { listen: "127.0.0.1:0" },
      clients: [
        { name: "router1", address: "127.0.0.0/8", certificate: { subject: "CN=router1" } },
        { name: "lab", address: "127.0.0.0/8", tacacsKey: TACACS_KEY },
      ],
    });
  });
  after(async () => {
    await tally.cleanup();
  });

  /** A silent TCP connection; resolves once connected, with a promise of its close. */
  const silent = (port: number) =>
    new Promise<{ socket: ReturnType<typeof connectTcp>; closed: Promise<void> }>((resolve, reject) => {
      const socket = connectTcp({ host: "127.0.0.1", port }, () => resolve({ socket, closed }));
      const closed = new Promise<void>((r) => socket.once("close", () => r()));
      socket.once("error", reject);
    });

  it("two on the TCP port and one TLS handshake fill it: a fourth on either port is refused", async () => {
    const held = [await silent(tally.tacacsPort), await silent(tally.tacacsPort), await silent(tally.tacacsTlsPort)];
    const before = await dropCounts(tally.httpPort, "tacacs");
    const extraTls = await silent(tally.tacacsTlsPort);
    const extraTcp = await silent(tally.tacacsPort);
    await within(3000, "both extra connections closed", Promise.all([extraTls.closed, extraTcp.closed]));
    const after = await dropCounts(tally.httpPort, "tacacs");
    assert.equal(after["connection-limit"]! - (before["connection-limit"] ?? 0), 2);
    held[0]!.socket.destroy();
    await held[0]!.closed;
    const leaf = pki.issue("router1", { subject: "/CN=router1" });
    const tls = { cert: readFileSync(leaf.cert), key: readFileSync(leaf.key), ca: readFileSync(pki.ca), servername: "tally.test" };
    const c = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsTlsPort, tls, timeout: 3 });
    try {
      // The server learns of the close a moment after we do: retry until it has.
      const status = await until(3000, "a TLS login in the freed place", async () => (await c.authenPap("bob", "bobpass").catch(() => undefined))?.status);
      assert.equal(status, AuthenStatus.Pass);
    } finally {
      await c.close();
      for (const h of held) h.socket.destroy();
    }
  });
});
