// The connection and session layer under the TACACS+ client: one TCP (or TLS 1.3) connection
// with the sessions waiting on it (demultiplexed by session_id, single-connect negotiated by the
// first reply, RFC 8907 section 4.3), and one session's seq_no and reply checks.

import { connect } from "node:net";
import type { Socket } from "node:net";
import { connect as connectTls, type ConnectionOptions } from "node:tls";
import { encodeAuthenContinue } from "./bodies.ts";
import type { BodyResult } from "./bodies.ts";
import { AuthenContinueFlag, HeaderFlag, MAX_BODY_LENGTH, TAC_PLUS_MAJOR_VERSION, packetTypeName } from "./constants.ts";
import { FrameReader, openPacket, sealPacket } from "./packet.ts";
import type { Frame } from "./packet.ts";

export const hex32 = (n: number): string => `0x${n.toString(16).padStart(8, "0")}`;

/** How errors name a packet of a session: built only for an error, not for every request. */
function packetLabel(type: number, sessionId: number, seqNo: number): string {
  return `${packetTypeName(type)} session ${hex32(sessionId)}, seq_no ${seqNo}`;
}

export type Negotiation = "fresh" | "pending" | "agreed" | "refused";

/** How a link reaches the server: plain TCP unless `tls` is given; `localAddress` picks our source address. */
export interface LinkTransport {
  tls?: Pick<ConnectionOptions, "cert" | "key" | "ca" | "servername">;
  localAddress?: string;
}

/** A session waiting for the server's next packet, and its deadline. */
interface Waiter {
  resolve(f: Frame): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** One TCP connection and the sessions waiting for a reply on it. */
export class Link {
  /** Single-connect state of a shared link (§4.3); the server's first reply settles it. */
  negotiation: Negotiation = "fresh";
  closed = false;
  readonly done: Promise<void>;
  /** Settles when the negotiation does or the connection closes. */
  readonly agreement: Promise<void>;
  readonly sessions = new Set<number>();
  private settleAgreement!: () => void;
  private readonly waiters = new Map<number, Waiter>();
  private readonly reader = new FrameReader({ maxBodyLength: MAX_BODY_LENGTH });
  private failure: Error | undefined;
  /** Packets are gathered until the current callback and its promises are done (see write). */
  private corked = false;

  private constructor(
    private readonly socket: Socket,
    readonly shared: boolean,
    /** Over TLS (RFC 9887): every packet carries the UNENCRYPTED flag and none is obfuscated. */
    readonly overTls: boolean,
    private readonly where: string,
    private readonly timeoutMs: number,
  ) {
    socket.setNoDelay(true);
    this.agreement = new Promise((resolve) => (this.settleAgreement = resolve));
    this.done = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("data", (chunk: Buffer) => {
      const { frames, failure } = this.reader.push(chunk);
      for (const frame of frames) this.dispatch(frame);
      if (failure) {
        this.failure = new Error(
          `TACACS+ server ${where} sent an unreadable packet (${failure.reason} at stream offset ${failure.offset})`,
        );
        socket.destroy();
      }
    });
    socket.on("error", (err) => (this.failure ??= new Error(`TACACS+ server ${where}: ${err.message}`)));
    socket.once("close", () => {
      this.closed = true;
      this.settleAgreement();
      const err = this.failure ?? new Error(`TACACS+ server ${where} closed the connection before replying`);
      for (const w of this.waiters.values()) {
        clearTimeout(w.timer);
        w.reject(err);
      }
      this.waiters.clear();
    });
  }

  /** `tls`: TLS 1.3 options (cert, key, ca, servername); the link is usable once the handshake is done. */
  static open(host: string, port: number, timeoutMs: number, shared: boolean, transport: LinkTransport = {}): Promise<Link> {
    const where = `${host}:${port}`;
    const { tls, localAddress } = transport;
    return new Promise((resolve, reject) => {
      const tcp = connect({ host, port, localAddress });
      // The server's certificate is checked against `servername`, else `host`.
      const socket = tls === undefined ? tcp : connectTls({ socket: tcp, host, ...tls, minVersion: "TLSv1.3", maxVersion: "TLSv1.3" });
      // A refused or reset TCP connection under TLS is the TLS socket's error.
      if (socket !== tcp) tcp.on("error", (err) => socket.destroy(err));
      const onError = (err: Error) => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to TACACS+ server ${where}: ${err.message}`));
      };
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`cannot connect to TACACS+ server ${where}: no connection within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      socket.once("error", onError);
      // Over TLS nothing is sent before the handshake is done (no early data, RFC 9887 5.1.2).
      socket.once(tls === undefined ? "connect" : "secureConnect", () => {
        clearTimeout(timer);
        socket.off("error", onError);
        resolve(new Link(socket, shared, tls !== undefined, where, timeoutMs));
      });
    });
  }

  private dispatch(frame: Frame): void {
    if (this.negotiation === "pending") {
      this.negotiation = frame.header.flags & HeaderFlag.SingleConnect ? "agreed" : "refused";
      this.settleAgreement();
    }
    let id = frame.header.sessionId;
    // On a connection of its own, a reply with another session_id still belongs to the one
    // session there, which then rejects it by name instead of timing out.
    if (!this.waiters.has(id) && !this.shared && this.waiters.size === 1) id = this.waiters.keys().next().value!;
    const waiter = this.waiters.get(id);
    if (!waiter) return; // a late reply to a session that timed out or aborted
    this.waiters.delete(id);
    clearTimeout(waiter.timer);
    waiter.resolve(frame);
  }

