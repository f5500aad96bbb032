// The TACACS+ listeners: RFC 8907 over TCP (port 49, obfuscated with the client's key) and
// RFC 9887 over TLS 1.3 (port 300, clients known by certificate). Both accept the same way:
// the source address is checked before anything else (before any cryptography on the TLS port),
// then the connection limits (in all, and per source address, both listeners together); the
// same Connection logic then serves either (connection.ts). Every drop is counted by reason and
// logged (throttled: src/log-throttle.ts).

import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type SecureContextOptions, type Server as TlsServer, type TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { AccountingService } from "../accounting/service.ts";
import type { RequestMetrics } from "../metrics/sink.ts";
import type { PluginHost } from "../plugins/host.ts";
import { AddressTable, normaliseAddress } from "../auth/address-table.ts";
import type { UserDirectory } from "../auth/users.ts";
import type { ClientConfig } from "../config/load.ts";
import { dropLog } from "../log-throttle.ts";
import type { TlsCredentials } from "../tls/credentials.ts";
import { offersEarlyData, TLS_HANDSHAKE_RECORD } from "../tls/client-hello.ts";
import { TlsClientTable } from "../tls/identity.ts";
import { Connection, type ConnectionContext, type TacacsPeer } from "./connection.ts";
import { ConnectionLimits } from "./connection-limits.ts";
import { PendingGate } from "./pending.ts";

export const tacacsDropText = {
  "unknown-client": "source address is not a client of this listener (a tacacsKey for TCP, a certificate for TLS)",
  "connection-limit": "too many connections (tacacs.maxConnections, both listeners together)",
  "source-connection-limit": "too many connections from one address (tacacs.maxConnectionsPerSource)",
  "idle-timeout": "connection idle too long",
  "packet-timeout": "a packet begun did not arrive whole within tacacs.packetTimeout",
  "handshake-timeout": "TLS handshake not finished within tacacs.handshakeTimeout",
  "not-tls": "the first octet on the TLS port is not a TLS handshake record",
  "early-data": "the ClientHello offers early data (0-RTT), which RFC 9887 forbids",
  "handshake-failed": "TLS handshake failed (not TLS 1.3, no client certificate, or one the CA did not sign)",
  "certificate-mismatch": "the client certificate matches no client's certificate identity",
  "too-short": "header too short",
  "bad-major-version": "header major version is not 0xc",
  "bad-minor-version": "header minor version is not 0 or 1",
  "bad-type": "unknown packet type",
  "body-too-large": "header length above tacacs.maxBodyLength",
  "unencrypted-refused": "UNENCRYPTED flag outside TLS",
  "obfuscated-over-tls": "packet over TLS without the UNENCRYPTED flag (RFC 9887 section 4); answered ERROR",
  "bad-key-or-malformed": "body does not decode: wrong key or malformed",
  "bad-seq-no": "seq_no out of order, even, or about to wrap",
  "invalid-flags": "accounting flags not START, STOP, WATCHDOG or WATCHDOG|START",
  "store-failed": "the store could not commit the record; answered ERROR",
} as const;
export type TacacsDropReason = keyof typeof tacacsDropText;

export interface TacacsServerOptions {
  /** The TCP listener (RFC 8907); null: none. */
  listen: { host: string; port: number } | null;
  /** The TLS 1.3 listener (RFC 9887); null: none. Needs `deps.tls`. */
  tls: { host: string; port: number } | null;
  idleTimeout: number;
  maxConnections: number;
  maxConnectionsPerSource: number;
  /** Requests being worked on at once, all connections together; beyond it connections are not read. */
  maxPending: number;
  handshakeTimeout: number;
  packetTimeout: number;
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
  /** The certificate, key and CA of the TLS listener; required when `options.tls` is set. */
  tls?: TlsCredentials | null;
}

export interface TacacsCounters {
  connections: number;
  requests: Record<string, number>;
  replies: Record<string, number>;
  drops: Partial<Record<TacacsDropReason, number>>;
  /** Times a connection stopped being read because tacacs.maxPending requests were pending. */
  paused: number;
}

export interface TacacsAddresses {
  tacacs: { address: string; port: number } | null;
  tacacsTls: { address: string; port: number } | null;
}

