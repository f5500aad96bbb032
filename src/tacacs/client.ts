// A TACACS+ client over TCP (RFC 8907), the way a network device talks to Tally: used by
// Tally's tests and by the benchmark. Each call is one session with a random session_id.
// Without singleConnect every session gets its own TCP connection, as most devices do; with
// it, sessions share one connection and replies are demultiplexed by session_id (§4.3). Every
// reply is checked (session, type, seq_no, decodability) so a confused or wrongly keyed
// server fails loudly instead of being believed.

import { createHash, randomBytes } from "node:crypto";
import { connect } from "node:net";
import type { Socket } from "node:net";
import {
  decodeAcctReply, decodeAuthenReply, decodeAuthorResponse,
  encodeAcctRequest, encodeAuthenContinue, encodeAuthenStart, encodeAuthorRequest,
} from "./bodies.ts";
import type { AcctReply, AuthenReply, AuthenStart, AuthorRequest, AuthorResponse, BodyResult } from "./bodies.ts";
import {
  AuthenAction, AuthenContinueFlag, AuthenMethod, AuthenService, AuthenStatus, AuthenType,
  HeaderFlag, MAX_BODY_LENGTH, MinorVersion, PacketType, PrivLevel, TAC_PLUS_MAJOR_VERSION, packetTypeName,
} from "./constants.ts";
import { FrameReader, openPacket, sealPacket } from "./packet.ts";
import type { Frame } from "./packet.ts";

export interface TacacsClientOptions {
  host: string;
  port: number;
  key: Buffer | string;
  /** Share one connection between sessions (§4.3). Default false: a connection per session. */
  singleConnect?: boolean;
  /** Seconds to wait for a connection and for each reply. Default 5. */
  timeout?: number;
  /** Forces this minor version on every packet (to test a server); default is §5.4's choice. */
  minorVersion?: number;
}

export interface AuthenOptions {
  port?: string;
  remAddr?: string;
  privLvl?: number;
  service?: number;
}

/** An authorization request; what a device usually leaves alone defaults as in `requestFields`. */
export type AuthorizeRequest = Pick<AuthorRequest, "user" | "args"> &
  Partial<Pick<AuthorRequest, "port" | "remAddr" | "privLvl" | "authenMethod" | "authenType" | "authenService">>;

/** An accounting request: the same fields plus the START/STOP/WATCHDOG flags. */
export type AccountRequest = AuthorizeRequest & { flags: number };

export interface AsciiResult {
  reply: AuthenReply;
  /** Every GETUSER, GETPASS and GETDATA reply before the final one, in order. */
  prompts: AuthenReply[];
}

/** An ASCII login that keeps prompting is given up after this many CONTINUEs. */
const MAX_ASCII_ROUNDS = 10;

const hex32 = (n: number): string => `0x${n.toString(16).padStart(8, "0")}`;

type Negotiation = "fresh" | "pending" | "agreed" | "refused";

/** One TCP connection and the sessions waiting for a reply on it. */
class Link {
  /** Single-connect state of a shared link (§4.3); the server's first reply settles it. */
  negotiation: Negotiation = "fresh";
  closed = false;
  readonly done: Promise<void>;
  /** Settles when the negotiation does or the connection closes. */
  readonly agreement: Promise<void>;
  readonly sessions = new Set<number>();
  private settleAgreement!: () => void;
  private readonly waiters = new Map<number, { resolve(f: Frame): void; reject(e: Error): void }>();
  private readonly reader = new FrameReader({ maxBodyLength: MAX_BODY_LENGTH });
  private failure: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly shared: boolean,
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
      for (const w of this.waiters.values()) w.reject(err);
      this.waiters.clear();
    });
  }

  static open(host: string, port: number, timeoutMs: number, shared: boolean): Promise<Link> {
    const where = `${host}:${port}`;
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const onError = (err: Error) => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to TACACS+ server ${where}: ${err.message}`));
      };
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`cannot connect to TACACS+ server ${where}: no connection within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      socket.once("error", onError);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.off("error", onError);
        resolve(new Link(socket, shared, where, timeoutMs));
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
    waiter.resolve(frame);
  }

  /** Writes one packet of session `sessionId` and waits for the server's next packet in it. */
  exchange(packet: Buffer, sessionId: number, label: string): Promise<Frame> {
    if (this.closed) return Promise.reject(this.failure ?? new Error(`TACACS+ connection to ${this.where} is closed`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(sessionId);
        // Until the first reply we cannot know whether the server multiplexes; give up on it.
        if (this.negotiation === "pending") {
          this.failure ??= new Error(`TACACS+ server ${this.where} never answered the first session on this connection`);
          this.socket.destroy();
        }
        reject(new Error(`no reply from TACACS+ server ${this.where} within ${this.timeoutMs / 1000} s (${label})`));
      }, this.timeoutMs);
      this.waiters.set(sessionId, {
        resolve: (frame) => (clearTimeout(timer), resolve(frame)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      });
      this.socket.write(packet);
    });
  }

  /** Writes a packet that expects no reply. */
  send(packet: Buffer): void {
    if (!this.closed) this.socket.write(packet);
  }

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
class Session {
  private seqNo = 1;

