// The RADIUS UDP listeners (authentication 1812, accounting 1813) and the request handling they
// share with RadSec (radsec.ts): source check, decode, authenticity checks, duplicate detection
// (RFC 5080 section 2.2.2), then hand-off to access decisions or the accounting core. Every drop
// is counted by reason and logged (throttled: src/log-throttle.ts).

import { createSocket, type Socket } from "node:dgram";
import type { AddressInfo } from "node:net";
import { isIPv6 } from "node:net";
import type { Logger } from "pino";
import { dropLog } from "../log-throttle.ts";
import type { AccountingService } from "../accounting/service.ts";
import { secondsSince, type RequestMetrics, type RequestOutcome, type RequestType } from "../metrics/sink.ts";
import type { PluginHost } from "../plugins/host.ts";
import type { UserDirectory } from "../auth/users.ts";
import { decideAccess } from "./access.ts";
import { BlastRadiusPolicy } from "./blastradius.ts";
import { canonicalAddress, normaliseAddress, type ClientTable, type RadiusClient } from "./clients.ts";
import { PacketCode, packetCodeName } from "./constants.ts";
import { checkMessageAuthenticator, verifyAccountingRequest } from "./crypto.ts";
import type { Dictionary } from "./dictionary.ts";
import { dropReasonText, type DropReason } from "./drops.ts";
import { DuplicateCache } from "./duplicates.ts";
import { RadiusLimiter, type RadiusLimitSettings } from "./limits.ts";
import { buildResponse } from "./message.ts";
import { decodePacket, type RadiusPacket } from "./packet.ts";
import { recordFromAccountingRequest } from "./to-record.ts";

export interface RadiusServerOptions {
  auth: { host: string; port: number } | null;
  acct: { host: string; port: number } | null;
  receiveBuffer: number;
  /** Seconds a response is kept to answer retransmissions. */
  duplicateWindow: number;
  defaultInterimInterval: number;
}

export interface RadiusServerDeps {
  clients: ClientTable;
  dictionary: Dictionary;
  users: UserDirectory;
  accounting: AccountingService;
  /** A getter: a reload swaps the plugins without restarting the listeners. */
  plugins: () => PluginHost;
  logger: Logger;
  metrics?: RequestMetrics;
  limits: RadiusLimitSettings;
}

type Port = "auth" | "acct";

/**
 * Where a request came from and how to answer it: a UDP datagram's sender, or a RadSec
 * connection (radsec.ts). `address` and `port` are the peer's.
 */
export interface RequestSource {
  /** auth and acct take their own request code; radsec takes every code on one port (RFC 6614 section 2.1). */
  listener: Port | "radsec";
  address: string;
  port: number;
  /** Set when the transport already knows the client (RadSec: by its certificate); else looked up by address. */
  client?: RadiusClient;
  reply(response: Buffer): void;
  /** Told of each drop: RadSec closes the connection for some (RFC 6613 section 2.6.4). */
  dropped?(reason: DropReason): void;
}

/** For drops: who sent it (a RequestSource, or a bare address and port). */
type Peer = Pick<RequestSource, "address" | "port" | "dropped">;

/** A request's answer (null: stay silent) and how it ended, for the metrics. */
interface Handled {
  response: Buffer | null;
  outcome: RequestOutcome;
}

function requestType(code: number): RequestType {
  if (code === PacketCode.AccessRequest) return "access";
  if (code === PacketCode.AccountingRequest) return "accounting";
  if (code === PacketCode.StatusServer) return "status";
  return "other";
}

/** Which request codes a listener takes (Status-Server is taken everywhere). */
function accepts(listener: RequestSource["listener"], code: number): boolean {
  if (listener === "radsec") return code === PacketCode.AccessRequest || code === PacketCode.AccountingRequest;
  return code === (listener === "auth" ? PacketCode.AccessRequest : PacketCode.AccountingRequest);
}

/** Bound on remembered responses, so a flood of distinct requests cannot grow memory without limit. */
const MAX_CACHE_ENTRIES = 200_000;
/** Users whose granted Acct-Interim-Interval is remembered (the most recent ones). */
const MAX_GRANTED_INTERVALS = 100_000;