/** A connection on the TLS port between accept and the verified handshake. */
interface Handshake {
  raw: Socket;
  address: string;
  source: string;
  timer: NodeJS.Timeout;
}

function keyedClients(clients: readonly ClientConfig[]): AddressTable<TacacsPeer> {
  return new AddressTable(clients.flatMap((c) => (c.tacacsKey === null ? [] : [{ range: c.address, value: { name: c.name, key: c.tacacsKey } }])));
}

/** TLS 1.3 only (RFC 9887 section 3.2); the same on every secure context we build. */
function tlsContextOptions(base: SecureContextOptions): SecureContextOptions {
  return { ...base, minVersion: "TLSv1.3", maxVersion: "TLSv1.3" };
}

function hostPort(host: string, port: number): string {
  return `${host}:${port}`;
}

export class TacacsServer {
  private listeners: Server[] = [];
  /** Decrypts for the TLS listener; never listens itself: the TLS listener's accepted sockets are handed to it. */
  private tlsEngine: TlsServer | null = null;
  private stopWatchingCredentials: (() => void) | null = null;
  /** Every accepted socket (TCP, or the TCP under a TLS connection). */
  private readonly sockets = new Set<Socket>();
  /** Sockets a Connection reads (TCP, or the TLS socket): these are ended gently on stop. */
  private readonly serving = new Set<Socket>();
  /** TLS connections not yet verified, by their TCP socket. */
  private readonly handshakes = new Map<Socket, Handshake>();
  private keyed: AddressTable<TacacsPeer>;
  private certified: TlsClientTable;
  private readonly limits: ConnectionLimits;
  private readonly pending: PendingGate;
  /** When a connection was last paused for maxPending and that was logged (at most every 10 s). */
  private pausedLoggedAt = 0;
  readonly counters: TacacsCounters = { connections: 0, requests: {}, replies: {}, drops: {}, paused: 0 };

  constructor(
    private readonly options: TacacsServerOptions,
    private deps: TacacsServerDeps,
  ) {
    if (options.tls !== null && !deps.tls) throw new Error("TACACS+ over TLS needs the tls certificates");
    this.keyed = keyedClients(deps.clients);
    this.certified = new TlsClientTable(deps.clients);
    this.limits = new ConnectionLimits(options.maxConnections, options.maxConnectionsPerSource);
    this.pending = new PendingGate(options.maxPending);
  }

  /** A reload: new clients and users apply to new connections; open ones finish as they were. */
  update(patch: Partial<Pick<TacacsServerDeps, "clients" | "users">>): void {
    this.deps = { ...this.deps, ...patch };
    if (patch.clients) {
      this.keyed = keyedClients(patch.clients);
      this.certified = new TlsClientTable(patch.clients);
    }
  }

  /** Open connections on both listeners, handshakes included. */
  get openConnections(): number {
    return this.limits.open;
  }

  async start(): Promise<TacacsAddresses> {
    const addresses: TacacsAddresses = { tacacs: null, tacacsTls: null };
    try {
      if (this.options.listen !== null) {
        const a = await this.listen(this.options.listen, (socket) => this.accept(socket, "tcp"));
        addresses.tacacs = a;
        this.deps.logger.info({ port: "tacacs", address: hostPort(this.options.listen.host, a.port) }, "TACACS+ listening");
      }
      if (this.options.tls !== null) {
        this.tlsEngine = this.makeTlsEngine(this.deps.tls!);
        const a = await this.listen(this.options.tls, (socket) => this.accept(socket, "tls"));
        addresses.tacacsTls = a;
        this.deps.logger.info({ port: "tacacs-tls", address: hostPort(this.options.tls.host, a.port) }, "TACACS+ over TLS listening");
      }
    } catch (e) {
      await this.stop();
      throw e;
    }
    return addresses;
  }