  constructor(
    private readonly link: Link,
    private readonly key: Buffer,
    private readonly type: number,
    private readonly minorVersion: number,
    readonly sessionId: number,
  ) {}

  private seal(seqNo: number, body: Buffer): Buffer {
    const flags = this.link.shared ? HeaderFlag.SingleConnect : 0;
    const header = { majorVersion: TAC_PLUS_MAJOR_VERSION, minorVersion: this.minorVersion, type: this.type };
    return sealPacket({ ...header, seqNo, flags, sessionId: this.sessionId }, body, this.key);
  }

  /** Sends `body` and returns the decoded reply, or throws saying what was wrong with it. */
  async request<T>(body: Buffer, decode: (b: Buffer) => BodyResult<T>): Promise<T> {
    const seqNo = this.seqNo;
    const label = `${packetTypeName(this.type)} session ${hex32(this.sessionId)}, seq_no ${seqNo}`;
    const { header: h, rawBody } = await this.link.exchange(this.seal(seqNo, body), this.sessionId, label);
    const bad = (what: string) => new Error(`bad TACACS+ reply (${label}): ${what}`);
    if (h.sessionId !== this.sessionId) throw bad(`session_id is ${hex32(h.sessionId)}`);
    if (h.type !== this.type) throw bad(`type is ${packetTypeName(h.type)}`);
    if (h.seqNo !== seqNo + 1) throw bad(`seq_no is ${h.seqNo}, expected ${seqNo + 1}`);
    if (h.flags & HeaderFlag.Unencrypted) throw bad("the Unencrypted flag is set although a key is in use");
    if (h.length === 0) {
      throw bad("empty body: the server could not read the request (RFC 8907 §4.5); is the key the same on both sides?");
    }
    const r = decode(openPacket(h, rawBody, this.key));
    if (!r.ok) throw bad(`it did not decode (${r.reason} at offset ${r.offset}); the server's key is probably different`);
    this.seqNo = seqNo + 2;
    return r.value;
  }

  /** CONTINUE with the ABORT flag (§5.3): ends the session on the server; nothing comes back. */
  abort(reason: string): void {
    const body = encodeAuthenContinue({ flags: AuthenContinueFlag.Abort, userMsg: Buffer.alloc(0), data: Buffer.from(reason) });
    this.link.send(this.seal(this.seqNo, body));
  }
}

const PROMPTS: ReadonlySet<number> = new Set([AuthenStatus.GetUser, AuthenStatus.GetPass, AuthenStatus.GetData]);

export class TacacsClient {
  private readonly key: Buffer;
  private readonly timeoutMs: number;
  private readonly links = new Set<Link>();
  private shared: Promise<Link> | undefined;
  /** The server answered a single-connect request without the flag: a connection per session. */
  private refused = false;
  private closed = false;

  private constructor(private readonly opts: TacacsClientOptions) {
    this.key = typeof opts.key === "string" ? Buffer.from(opts.key, "utf8") : opts.key;
    this.timeoutMs = (opts.timeout ?? 5) * 1000;
  }