export interface RadiusCounters {
  requests: Record<string, number>;
  responses: Record<string, number>;
  retransmissions: number;
  /** Accounting-Requests stored but left unanswered because a plugin answered error. */
  pluginErrors: number;
  drops: Partial<Record<DropReason, number>>;
}

export class RadiusServer {
  private sockets: Partial<Record<Port, Socket>> = {};
  private readonly cache: DuplicateCache;
  private readonly grantedIntervals = new Map<string, number>();
  /** What "auto" has learnt per client; survives a reload of the clients, not a restart. */
  private readonly blastRadius = new BlastRadiusPolicy();
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly limiter: RadiusLimiter;
  readonly counters: RadiusCounters = { requests: {}, responses: {}, retransmissions: 0, pluginErrors: 0, drops: {} };

  constructor(
    private readonly options: RadiusServerOptions,
    private deps: RadiusServerDeps,
  ) {
    this.limiter = new RadiusLimiter(deps.limits);
    this.cache = new DuplicateCache(options.duplicateWindow, MAX_CACHE_ENTRIES);
  }

  /** A reload: new clients, users, dictionary and limits apply to the next packet; sockets stay. */
  update(patch: Partial<Pick<RadiusServerDeps, "clients" | "users" | "dictionary" | "limits">>): void {
    this.deps = { ...this.deps, ...patch };
    if (patch.limits) this.limiter.configure(patch.limits);
  }

