// The TACACS+ TCP listener (RFC 8907): device check before anything else, framing with a body
// cap, seq_no rules, single-connection mode, idle timeout and a connection cap; then each
// session goes to authentication, authorization or accounting. Accounting answers SUCCESS
// only after the record is committed. Every drop is counted by reason and logged once.

import { createServer, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import type { AccountingService } from "../accounting/service.ts";
import { secondsSince, type RequestMetrics, type RequestOutcome, type RequestType } from "../metrics/sink.ts";
import type { PluginHost } from "../plugins/host.ts";
import { AddressTable, normaliseAddress } from "../auth/address-table.ts";
import { authorize, commandLine, type AuthorizationDecision, type AuthorizationRequest } from "../auth/authorization.ts";
import type { UserDirectory } from "../auth/users.ts";
import type { ClientConfig } from "../config/load.ts";
import { dropLog } from "../log-throttle.ts";
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
import { FrameReader, openPacket, sealPacket } from "./packet.ts";
import { recordFromAcctRequest } from "./to-record.ts";

export const tacacsDropText = {
  "unknown-client": "source address is not a client with a tacacsKey",
  "connection-limit": "too many connections",
  "idle-timeout": "connection idle too long",
  "too-short": "header too short",
  "bad-major-version": "header major version is not 0xc",
  "bad-minor-version": "header minor version is not 0 or 1",
  "bad-type": "unknown packet type",
  "body-too-large": "header length above tacacs.maxBodyLength",
  "unencrypted-refused": "UNENCRYPTED flag outside TLS",
  "bad-key-or-malformed": "body does not decode: wrong key or malformed",
  "bad-seq-no": "seq_no out of order, even, or about to wrap",
  "invalid-flags": "accounting flags not START, STOP, WATCHDOG or WATCHDOG|START",
  "store-failed": "the store could not commit the record; answered ERROR",
} as const;
export type TacacsDropReason = keyof typeof tacacsDropText;

export interface TacacsServerOptions {
  listen: { host: string; port: number };
  idleTimeout: number;
  maxConnections: number;
  maxBodyLength: number;
  loginRounds: number;
}

export interface TacacsServerDeps {
  clients: readonly ClientConfig[];
  users: UserDirectory;
  accounting: AccountingService;
  plugins: () => PluginHost;
  logger: Logger;
  metrics?: RequestMetrics;
}

export interface TacacsCounters {
  connections: number;
  requests: Record<string, number>;
  replies: Record<string, number>;
  drops: Partial<Record<TacacsDropReason, number>>;
}

interface TacacsClient {
  name: string;
  key: Buffer;
}

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

/** What to send when a session must end in error, per packet type. */
function errorBody(type: number, message: string): Buffer {
  if (type === PacketType.Authentication) return encodeAuthenReply({ status: AuthenStatus.Error, flags: 0, serverMsg: message, data: Buffer.alloc(0) });
  if (type === PacketType.Authorization) return encodeAuthorResponse({ status: AuthorStatus.Error, args: [], serverMsg: message, data: Buffer.alloc(0) });
  return encodeAcctReply({ status: AcctStatus.Error, serverMsg: message, data: Buffer.alloc(0) });
}

function tacacsClients(clients: readonly ClientConfig[]): AddressTable<TacacsClient> {
  return new AddressTable(clients.flatMap((c) => (c.tacacsKey === null ? [] : [{ range: c.address, value: { name: c.name, key: c.tacacsKey } }])));
}

export class TacacsServer {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private clients: AddressTable<TacacsClient>;
  readonly counters: TacacsCounters = { connections: 0, requests: {}, replies: {}, drops: {} };

  constructor(
    private readonly options: TacacsServerOptions,
    private deps: TacacsServerDeps,
  ) {
    this.clients = tacacsClients(deps.clients);
  }

  /** A reload: new clients and users apply to new connections; open ones finish as they were. */
  update(patch: Partial<Pick<TacacsServerDeps, "clients" | "users">>): void {
    this.deps = { ...this.deps, ...patch };
    if (patch.clients) this.clients = tacacsClients(patch.clients);
  }

  async start(): Promise<{ address: string; port: number }> {
    const server = createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    server.maxConnections = this.options.maxConnections;
    server.on("drop", (data) => this.drop("connection-limit", `${data?.remoteAddress}:${data?.remotePort}`));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.listen.port, this.options.listen.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (err) => this.deps.logger.error({ err }, "TACACS+ listener error"));
    this.server = server;
    const a = server.address() as { address: string; port: number };
    this.deps.logger.info({ port: "tacacs", address: `${this.options.listen.host}:${a.port}` }, "TACACS+ listening");
    return a;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Give in-flight sessions their replies; idle connections go now.
    for (const s of this.sockets) s.end();
    const deadline = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, 2000);
    await closed;
    clearTimeout(deadline);
  }

  private drop(reason: TacacsDropReason, source: string, extra: Record<string, unknown> = {}): void {
    this.counters.drops[reason] = (this.counters.drops[reason] ?? 0) + 1;
    this.deps.metrics?.drop("tacacs", reason);
    // Throttled per reason and source address (src/log-throttle.ts); the counters count every drop.
    dropLog(this.deps.logger, "tacacs").warn(reason, source.slice(0, source.lastIndexOf(":")), { source, ...extra }, `TACACS+: ${tacacsDropText[reason]}`);
  }

  private onConnection(socket: Socket): void {
    const address = normaliseAddress(socket.remoteAddress ?? "");
    const source = `${address}:${socket.remotePort}`;
    const client = this.clients.find(address);
    if (client === undefined) {
      this.drop("unknown-client", source);
      socket.destroy();
      return;
    }
    this.counters.connections++;
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.setTimeout(this.options.idleTimeout * 1000, () => {
      this.drop("idle-timeout", source, { client: client.name });
      socket.destroy();
    });
    new Connection(this, socket, client, address, source).listen();
  }

  /** Used by connections; not part of the public surface. */
  context() {
    return { options: this.options, deps: this.deps, counters: this.counters, drop: this.drop.bind(this) };
  }
}