  /** With singleConnect, opens the shared connection now so a bad address fails here. */
  static async connect(opts: TacacsClientOptions): Promise<TacacsClient> {
    const client = new TacacsClient(opts);
    if (opts.singleConnect) await client.sharedLink();
    return client;
  }

  authenPap(user: string, password: string, opts: AuthenOptions = {}): Promise<AuthenReply> {
    return this.oneShot(start(user, AuthenType.Pap, AuthenService.Login, opts, Buffer.from(password, "utf8")));
  }

  /** data = PPP id, 16-octet challenge, MD5(id, password, challenge) (§5.4.2.3, RFC 1994). */
  authenChap(user: string, password: string, opts: AuthenOptions = {}): Promise<AuthenReply> {
    const id = randomBytes(1);
    const challenge = randomBytes(16);
    const response = createHash("md5").update(id).update(password, "utf8").update(challenge).digest();
    return this.oneShot(start(user, AuthenType.Chap, AuthenService.Ppp, opts, Buffer.concat([id, challenge, response])));
  }

  /**
   * An ASCII login (§5.4.2.1): GETUSER is answered with `user` (or the next answer when user is
   * null), GETPASS with `password`, GETDATA with the next of `answers`. Returns the final reply
   * and every prompt before it.
   */
  authenAscii(user: string | null, password: string, opts: AuthenOptions & { answers?: string[] } = {}): Promise<AsciiResult> {
    const first = start(user ?? "", AuthenType.Ascii, AuthenService.Login, opts, Buffer.alloc(0));
    return this.ascii(first, user, password, [...(opts.answers ?? [])]);
  }

  /** Enable mode (§5.4.2.4): an ASCII login with service ENABLE at the requested level. */
  async authenEnable(user: string, password: string, privLvl: number): Promise<AuthenReply> {
    const first = start(user, AuthenType.Ascii, AuthenService.Enable, { privLvl }, Buffer.alloc(0));
    return (await this.ascii(first, user, password, [])).reply;
  }

  authorize(req: AuthorizeRequest): Promise<AuthorResponse> {
    const body = encodeAuthorRequest(requestFields(req));
    return this.run(PacketType.Authorization, MinorVersion.Default, (s) => s.request(body, decodeAuthorResponse));
  }

  account(req: AccountRequest): Promise<AcctReply> {
    const body = encodeAcctRequest({ flags: req.flags, ...requestFields(req) });
    return this.run(PacketType.Accounting, MinorVersion.Default, (s) => s.request(body, decodeAcctReply));
  }

