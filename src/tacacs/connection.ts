// One TACACS+ connection, whatever carries it (RFC 8907 over TCP, RFC 9887 over TLS 1.3):
// framing with a body cap and a per-packet deadline, seq_no rules, single-connect mode, then each
// session goes to authentication, authorization or accounting. Accounting answers SUCCESS only
// after the record is committed. The transport differs in one rule only: over TCP bodies are
// obfuscated with the client's key and the UNENCRYPTED flag is refused; over TLS every packet
// carries the flag and no body is obfuscated (RFC 9887 section 4).

import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { AccountingService } from "../accounting/service.ts";
import { secondsSince, type RequestMetrics, type RequestOutcome, type RequestType } from "../metrics/sink.ts";
import type { PluginHost } from "../plugins/host.ts";
import { authorize, commandLine, type AuthorizationDecision, type AuthorizationRequest } from "../auth/authorization.ts";
import type { UserDirectory } from "../auth/users.ts";
import { AuthenConversation } from "./authen.ts";
import {
  decodeAcctRequest,
  decodeAuthenContinue,
  decodeAuthenStart,
  decodeAuthorRequest,
  encodeAcctReply,
  encodeAuthenReply,
  encodeAuthorResponse,
  formatArg,
  parseArg,
  type AcctRequest,
  type AuthorRequest,
} from "./bodies.ts";
import { AcctStatus, AuthenStatus, AuthorStatus, HeaderFlag, MAX_ARG_COUNT, MAX_SHORT_FIELD_LENGTH, PacketType, acctStatusName, authenStatusName, authorStatusName, packetTypeName } from "./constants.ts";
import type { TacacsHeader } from "./header.ts";
import { FrameReader, openPacket, sealPacket, type Frame } from "./packet.ts";
import type { TacacsDropReason } from "./server.ts";
import { recordFromAcctRequest } from "./to-record.ts";
import type { PendingGate } from "./pending.ts";

/** Who is on the other end, and how we reached them. */
export interface TacacsPeer {
  /** The configured client's name. */
  name: string;
  /** The obfuscation key on the TCP listener; null over TLS, where nothing is obfuscated. */
  key: Buffer | null;
}

/** What a connection needs from its server: settings, collaborators, counters and the drop counter. */
export interface ConnectionContext {
  options: { maxBodyLength: number; loginRounds: number; packetTimeout: number };
  /** Requests being worked on, all connections together (tacacs.maxPending). */
  pending: PendingGate;
  /** Called when this connection stops being read because `pending` is full. */
  paused(source: string): void;
  deps: { users: UserDirectory; accounting: AccountingService; plugins: () => PluginHost; logger: Logger; metrics?: RequestMetrics };
  counters: { requests: Record<string, number>; replies: Record<string, number> };
  drop(reason: TacacsDropReason, source: string, extra?: Record<string, unknown>): void;
}

/** Over TLS the key is never used (every packet carries the UNENCRYPTED flag); sealPacket still takes one. */
const NO_KEY = Buffer.alloc(0);

interface SessionState {
  type: number;
  /** The last seq_no the client sent; the next must be two more. */
  lastSeq: number;
  authen?: AuthenConversation;
}

function requestType(type: number): RequestType {
  return type === PacketType.Authentication ? "authen" : type === PacketType.Authorization ? "author" : "acct";
}

/** A reply's status as a request outcome (accounting SUCCESS is refined by the caller). */
function replyOutcome(type: number, status: number): RequestOutcome {
  if (type === PacketType.Authentication) {
    if (status === AuthenStatus.Pass) return "accept";
    if (status === AuthenStatus.Fail) return "reject";
    if (status === AuthenStatus.GetUser || status === AuthenStatus.GetPass || status === AuthenStatus.GetData) return "challenge";
    return "error";
  }
  if (type === PacketType.Authorization) {
    if (status === AuthorStatus.PassAdd || status === AuthorStatus.PassRepl) return "accept";
    return status === AuthorStatus.Fail ? "reject" : "error";
  }
  return status === AcctStatus.Success ? "ok" : "error";
}

