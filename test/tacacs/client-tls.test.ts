// TacacsClient over TLS 1.3 (RFC 9887 section 4) against a tiny TLS server written here with the
// codec: every packet it sends carries the UNENCRYPTED flag with a clear body, a reply with the
// flag is believed, one without it ends the session with an error, and TLS 1.2 is never offered.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { createServer, type TLSSocket } from "node:tls";
import { decodeAuthenStart, encodeAuthenReply } from "../../src/tacacs/bodies.ts";
import { TacacsClient } from "../../src/tacacs/client.ts";
import { AuthenStatus, HeaderFlag } from "../../src/tacacs/constants.ts";
import type { TacacsHeader } from "../../src/tacacs/header.ts";
import { FrameReader, sealPacket } from "../../src/tacacs/packet.ts";
import { makePki, type TestPki } from "../support/certs.ts";

describe("TacacsClient over TLS", () => {
  let pki: TestPki;
  let port: number;
  /** What the server saw of each request: its flags, whether its body decoded in clear, the TLS version. */
  const seen: { flags: number; clear: boolean; protocol: string | null }[] = [];
  /** The flags the server puts on its next reply. */
  let replyFlags: number = HeaderFlag.Unencrypted;
  const server = createServer();

  before(async () => {
    pki = makePki();
    server.setSecureContext({ cert: readFileSync(pki.server.cert), key: readFileSync(pki.server.key), ca: readFileSync(pki.ca) });
    server.on("secureConnection", (socket: TLSSocket) => {
      const reader = new FrameReader({ maxBodyLength: 65536 });
      socket.on("data", (chunk: Buffer) => {
        for (const { header, rawBody } of reader.push(chunk).frames) {
          seen.push({ flags: header.flags, clear: decodeAuthenStart(rawBody).ok, protocol: socket.getProtocol() });
          const reply: Omit<TacacsHeader, "length"> = { ...header, seqNo: header.seqNo + 1, flags: replyFlags };
          socket.end(sealPacket(reply, encodeAuthenReply({ status: AuthenStatus.Pass, flags: 0, serverMsg: "", data: Buffer.alloc(0) }), Buffer.from("k")));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const client = () => {
    const leaf = pki.issue(`dev${seen.length}`);
    return TacacsClient.connect({
      host: "127.0.0.1",
      port,
      tls: { cert: readFileSync(leaf.cert), key: readFileSync(leaf.key), ca: readFileSync(pki.ca), servername: "tally.test" },
      timeout: 3,
    });
  };

  test("sends UNENCRYPTED with a clear body over TLS 1.3, and believes a reply with the flag", async () => {
    replyFlags = HeaderFlag.Unencrypted;
    const c = await client();
    assert.equal((await c.authenPap("alice", "pw")).status, AuthenStatus.Pass);
    await c.close();
    assert.deepEqual(seen.at(-1), { flags: HeaderFlag.Unencrypted, clear: true, protocol: "TLSv1.3" });
  });

  test("a reply without the UNENCRYPTED flag ends the session with an error", async () => {
    replyFlags = 0;
    const c = await client();
    await assert.rejects(c.authenPap("alice", "pw"), /Unencrypted flag is missing over TLS/);
    await c.close();
  });

  test("a server that speaks only TLS 1.2 is not used", async () => {
    const old = createServer({ cert: readFileSync(pki.server.cert), key: readFileSync(pki.server.key), maxVersion: "TLSv1.2" });
    old.on("secureConnection", (socket: TLSSocket) => socket.destroy());
    await new Promise<void>((resolve) => old.listen(0, "127.0.0.1", resolve));
    try {
      const leaf = pki.issue("dev-old");
      const tls = { cert: readFileSync(leaf.cert), key: readFileSync(leaf.key), ca: readFileSync(pki.ca), servername: "tally.test" };
      const c = await TacacsClient.connect({ host: "127.0.0.1", port: (old.address() as AddressInfo).port, tls, timeout: 3 });
      await assert.rejects(c.authenPap("alice", "pw"), /cannot connect to TACACS\+ server .*(protocol version|unsupported protocol)/i);
      await c.close();
    } finally {
      await new Promise<void>((resolve) => old.close(() => resolve()));
    }
  });

  test("no key is needed over TLS, but one is over TCP", async () => {
    await assert.rejects(TacacsClient.connect({ host: "127.0.0.1", port }), /needs a key/);
  });
});