class Connection {
  private readonly reader: FrameReader;
  private readonly sessions = new Map<number, SessionState>();
  /** When each session's latest packet arrived (performance.now()), until it is answered. */
  private readonly receivedAt = new Map<number, number>();
  /** Decided by the first packet: the client asks with the flag and we echo it (section 4.3). */
  private singleConnect: boolean | null = null;
  private closing = false;
  private readonly ctx: ReturnType<TacacsServer["context"]>;

  constructor(
    server: TacacsServer,
    private readonly socket: Socket,
    private readonly client: TacacsClient,
    private readonly address: string,
    private readonly source: string,
  ) {
    this.ctx = server.context();
    this.reader = new FrameReader({ maxBodyLength: this.ctx.options.maxBodyLength });
  }

  listen(): void {
    this.socket.on("data", (chunk: Buffer) => {
      const { frames, failure } = this.reader.push(chunk);
      for (const f of frames) this.onFrame(f.header, f.rawBody);
      if (failure) {
        this.ctx.drop(failure.reason, this.source, { client: this.client.name, offset: failure.offset });
        this.socket.destroy();
      }
    });
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
        flags: this.singleConnect ? HeaderFlag.SingleConnect : 0,
        sessionId: request.sessionId,
      },
      body,
      this.client.key,
    );
    this.socket.write(packet);
  }

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

    if (header.flags & HeaderFlag.Unencrypted) {
      return this.fail(header, "unencrypted-refused", "unencrypted packets are refused outside TLS", true);
    }
    // seq_no: a session starts at 1, the client's are odd and rise by two, and none may wrap.
    const existing = this.sessions.get(header.sessionId);
    const seqOk =
      header.seqNo % 2 === 1 &&
      header.seqNo < 255 &&
      (existing === undefined ? header.seqNo === 1 : header.seqNo === existing.lastSeq + 2 && header.type === existing.type);
    if (!seqOk) return this.fail(header, "bad-seq-no", "seq_no out of sequence", header.seqNo >= 255);

    const body = openPacket(header, rawBody, this.client.key);
    const session: SessionState = existing ?? { type: header.type, lastSeq: header.seqNo };
    session.lastSeq = header.seqNo;
    this.sessions.set(header.sessionId, session);

    const work =
      header.type === PacketType.Authentication
        ? this.onAuthentication(header, body, session)
        : header.type === PacketType.Authorization
          ? this.onAuthorization(header, body)
          : this.onAccounting(header, body);
    work.catch((err: unknown) => {
      this.ctx.deps.logger.error({ err, client: this.client.name }, "TACACS+ session failed");
      this.send(header, errorBody(header.type, "internal error"));
      this.countReply(header, "ERROR", "error");
      this.endSession(header.sessionId);
    });
  }

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
    this.send(header, encodeAcctReply({ status, serverMsg: "", data: Buffer.alloc(0) }));
    this.countReply(header, acctStatusName(status), ended);
    this.endSession(header.sessionId);
  }
}

/** Whether `args` fit an authorization reply: at most 255 of them, each at most 255 octets. */
function argsFit(args: readonly string[]): boolean {
  return args.length <= MAX_ARG_COUNT && args.every((a) => Buffer.byteLength(a, "utf8") <= MAX_SHORT_FIELD_LENGTH);
}