/** The accounting replies, SUCCESS and ERROR without a message: encoded once, sealed per request. */
const acctReplyBody = new Map<number, Buffer>(
  [AcctStatus.Success, AcctStatus.Error].map((status) => [status, encodeAcctReply({ status, serverMsg: "", data: Buffer.alloc(0) })]),
);

/** What to send when a session must end in error, per packet type. */
function errorBody(type: number, message: string): Buffer {
  if (type === PacketType.Authentication) return encodeAuthenReply({ status: AuthenStatus.Error, flags: 0, serverMsg: message, data: Buffer.alloc(0) });
  if (type === PacketType.Authorization) return encodeAuthorResponse({ status: AuthorStatus.Error, args: [], serverMsg: message, data: Buffer.alloc(0) });
  return encodeAcctReply({ status: AcctStatus.Error, serverMsg: message, data: Buffer.alloc(0) });
}

export class Connection {
  private readonly reader: FrameReader;
  private readonly sessions = new Map<number, SessionState>();
  /** When each session's latest packet arrived (performance.now()), until it is answered. */
  private readonly receivedAt = new Map<number, number>();
  /** Decided by the first packet: the client asks with the flag and we echo it (section 4.3). */
  private singleConnect: boolean | null = null;
  private closing = false;
  /** Runs while part of a packet is buffered: a packet once begun must be whole within packetTimeout. */
  private packetTimer: NodeJS.Timeout | undefined;
  /** Over TLS (RFC 9887): every packet carries the UNENCRYPTED flag, none is obfuscated. */
  private readonly overTls: boolean;
  /** Frames read but not yet served (reading stopped for tacacs.maxPending). */
  private readonly queue: Frame[] = [];
  /** This connection's requests being worked on. */
  private inFlight = 0;
  /** Not read until the pending work has room (see drain). */
  private paused = false;
  /** Replies are gathered until the current callback and its promises are done (see send). */
  private corked = false;

  constructor(
    private readonly ctx: ConnectionContext,
    private readonly socket: Socket,
    private readonly client: TacacsPeer,
    private readonly address: string,
    private readonly source: string,
  ) {
    this.overTls = client.key === null;
    this.reader = new FrameReader({ maxBodyLength: ctx.options.maxBodyLength });
  }

  listen(): void {
    this.socket.on("data", (chunk: Buffer) => {
      const { frames, failure } = this.reader.push(chunk);
      this.queue.push(...frames);
      this.drain();
      if (failure) {
        this.ctx.drop(failure.reason, this.source, { client: this.client.name, offset: failure.offset });
        this.flush(); // the replies to the frames before the bad one, as when each was written at once
        this.socket.destroy();
        return;
      }
      if (!this.paused) this.watchPacket(frames.length > 0);
    });
    this.socket.once("close", () => {
      clearTimeout(this.packetTimer);
      this.ctx.pending.cancel(this.resume);
    });
  }

  /**
   * Serves the frames read so far, in order, until tacacs.maxPending requests are pending and
   * this connection has one of them: then it stops reading (TCP holds the device's next packets)
   * until there is room. A connection with nothing pending is always served, so a login on
   * another connection goes on while accounting is backed up; the pending total stays within
   * maxPending plus one per connection.
   */
  private drain(): void {
    while (this.queue.length > 0 && !this.socket.destroyed) {
      if (this.ctx.pending.full && this.inFlight > 0) return this.pause();
      const f = this.queue.shift()!;
      this.onFrame(f.header, f.rawBody);
    }
  }

