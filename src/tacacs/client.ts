// A TACACS+ client over TCP (RFC 8907) or TLS 1.3 (RFC 9887), the way a network device talks to
// Tally: used by Tally's tests and by the benchmark. Each call is one session with a random session_id.
// Without singleConnect every session gets its own TCP connection, as most devices do; with
// it, sessions share one connection and replies are demultiplexed by session_id (§4.3). Every
// reply is checked (session, type, seq_no, decodability) so a confused or wrongly keyed
// server fails loudly instead of being believed.

import { createHash, randomBytes } from "node:crypto";
import { connect } from "node:net";
import {
  decodeAcctReply, decodeAuthenReply, decodeAuthorResponse,
  encodeAcctRequest, encodeAuthenContinue, encodeAuthenStart, encodeAuthorRequest,
} from "./bodies.ts";
import type { AcctReply, AcctRequest, AuthenReply, AuthenStart, AuthorRequest, AuthorResponse } from "./bodies.ts";
import { AuthenAction, AuthenMethod, AuthenService, AuthenStatus, AuthenType, MinorVersion, PacketType, PrivLevel } from "./constants.ts";
import { Link, Session, type LinkTransport } from "./client-link.ts";

export interface TacacsClientOptions {
  host: string;
  port: number;
  /** The obfuscation key over TCP; unused (and may be omitted) over TLS. */
  key?: Buffer | string;
  /**
   * TLS 1.3 instead of TCP (RFC 9887): our certificate and key, the CA that signed the server's,
   * and the name to check it against (default: host). Packets then carry the UNENCRYPTED flag.
   */
  tls?: LinkTransport["tls"];
  /** Our source address (tests use several loopback addresses). */
  localAddress?: string;
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

const PROMPTS: ReadonlySet<number> = new Set([AuthenStatus.GetUser, AuthenStatus.GetPass, AuthenStatus.GetData]);

export class TacacsClient {
  private readonly key: Buffer;
  private readonly timeoutMs: number;
  private readonly links = new Set<Link>();
  private shared: Promise<Link> | undefined;
  /** The shared connection once the server has agreed to single-connect (until it closes). */
  private agreed: Link | undefined;
  /** The server answered a single-connect request without the flag: a connection per session. */
  private refused = false;
  private closed = false;

  private constructor(private readonly opts: TacacsClientOptions) {
    if (opts.key === undefined && opts.tls === undefined) throw new Error("a TACACS+ client over TCP needs a key");
    this.key = opts.key === undefined ? Buffer.alloc(0) : typeof opts.key === "string" ? Buffer.from(opts.key, "utf8") : opts.key;
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
    const body = encodeAcctRequest(requestFields(req, req.flags));
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
    // The shared connection, once the server agreed to it, is taken at once: no promises to
    // wait through for every session of a busy client.
    const agreed = this.agreed;
    const link = agreed !== undefined && !agreed.closed && !this.refused ? agreed : await this.acquire();
    let sessionId: number;
    do sessionId = randomSessionId();
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
      if (link.negotiation === "agreed") return (this.agreed = link);
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
    const link = await Link.open(this.opts.host, this.opts.port, this.timeoutMs, shared, { tls: this.opts.tls, localAddress: this.opts.localAddress });
    if (this.closed) {
      await link.close(); // close() ran while we were connecting
      throw new Error("TACACS+ client is closed");
    }
    this.links.add(link);
    void link.done.then(() => this.links.delete(link));
    return link;
  }
}

/**
 * Session ids are random (RFC 8907 section 4.1), drawn from a pool of CSPRNG octets refilled
 * 4 KiB at a time: a randomBytes call per session cost a load generator more than sealing the
 * packet.
 */
let idPool = Buffer.alloc(0);
let idAt = 0;
function randomSessionId(): number {
  if (idAt + 4 > idPool.length) {
    idPool = randomBytes(4096);
    idAt = 0;
  }
  const id = idPool.readUInt32BE(idAt);
  idAt += 4;
  return id;
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

/**
 * Defaults: a user logged in with TACACS+ over ASCII for a login service at level 1. `flags`
 * are the accounting flags; an authorization request has none (encodeAuthorRequest reads no
 * such field). One literal, not a spread of the fields into another object: V8's object spread
 * cost a load generator microseconds per request.
 */
function requestFields(req: AuthorizeRequest, flags = 0): AcctRequest {
  return {
    flags,
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
