// A small RADIUS client transport: sends one request over UDP, retransmits the identical
// datagram on timeout (RFC 5080 section 2.2.1), and returns the first reply whose Response
// Authenticator verifies. Used by `tally radius send`, and later for CoA/Disconnect.

import { createSocket } from "node:dgram";
import { isIPv6 } from "node:net";
import { verifyResponse } from "./crypto.ts";

export interface SendOptions {
  /** Seconds to wait for the first attempt. */
  timeout: number;
  /** Retransmissions after the first attempt. */
  retries: number;
  /** Each retransmission waits this many times longer than the one before (default 1). */
  backoff?: number;
}

export interface Reply {
  datagram: Buffer;
  /** Milliseconds from the first send to the reply. */
  elapsedMs: number;
  attempts: number;
}

/**
 * Resolves with the verified reply, or null when none came within the attempts. Replies with
 * another identifier or a bad authenticator (e.g. a wrong secret) are ignored, as a NAS would.
 */
export function sendRequest(
  server: { host: string; port: number },
  datagram: Buffer,
  secret: Buffer,
  options: SendOptions,
): Promise<Reply | null> {
  const identifier = datagram[1]!;
  const requestAuthenticator = datagram.subarray(4, 20);
  const socket = createSocket(isIPv6(server.host) ? "udp6" : "udp4");
  const started = Date.now();
  let attempts = 0;
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (reply: Reply | null) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    };
    const attempt = () => {
      if (attempts > options.retries) return finish(null);
      const wait = options.timeout * (options.backoff ?? 1) ** attempts * 1000;
      attempts++;
      socket.send(datagram, server.port, server.host);
      timer = setTimeout(attempt, wait);
    };
    socket.on("message", (msg) => {
      if (msg.length < 20 || msg[1] !== identifier) return;
      const raw = msg.subarray(0, Math.min(msg.length, msg.readUInt16BE(2)));
      if (!verifyResponse(raw, requestAuthenticator, secret)) return;
      finish({ datagram: raw, elapsedMs: Date.now() - started, attempts });
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.bind(0, () => attempt());
  });
}