  /** Writes one packet (`type`, `seqNo`) of session `sessionId` and waits for the server's next packet in it. */
  exchange(packet: Buffer, type: number, sessionId: number, seqNo: number): Promise<Frame> {
    if (this.closed) return Promise.reject(this.failure ?? new Error(`TACACS+ connection to ${this.where} is closed`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(sessionId);
        // Until the first reply we cannot know whether the server multiplexes; give up on it.
        if (this.negotiation === "pending") {
          this.failure ??= new Error(`TACACS+ server ${this.where} never answered the first session on this connection`);
          this.socket.destroy();
        }
        reject(new Error(`no reply from TACACS+ server ${this.where} within ${this.timeoutMs / 1000} s (${packetLabel(type, sessionId, seqNo)})`));
      }, this.timeoutMs);
      this.waiters.set(sessionId, { resolve, reject, timer });
      this.write(packet);
    });
  }

  /** Writes a packet that expects no reply. */
  send(packet: Buffer): void {
    if (!this.closed) this.write(packet);
  }

  /**
   * The packets of sessions started in one turn of the event loop go out in one write (a
   * writev) instead of a system call each: cork now, uncork once the reads of this turn and
   * everything they started are done (setImmediate: a load generator's replies arrive on all its
   * connections in one turn and each starts a request on another connection). end() uncorks by
   * itself; nothing here destroys a socket with packets left to send.
   */
  private write(packet: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(this.uncork);
    }
    this.socket.write(packet);
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  close(): Promise<void> {
    if (!this.closed) {
      this.failure ??= new Error(`TACACS+ client closed the connection to ${this.where}`);
      this.socket.end(() => this.socket.destroy()); // end first so a final ABORT is flushed
      const stuck = setTimeout(() => this.socket.destroy(), this.timeoutMs);
      void this.done.then(() => clearTimeout(stuck));
    }
    return this.done;
  }
}

/** One TACACS+ session: a session_id and the seq_no of the next packet we send. */
export class Session {
  private seqNo = 1;

  constructor(
    private readonly link: Link,
    private readonly key: Buffer,
    private readonly type: number,
    private readonly minorVersion: number,
    readonly sessionId: number,
  ) {}

  private seal(seqNo: number, body: Buffer): Buffer {
    const flags = (this.link.shared ? HeaderFlag.SingleConnect : 0) | (this.link.overTls ? HeaderFlag.Unencrypted : 0);
    const header = { majorVersion: TAC_PLUS_MAJOR_VERSION, minorVersion: this.minorVersion, type: this.type, seqNo, flags, sessionId: this.sessionId };
    return sealPacket(header, body, this.key);
  }

  /** Sends `body` and returns the decoded reply, or throws saying what was wrong with it. */
  async request<T>(body: Buffer, decode: (b: Buffer) => BodyResult<T>): Promise<T> {
    const seqNo = this.seqNo;
    const { header: h, rawBody } = await this.link.exchange(this.seal(seqNo, body), this.type, this.sessionId, seqNo);
    if (h.sessionId !== this.sessionId) throw this.bad(seqNo, `session_id is ${hex32(h.sessionId)}`);
    if (h.type !== this.type) throw this.bad(seqNo, `type is ${packetTypeName(h.type)}`);
    if (h.seqNo !== seqNo + 1) throw this.bad(seqNo, `seq_no is ${h.seqNo}, expected ${seqNo + 1}`);
    const unencrypted = (h.flags & HeaderFlag.Unencrypted) !== 0;
    // RFC 9887 section 4: over TLS a reply without the flag ends the session.
    if (this.link.overTls && !unencrypted) throw this.bad(seqNo, "the Unencrypted flag is missing over TLS (RFC 9887 section 4)");
    if (!this.link.overTls && unencrypted) throw this.bad(seqNo, "the Unencrypted flag is set although a key is in use");
    if (h.length === 0) {
      throw this.bad(seqNo, `empty body: the server could not read the request (RFC 8907 §4.5)${this.link.overTls ? "" : "; is the key the same on both sides?"}`);
    }
    const r = decode(openPacket(h, rawBody, this.key));
    if (!r.ok) throw this.bad(seqNo, `it did not decode (${r.reason} at offset ${r.offset}); the server's key is probably different`);
    this.seqNo = seqNo + 2;
    return r.value;
  }

  private bad(seqNo: number, what: string): Error {
    return new Error(`bad TACACS+ reply (${packetLabel(this.type, this.sessionId, seqNo)}): ${what}`);
  }

  /** CONTINUE with the ABORT flag (§5.3): ends the session on the server; nothing comes back. */
  abort(reason: string): void {
    const body = encodeAuthenContinue({ flags: AuthenContinueFlag.Abort, userMsg: Buffer.alloc(0), data: Buffer.from(reason) });
    this.link.send(this.seal(this.seqNo, body));
  }
}