  async start(): Promise<Partial<Record<Port, AddressInfo>>> {
    const bound: Partial<Record<Port, AddressInfo>> = {};
    for (const port of ["auth", "acct"] as const) {
      const where = this.options[port];
      if (where === null) continue;
      const socket = createSocket({ type: isIPv6(where.host) ? "udp6" : "udp4", recvBufferSize: this.options.receiveBuffer });
      socket.on("message", (msg, rinfo) =>
        this.handleRequest(msg, { listener: port, address: rinfo.address, port: rinfo.port, reply: (response) => this.send(socket, response, rinfo) }),
      );
      socket.on("error", (err) => this.deps.logger.error({ err, port }, "RADIUS socket error"));
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(where.port, where.host, () => {
          socket.off("error", reject);
          resolve();
        });
      });
      this.sockets[port] = socket;
      bound[port] = socket.address();
      this.deps.logger.info({ port, address: `${where.host}:${socket.address().port}` }, `RADIUS ${port} listening`);
    }
    this.sweepTimer = setInterval(() => this.sweepCache(), 5000);
    this.sweepTimer.unref();
    return bound;
  }

  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await Promise.all(
      Object.values(this.sockets).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    );
    this.sockets = {};
  }

  private drop(reason: DropReason, rinfo: Peer, extra: Record<string, unknown> = {}): void {
    this.counters.drops[reason] = (this.counters.drops[reason] ?? 0) + 1;
    this.deps.metrics?.drop("radius", reason);
    // Throttled: the first per reason and source, then a count every 10 s (src/log-throttle.ts).
    dropLog(this.deps.logger, "radius").warn(reason, rinfo.address, { source: `${rinfo.address}:${rinfo.port}`, ...extra }, `dropped RADIUS packet: ${dropReasonText[reason]}`);
    rinfo.dropped?.(reason);
  }

  private sweepCache(): void {
    this.cache.sweep();
  }

  /** One request from either transport; the answer, if any, goes to `rinfo.reply`. */
  handleRequest(msg: Buffer, rinfo: RequestSource): void {
    const receivedAt = performance.now();
    // Source check before anything else: unknown sources cost no cryptography.
    const client = rinfo.client ?? this.deps.clients.find(rinfo.address);
    if (client === undefined) return this.drop("unknown-client", rinfo);
    const sourceAddress = normaliseAddress(rinfo.address);
    const refused = this.limiter.admit(sourceAddress, client.name);
    if (refused !== null) return this.drop(refused, rinfo, { client: client.name });
    const decoded = decodePacket(msg);
    if (!decoded.ok) return this.drop(decoded.reason, rinfo, { client: client.name, offset: decoded.offset });
    const packet = decoded.packet;
    const raw = msg.subarray(0, msg.readUInt16BE(2));
    const codeName = packetCodeName(packet.code);
    this.counters.requests[codeName] = (this.counters.requests[codeName] ?? 0) + 1;
    const type = requestType(packet.code);
    const done = (outcome: RequestOutcome, answered: boolean) => this.deps.metrics?.request("radius", type, outcome, answered ? secondsSince(receivedAt) : null);
    const dropRequest = (reason: DropReason, extra: Record<string, unknown>) => {
      this.drop(reason, rinfo, extra);
      done("dropped", false);
    };

    if (packet.code === PacketCode.StatusServer) {
      const answered = this.onStatusServer(packet, raw, client, rinfo);
      return done(answered ? "ok" : "dropped", answered);
    }
    if (!accepts(rinfo.listener, packet.code)) return dropRequest("unexpected-code", { client: client.name, code: codeName });
    const accounting = packet.code === PacketCode.AccountingRequest;

    if (accounting && !verifyAccountingRequest(raw, client.secret)) {
      return dropRequest("bad-authenticator", { client: client.name });
    }
    const ma = checkMessageAuthenticator(raw, client.secret);
    if (ma === "invalid") return dropRequest("bad-message-authenticator", { client: client.name });
    // BlastRADIUS forges an Access-Request's MD5 on the path; over TLS (RadSec) the path cannot
    // touch it, so neither requireMessageAuthenticator nor limitProxyState applies there.
    if (!accounting && rinfo.listener !== "radsec") {
      const verdict = this.blastRadius.check(client, packet, ma === "valid");
      if (verdict.drop !== null) {
        return dropRequest(verdict.drop, {
          client: client.name,
          requireMessageAuthenticator: client.requireMessageAuthenticator,
          limitProxyState: client.limitProxyState,
        });
      }
      for (const l of verdict.learnt) {
        this.deps.logger.info({ client: client.name, [l.key]: l.now, why: l.why }, `client ${client.name}: ${l.key} auto is now ${l.now}`);
      }
    }

    // Duplicate detection keys on the source address, not the port: some NASes
    // (OpenVPN's radiusplugin) retransmit from a new source port with the same identifier.
    const key = DuplicateCache.key(sourceAddress, packet);
    const seen = this.cache.lookup(key);
    if (seen.state !== "new") {
      this.counters.retransmissions++;
      if (seen.state === "answered") {
        this.respond(rinfo, seen.response);
        done("duplicate", true);
      } else {
        dropRequest("duplicate-in-progress", { client: client.name, identifier: packet.identifier });
      }
      return;
    }
    this.cache.begin(key);

    const work = accounting ? this.onAccountingRequest(packet, client, rinfo) : this.onAccessRequest(packet, client);
    this.limiter.hold(work);
    work.then(
      ({ response, outcome }) => {
        if (response === null) {
          this.cache.forget(key);
          return done(outcome, false);
        }
        this.cache.answered(key, response);
        this.respond(rinfo, response);
        done(outcome, true);
      },
      (err: unknown) => {
        this.cache.forget(key);
        this.deps.logger.error({ err, client: client.name }, "RADIUS request failed");
        done("error", false);
      },
    );
  }

  private respond(rinfo: RequestSource, response: Buffer): void {
    const codeName = packetCodeName(response[0]!);
    this.counters.responses[codeName] = (this.counters.responses[codeName] ?? 0) + 1;
    rinfo.reply(response);
  }

  private send(socket: Socket, response: Buffer, rinfo: { address: string; port: number }): void {
    socket.send(response, rinfo.port, rinfo.address, (err) => {
      if (err) this.deps.logger.warn({ err, destination: `${rinfo.address}:${rinfo.port}` }, "RADIUS send failed");
    });
  }

  private async onAccessRequest(packet: RadiusPacket, client: RadiusClient): Promise<Handled> {
    const decision = await decideAccess(packet, {
      users: this.deps.users,
      plugins: this.deps.plugins(),
      dictionary: this.deps.dictionary,
      secret: client.secret,
      client: client.name,
      defaultInterimInterval: this.options.defaultInterimInterval,
    });
    this.deps.logger.info(
      { client: client.name, user: decision.user, method: decision.method, result: packetCodeName(decision.code), decidedBy: decision.decidedBy, reason: decision.reason },
      "access request",
    );
    if (decision.code === PacketCode.AccessAccept && decision.user !== null && decision.interimInterval !== undefined) {
      this.rememberInterval(client.name, decision.user, decision.interimInterval);
    }
    const outcome = decision.code === PacketCode.AccessAccept ? "accept" : "reject";
    return { response: buildResponse(packet, decision.code, decision.attributes, client.secret), outcome };
  }

  /**
   * The Acct-Interim-Interval of the latest Access-Accept per client and user, so that the
   * session a Start opens expects updates at the interval the NAS was actually told (accounting
   * carries no such attribute). Bounded: the oldest entries go first.
   */
  private rememberInterval(client: string, user: string, seconds: number): void {
    const key = `${client}\0${user}`;
    this.grantedIntervals.delete(key);
    this.grantedIntervals.set(key, seconds);
    if (this.grantedIntervals.size > MAX_GRANTED_INTERVALS) this.grantedIntervals.delete(this.grantedIntervals.keys().next().value!);
  }

  /** Resolves to the Accounting-Response once the record is durable, or null to stay silent. */
  private async onAccountingRequest(packet: RadiusPacket, client: RadiusClient, rinfo: RequestSource): Promise<Handled> {
    const result = recordFromAccountingRequest(packet, {
      client: client.name,
      sourceAddress: normaliseAddress(rinfo.address),
      receivedAt: Date.now(),
      dictionary: this.deps.dictionary,
    });
    if (!result.ok) {
      this.drop(result.reason, rinfo, { client: client.name, identifier: packet.identifier });
      return { response: null, outcome: "dropped" };
    }
    let record = result.record;
    // A client bound to its NASes cannot write into another NAS's sessions (docs/security.md).
    if (client.nas !== null && !client.nas.has(canonicalAddress(record.nas))) {
      this.drop("nas-not-allowed", rinfo, { client: client.name, nas: record.nas });
      return { response: null, outcome: "dropped" };
    }
    if (record.kind === "start" && record.user !== null) {
      const granted = this.grantedIntervals.get(`${client.name}\0${record.user}`);
      if (granted !== undefined) record = { ...record, interimInterval: granted };
    }
    let outcome;
    try {
      outcome = await this.deps.accounting.account(record);
    } catch (err) {
      this.drop("store-failed", rinfo, { client: client.name, err: String(err) });
      return { response: null, outcome: "dropped" };
    }
    if (outcome.status === "error") {
      // Stored, but a plugin wants the NAS to retry: no Accounting-Response (RFC 2866 section 2).
      this.counters.pluginErrors++;
      this.deps.logger.info({ client: client.name, sessionId: result.record.sessionId, reason: outcome.reason }, "accounting not acknowledged: plugin answered error");
      return { response: null, outcome: "error" };
    }
    return {
      response: buildResponse(packet, PacketCode.AccountingResponse, [], client.secret, { messageAuthenticator: false }),
      outcome: outcome.result.duplicate ? "duplicate" : outcome.status === "disconnect" ? "disconnect" : "ok",
    };
  }

  /** Answers a Status-Server; false when it was dropped. */
  private onStatusServer(packet: RadiusPacket, raw: Buffer, client: RadiusClient, rinfo: RequestSource): boolean {
    // RFC 5997 section 3: Status-Server must carry a valid Message-Authenticator.
    const ma = checkMessageAuthenticator(raw, client.secret);
    if (ma !== "valid") {
      this.drop(ma === "absent" ? "missing-message-authenticator" : "bad-message-authenticator", rinfo, { client: client.name });
      return false;
    }
    // RFC 5997 section 3: Access-Accept from an authentication port (RadSec's serves both).
    const code = rinfo.listener === "acct" ? PacketCode.AccountingResponse : PacketCode.AccessAccept;
    this.respond(rinfo, buildResponse(packet, code, [], client.secret));
    return true;
  }
}