  /** The packet deadline is off while paused: the rest of a packet we do not read is not the device's delay. */
  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
    clearTimeout(this.packetTimer);
    this.packetTimer = undefined;
    this.ctx.paused(this.source);
    this.ctx.pending.whenOpen(this.resume);
  }

  /** Called when the gate has room, or when this connection's last pending request is answered. */
  private readonly resume = (): void => {
    if (!this.paused || this.socket.destroyed) return;
    this.paused = false;
    this.ctx.pending.cancel(this.resume);
    this.drain();
    if (this.paused) return;
    this.socket.resume();
    this.watchPacket(false);
  };

  /**
   * Starts the packet deadline when a packet has begun and stops it when none is pending. Each
   * octet resets the idle timer, so without this a byte-a-second sender would hold the
   * connection forever; `completed` restarts the clock for a packet that began in the same chunk
   * that finished the one before.
   */
  private watchPacket(completed: boolean): void {
    if (completed || this.reader.buffered === 0) {
      clearTimeout(this.packetTimer);
      this.packetTimer = undefined;
    }
    if (this.reader.buffered === 0 || this.packetTimer !== undefined) return;
    this.packetTimer = setTimeout(() => {
      this.ctx.drop("packet-timeout", this.source, { client: this.client.name, buffered: this.reader.buffered });
      this.flush();
      this.socket.destroy();
    }, this.ctx.options.packetTimeout * 1000);
  }

  private send(request: TacacsHeader, body: Buffer): void {
    if (this.socket.destroyed) return;
    // A request at seq_no 255 has no reply number left (RFC 8907 section 4.1): it gets none, and
    // the caller ends the connection. Sealing seq_no 256 would throw out of the socket handler.
    if (request.seqNo >= 255) return;
    const packet = sealPacket(
      {
        majorVersion: request.majorVersion,
        minorVersion: request.minorVersion,
        type: request.type,
        seqNo: request.seqNo + 1,
        // Over TLS replies carry the UNENCRYPTED flag too, error replies included (RFC 9887 section 4).
        flags: (this.singleConnect ? HeaderFlag.SingleConnect : 0) | (this.overTls ? HeaderFlag.Unencrypted : 0),
        sessionId: request.sessionId,
      },
      body,
      this.client.key ?? NO_KEY,
    );
    // The replies of one read, or of one batch the store committed, go out in one write (a
    // writev) instead of a system call each: cork now, uncork once this callback and the
    // promise continuations it started are done. end() uncorks by itself; destroy() does not,
    // so its callers flush first.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.flush);
    }
    this.socket.write(packet);
  }

  /** Writes the replies gathered since the first send of this turn (see send). */
  private readonly flush = (): void => {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  };

  /** Ends a session; without single-connect the connection ends with its last session. */
  private endSession(sessionId: number): void {
    this.sessions.delete(sessionId);
    if (!this.singleConnect && this.sessions.size === 0) this.socket.end();
  }

  /** Answers ERROR and ends the session; `close` also ends the connection (a peer we cannot trust). */
  private fail(header: TacacsHeader, reason: TacacsDropReason, message: string, close: boolean): void {
    this.ctx.drop(reason, this.source, { client: this.client.name, session: header.sessionId, seq: header.seqNo });
    this.send(header, errorBody(header.type, message));
    this.countReply(header, "ERROR", "dropped");
    this.sessions.delete(header.sessionId);
    if (close || !this.singleConnect) {
      this.closing = true;
      this.socket.end();
    }
  }

  /** Counts a reply sent to `request`, and the request with its outcome and latency. */
  private countReply(request: TacacsHeader, status: string, outcome: RequestOutcome): void {
    const key = `${packetTypeName(request.type)} ${status}`;
    this.ctx.counters.replies[key] = (this.ctx.counters.replies[key] ?? 0) + 1;
    const receivedAt = this.receivedAt.get(request.sessionId);
    this.receivedAt.delete(request.sessionId);
    this.ctx.deps.metrics?.request("tacacs", requestType(request.type), outcome, receivedAt === undefined ? null : secondsSince(receivedAt));
  }

  private onFrame(header: TacacsHeader, rawBody: Buffer): void {
    if (this.closing) return;
    this.receivedAt.set(header.sessionId, performance.now());
    if (this.singleConnect === null) this.singleConnect = (header.flags & HeaderFlag.SingleConnect) !== 0;
    const typeName = packetTypeName(header.type);
    this.ctx.counters.requests[typeName] = (this.ctx.counters.requests[typeName] ?? 0) + 1;

    const unencrypted = (header.flags & HeaderFlag.Unencrypted) !== 0;
    // RFC 9887 section 4: over TLS a packet without the flag gets ERROR (with the flag set) and
    // its session ends; we also close, as for a wrong key over TCP: the peer is misconfigured.
    if (this.overTls && !unencrypted) {
      return this.fail(header, "obfuscated-over-tls", "over TLS every packet must have the UNENCRYPTED flag (RFC 9887)", true);
    }
    if (!this.overTls && unencrypted) {
      return this.fail(header, "unencrypted-refused", "unencrypted packets are refused outside TLS", true);
    }
    // seq_no: a session starts at 1, the client's are odd and rise by two, and none may wrap.
    const existing = this.sessions.get(header.sessionId);
    const seqOk =
      header.seqNo % 2 === 1 &&
      header.seqNo < 255 &&
      (existing === undefined ? header.seqNo === 1 : header.seqNo === existing.lastSeq + 2 && header.type === existing.type);
    if (!seqOk) return this.fail(header, "bad-seq-no", "seq_no out of sequence", header.seqNo >= 255);

    const body = openPacket(header, rawBody, this.client.key ?? NO_KEY);
    const session: SessionState = existing ?? { type: header.type, lastSeq: header.seqNo };
    session.lastSeq = header.seqNo;
    this.sessions.set(header.sessionId, session);

    const work =
      header.type === PacketType.Authentication
        ? this.onAuthentication(header, body, session)
        : header.type === PacketType.Authorization
          ? this.onAuthorization(header, body)
          : this.onAccounting(header, body);
    this.inFlight++;
    this.ctx.pending.take();
    // One reaction per request (what pending.hold, a then and a catch did in three): the gate's
    // place first, then this connection's count, then the ERROR reply of a session that threw.
    work.then(this.settled, (err: unknown) => {
      this.settled();
      this.ctx.deps.logger.error({ err, client: this.client.name }, "TACACS+ session failed");
      this.send(header, errorBody(header.type, "internal error"));
      this.countReply(header, "ERROR", "error");
      this.endSession(header.sessionId);
    });
  }

  /** A request's work settled, either way. */
  private readonly settled = (): void => {
    this.ctx.pending.release();
    this.inFlight--;
    if (this.inFlight === 0) this.resume();
  };

  private async onAuthentication(header: TacacsHeader, body: Buffer, session: SessionState): Promise<void> {
    let step;
    if (session.authen === undefined) {
      const start = decodeAuthenStart(body);
      if (!start.ok) return this.fail(header, "bad-key-or-malformed", "bad key or malformed packet", true);
      session.authen = new AuthenConversation(start.value, {
        users: this.ctx.deps.users,
        plugins: this.ctx.deps.plugins(),
        client: this.client.name,
        nas: this.address,
        loginRounds: this.ctx.options.loginRounds,
      });
      step = await session.authen.begin();
    } else {
      const cont = decodeAuthenContinue(body);
      if (!cont.ok) return this.fail(header, "bad-key-or-malformed", "bad key or malformed packet", true);
      step = await session.authen.next(cont.value);
    }
    this.send(header, encodeAuthenReply(step.reply));
    const status = authenStatusName(step.reply.status);
    this.countReply(header, status, replyOutcome(header.type, step.reply.status));
    if (step.done) {
      this.ctx.deps.logger.info({ client: this.client.name, user: step.user, result: status, reason: step.reason }, "TACACS+ authentication");
      this.endSession(header.sessionId);
    }
  }

  private async onAuthorization(header: TacacsHeader, body: Buffer): Promise<void> {
    const decoded = decodeAuthorRequest(body);
    if (!decoded.ok) return this.fail(header, "bad-key-or-malformed", "bad key or malformed packet", true);
    const req: AuthorRequest = decoded.value;
    const args = req.args.map(parseArg);
    const request = { service: args.find((a) => a.name === "service")?.value ?? "", command: commandLine(args), args };
    const decision = await this.decideAuthorization(req.user, request);
    const status =
      decision.status === "pass-add" ? AuthorStatus.PassAdd : decision.status === "pass-repl" ? AuthorStatus.PassRepl : AuthorStatus.Fail;
    const replyArgs = decision.status === "fail" ? [] : decision.args.map((a) => formatArg(a.name, a.value, a.mandatory));
    // A request's args come back in a PASS_REPL re-formatted: a bare 255-octet name gains an "=",
    // invalid UTF-8 grows into U+FFFD. Such a reply does not fit its length fields: answer ERROR.
    if (!argsFit(replyArgs)) {
      this.ctx.deps.logger.warn({ client: this.client.name, user: req.user, args: replyArgs.length }, "TACACS+ authorization reply does not fit a packet: answered ERROR");
      this.send(header, encodeAuthorResponse({ status: AuthorStatus.Error, args: [], serverMsg: "authorization reply too long", data: Buffer.alloc(0) }));
      this.countReply(header, "ERROR", "error");
      return this.endSession(header.sessionId);
    }
    this.send(header, encodeAuthorResponse({ status, args: replyArgs, serverMsg: "", data: Buffer.alloc(0) }));
    this.countReply(header, authorStatusName(status), replyOutcome(header.type, status));
    this.ctx.deps.logger.info(
      { client: this.client.name, user: req.user, service: request.service, command: request.command, result: authorStatusName(status), reason: decision.reason },
      "TACACS+ authorization",
    );
    this.endSession(header.sessionId);
  }

  /** Plugins first (permit / deny / next), then the configured rules. */
  private async decideAuthorization(user: string, request: AuthorizationRequest): Promise<AuthorizationDecision> {
    const host = this.ctx.deps.plugins();
    if (host.size > 0 && user !== "") {
      const verdict = await host.authorize({ protocol: "tacacs", user, client: this.client.name, ...request });
      if (verdict.status === "deny") return { status: "fail", reason: `${verdict.plugin}: ${verdict.reason ?? "denied"}` };
      if (verdict.status === "permit") {
        const args = Object.entries(verdict.args ?? {}).map(([name, value]) => ({ name, value, mandatory: true }));
        return { status: "pass-add", args, reason: `${verdict.plugin}: ${verdict.reason ?? "permitted"}` };
      }
    }
    const entry = user === "" ? null : await this.ctx.deps.users.find(user);
    return entry === null ? { status: "fail", reason: "unknown user" } : authorize(entry.tacacs, request);
  }

  private async onAccounting(header: TacacsHeader, body: Buffer): Promise<void> {
    const decoded = decodeAcctRequest(body);
    if (!decoded.ok) return this.fail(header, "bad-key-or-malformed", "bad key or malformed packet", true);
    const req: AcctRequest = decoded.value;
    const result = recordFromAcctRequest(req, { client: this.client.name, nas: this.address, receivedAt: Date.now() });
    if (!result.ok) return this.fail(header, "invalid-flags", `invalid accounting flags 0x${req.flags.toString(16)}`, false);
    let status: number = AcctStatus.Success;
    let ended: RequestOutcome;
    try {
      // SUCCESS only once the record is durable; a store failure answers ERROR (section 7.3),
      // and so does a plugin's `error` (the record stays stored; the device resends it).
      const outcome = await this.ctx.deps.accounting.account(result.record);
      if (outcome.status === "error") status = AcctStatus.Error;
      ended = outcome.status === "error" ? "error" : outcome.result.duplicate ? "duplicate" : outcome.status === "disconnect" ? "disconnect" : "ok";
    } catch (err) {
      this.ctx.drop("store-failed", this.source, { client: this.client.name, err: String(err) });
      status = AcctStatus.Error;
      ended = "dropped";
    }
    this.send(header, acctReplyBody.get(status)!);
    this.countReply(header, acctStatusName(status), ended);
    this.endSession(header.sessionId);
  }
}

/** Whether `args` fit an authorization reply: at most 255 of them, each at most 255 octets. */
function argsFit(args: readonly string[]): boolean {
  return args.length <= MAX_ARG_COUNT && args.every((a) => Buffer.byteLength(a, "utf8") <= MAX_SHORT_FIELD_LENGTH);
}