  async stop(): Promise<void> {
    const listeners = this.listeners;
    this.listeners = [];
    this.stopWatchingCredentials?.();
    this.stopWatchingCredentials = null;
    const closed = Promise.all(listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
    // Give in-flight sessions their replies; idle connections and handshakes go now.
    for (const s of this.serving) s.end();
    for (const h of this.handshakes.values()) {
      clearTimeout(h.timer);
      h.raw.destroy();
    }
    this.handshakes.clear(); // a handshake cut short by the stop is no failure to count
    const deadline = setTimeout(() => {
      for (const s of this.serving) s.destroy();
      for (const s of this.sockets) s.destroy();
    }, 2000);
    await closed;
    clearTimeout(deadline);
  }

  private async listen(at: { host: string; port: number }, onSocket: (s: Socket) => void): Promise<{ address: string; port: number }> {
    const server = createServer({ noDelay: true }, onSocket);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(at.port, at.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (err) => this.deps.logger.error({ err }, "TACACS+ listener error"));
    this.listeners.push(server);
    return server.address() as { address: string; port: number };
  }

  private makeTlsEngine(credentials: TlsCredentials): TlsServer {
    const engine = createTlsServer({
      ...tlsContextOptions(credentials.options),
      // Mutual authentication (RFC 9887 section 3.4): the CA check is OpenSSL's; which client
      // the certificate names is ours (TlsClientTable.identify).
      requestCert: true,
      rejectUnauthorized: true,
      // Our own timer (from accept) normally fires first; this is Node's backstop.
      handshakeTimeout: this.options.handshakeTimeout * 1000,
      // Node's TLS server never accepts early data: it leaves OpenSSL's max_early_data at 0, so
      // no ticket it issues allows 0-RTT and it sends no early_data extension (RFC 9887 5.1.2).
    });
    engine.on("secureConnection", (socket: TLSSocket) => this.onSecure(socket));
    engine.on("tlsClientError", (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      const reason = err.code === "ERR_TLS_HANDSHAKE_TIMEOUT" ? "handshake-timeout" : "handshake-failed";
      const raw = this.rawSocketOf(socket);
      if (raw !== undefined) this.endHandshake(raw, reason, { error: err.code ?? err.message, certificate: socket.authorizationError ?? null });
      socket.destroy();
    });
    // New handshakes use reloaded certificates; connections already up keep theirs.
    this.stopWatchingCredentials = credentials.onChange((next) => engine.setSecureContext(tlsContextOptions(next)));
    return engine;
  }

  private drop(reason: TacacsDropReason, source: string, extra: Record<string, unknown> = {}): void {
    this.counters.drops[reason] = (this.counters.drops[reason] ?? 0) + 1;
    this.deps.metrics?.drop("tacacs", reason);
    // Throttled per reason and source address (src/log-throttle.ts); the counters count every drop.
    dropLog(this.deps.logger, "tacacs").warn(reason, source.slice(0, source.lastIndexOf(":")), { source, ...extra }, `TACACS+: ${tacacsDropText[reason]}`);
  }

  /** Address check, then the limits; nothing is read and no cryptography is done before both pass. */
  private accept(socket: Socket, transport: "tcp" | "tls"): void {
    const address = normaliseAddress(socket.remoteAddress ?? "");
    const source = `${address}:${socket.remotePort}`;
    socket.on("error", () => socket.destroy());
    const listener = transport === "tcp" ? "tacacs" : "tacacs-tls";
    const peer = transport === "tcp" ? this.keyed.find(address) : undefined;
    if (transport === "tcp" ? peer === undefined : !this.certified.mayConnect(address)) {
      this.drop("unknown-client", source, { listener });
      socket.destroy();
      return;
    }
    const refusal = this.limits.admit(address);
    if (refusal !== null) {
      this.drop(refusal, source, { listener });
      socket.destroy();
      return;
    }
    this.counters.connections++;
    this.sockets.add(socket);
    socket.once("close", () => {
      this.sockets.delete(socket);
      this.limits.release(address);
    });
    if (peer !== undefined) this.serve(socket, peer, address, source);
    else this.handshake(socket, address, source);
  }

  /** Runs the TACACS+ protocol on an accepted (and, over TLS, verified) connection. */
  private serve(socket: Socket, peer: TacacsPeer, address: string, source: string): void {
    this.serving.add(socket);
    socket.once("close", () => this.serving.delete(socket));
    socket.setTimeout(this.options.idleTimeout * 1000, () => {
      this.drop("idle-timeout", source, { client: peer.name });
      socket.destroy();
    });
    new Connection(this.context(), socket, peer, address, source).listen();
  }

  /**
   * The TLS port: the handshake must finish within handshakeTimeout of accept. A first octet that
   * cannot begin a ClientHello (a plain TACACS+ header starts 0xc0 or 0xc1) closes at once: this
   * port never falls back to TCP. So does a ClientHello that offers early data.
   */
  private handshake(raw: Socket, address: string, source: string): void {
    const state: Handshake = {
      raw,
      address,
      source,
      timer: setTimeout(() => this.endHandshake(raw, "handshake-timeout", { waited: this.options.handshakeTimeout }), this.options.handshakeTimeout * 1000),
    };
    this.handshakes.set(raw, state);
    raw.once("close", () => {
      clearTimeout(state.timer);
      // Node destroys a connection whose certificate the CA did not sign and only then reports
      // it (tlsClientError, with the reason); a close nobody explained by then is a failure too.
      setImmediate(() => this.endHandshake(raw, "handshake-failed", { error: "closed during the handshake" }));
    });
    raw.once("data", (chunk: Buffer) => {
      raw.pause();
      if (chunk[0] !== TLS_HANDSHAKE_RECORD) return this.endHandshake(raw, "not-tls", { firstOctet: chunk[0] });
      // RFC 9887 section 5.1.2: disconnect a client that sends 0-RTT data. OpenSSL would only
      // skip it (no ticket of ours allows early data); a ClientHello split over several chunks is
      // left to that.
      if (offersEarlyData(chunk) === true) return this.endHandshake(raw, "early-data", {});
      raw.unshift(chunk);
      this.tlsEngine!.emit("connection", raw);
    });
  }

  /** Ends a handshake that failed; the first reason given is the one counted. */
  private endHandshake(raw: Socket, reason: TacacsDropReason, extra: Record<string, unknown>): void {
    const state = this.handshakes.get(raw);
    if (state === undefined) return;
    this.handshakes.delete(raw);
    clearTimeout(state.timer);
    this.drop(reason, state.source, { listener: "tacacs-tls", ...extra });
    state.raw.destroy();
  }

  /** The CA accepted the certificate; now which client it is, from its address and identity. */
  private onSecure(socket: TLSSocket): void {
    const raw = this.rawSocketOf(socket);
    const state = raw === undefined ? undefined : this.handshakes.get(raw);
    if (state === undefined) {
      socket.destroy(); // timed out meanwhile, already counted
      return;
    }
    this.handshakes.delete(state.raw);
    clearTimeout(state.timer);
    socket.on("error", () => socket.destroy());
    const cert = socket.getPeerCertificate();
    const client = this.certified.identify(state.address, cert);
    if (client === undefined) {
      this.drop("certificate-mismatch", state.source, { listener: "tacacs-tls", subject: cert.subject ?? null, san: cert.subjectaltname ?? null });
      socket.destroy();
      return;
    }
    this.serve(socket, { name: client.name, key: null }, state.address, state.source);
  }

  /**
   * The TCP socket under a TLS socket the engine made from it. Node keeps it as `_parent` (since
   * 0.11, undocumented); without it, the handshake whose peer address and port match, which works
   * until the socket is destroyed (then Node forgets the address).
   */
  private rawSocketOf(socket: TLSSocket): Socket | undefined {
    const parent = (socket as unknown as { _parent?: unknown })._parent;
    if (parent !== undefined && this.handshakes.has(parent as Socket)) return parent as Socket;
    for (const raw of this.handshakes.keys()) {
      if (raw.remotePort === socket.remotePort && raw.remoteAddress === socket.remoteAddress) return raw;
    }
    return undefined;
  }

  /** What a new connection works with; a reload later does not change it. */
  private context(): ConnectionContext {
    return {
      options: this.options,
      deps: this.deps,
      counters: this.counters,
      drop: this.drop.bind(this),
      pending: this.pending,
      paused: (source) => {
        this.counters.paused++;
        const now = Date.now();
        if (now - this.pausedLoggedAt < 10_000) return;
        this.pausedLoggedAt = now;
        this.deps.logger.warn({ source, pending: this.pending.pending, maxPending: this.options.maxPending, paused: this.counters.paused }, "TACACS+ pending work at tacacs.maxPending: connections wait to be read");
      },
    };
  }
}