  /** For hostile-input tests: send raw bytes on a fresh connection, collect what comes back until close or timeout. */
  static exchangeRaw(host: string, port: number, bytes: Buffer, waitMs: number): Promise<{ data: Buffer; closed: boolean }> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let connected = false;
      const socket = connect({ host, port }, () => {
        connected = true;
        socket.write(bytes);
      });
      const finish = (closed: boolean) => {
        clearTimeout(timer);
        socket.destroy();
        resolve({ data: Buffer.concat(chunks), closed }); // later calls are no-ops
      };
      const timer = setTimeout(() => finish(false), waitMs);
      socket.on("data", (chunk: Buffer) => chunks.push(chunk));
      // Before connecting an error is a failure; after it, a reset is the server hanging up.
      socket.on("error", (err) => {
        if (connected) return;
        clearTimeout(timer);
        reject(err);
      });
      socket.on("close", () => finish(true));
    });
  }

  /** Closes every connection; sessions still waiting reject. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.links].map((l) => l.close()));
  }

  /** PAP and CHAP: minor version 1, a START and its one REPLY (§5.4.2.2, §5.4.2.3). */
  private oneShot(first: AuthenStart): Promise<AuthenReply> {
    return this.run(PacketType.Authentication, MinorVersion.One, (s) => s.request(encodeAuthenStart(first), decodeAuthenReply));
  }

  private ascii(first: AuthenStart, user: string | null, password: string, answers: string[]): Promise<AsciiResult> {
    return this.run(PacketType.Authentication, MinorVersion.Default, async (s) => {
      const prompts: AuthenReply[] = [];
      let reply = await s.request(encodeAuthenStart(first), decodeAuthenReply);
      for (let round = 0; PROMPTS.has(reply.status); round++) {
        prompts.push(reply);
        const answer =
          reply.status === AuthenStatus.GetPass ? password
          : reply.status === AuthenStatus.GetUser ? (user ?? answers.shift())
          : answers.shift();
        if (round >= MAX_ASCII_ROUNDS || answer === undefined) {
          const why =
            answer === undefined ? `no answer left for the prompt ${JSON.stringify(reply.serverMsg)}`
            : `still prompting after ${MAX_ASCII_ROUNDS} answers`;
          s.abort(why);
          throw new Error(`TACACS+ ASCII login aborted: ${why}`);
        }
        const body = encodeAuthenContinue({ flags: 0, userMsg: Buffer.from(answer, "utf8"), data: Buffer.alloc(0) });
        reply = await s.request(body, decodeAuthenReply);
      }
      return { reply, prompts };
    });
  }

  /** Runs one session on a suitable connection, then releases the connection. */
  private async run<T>(type: number, minorVersion: number, body: (s: Session) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error("TACACS+ client is closed");
    const link = await this.acquire();
    let sessionId: number;
    do sessionId = randomBytes(4).readUInt32BE(0);
    while (link.sessions.has(sessionId));
    link.sessions.add(sessionId);
    try {
      return await body(new Session(link, this.key, type, this.opts.minorVersion ?? minorVersion, sessionId));
    } finally {
      link.sessions.delete(sessionId);
      if (link.negotiation === "refused") this.refused = true;
      if (!link.shared || link.negotiation === "refused") await link.close();
    }
  }

  /** A connection for the next session: the shared one once the server agreed to it. */
  private async acquire(): Promise<Link> {
    for (;;) {
      if (!this.opts.singleConnect || this.refused) return this.open(false);
      const link = await this.sharedLink();
      if (link.negotiation === "agreed") return link;
      if (link.negotiation === "fresh") {
        link.negotiation = "pending"; // this session's first packet asks the question
        return link;
      }
      if (link.negotiation === "pending") await link.agreement;
      else this.refused = true;
    }
  }

  private async sharedLink(): Promise<Link> {
    for (;;) {
      if (!this.shared) {
        const opening = (this.shared = this.open(true));
        opening.catch(() => {
          if (this.shared === opening) this.shared = undefined; // the next call tries again
        });
      }
      const current = this.shared;
      const link = await current;
      if (!link.closed) return link;
      if (this.shared === current) this.shared = undefined;
    }
  }

  private async open(shared: boolean): Promise<Link> {
    const link = await Link.open(this.opts.host, this.opts.port, this.timeoutMs, shared);
    if (this.closed) {
      await link.close(); // close() ran while we were connecting
      throw new Error("TACACS+ client is closed");
    }
    this.links.add(link);
    void link.done.then(() => this.links.delete(link));
    return link;
  }
}

function start(user: string, authenType: number, defaultService: number, opts: AuthenOptions, data: Buffer): AuthenStart {
  return {
    action: AuthenAction.Login,
    privLvl: opts.privLvl ?? PrivLevel.User,
    authenType,
    authenService: opts.service ?? defaultService,
    user,
    port: opts.port ?? "",
    remAddr: opts.remAddr ?? "",
    data,
  };
}

/** Defaults: a user logged in with TACACS+ over ASCII for a login service at level 1. */
function requestFields(req: AuthorizeRequest): AuthorRequest {
  return {
    authenMethod: req.authenMethod ?? AuthenMethod.TacacsPlus,
    privLvl: req.privLvl ?? PrivLevel.User,
    authenType: req.authenType ?? AuthenType.Ascii,
    authenService: req.authenService ?? AuthenService.Login,
    user: req.user,
    port: req.port ?? "",
    remAddr: req.remAddr ?? "",
    args: req.args,
  };
}
