// The RadSec listener (RADIUS over TLS, RFC 6614; standard port 2083). Before the handshake: the
// source address must be one a TLS client may use, and the connection caps must allow it, so
// unknown or excess peers cost no cryptography. The handshake requires a client certificate the
// CA signed (Node checks the chain); after it, the certificate must match a client's
// `certificate` identity, which names the client. Then RADIUS packets run back to back on the
// stream, any number outstanding at once, each handled by RadiusServer.handleRequest exactly as
// a UDP datagram is (with the fixed secret "radsec"), the answers written back on the same
// connection in the order they are ready.

import type { AddressInfo, Socket } from "node:net";
import { createServer, type SecureContextOptions, type Server, type TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { ClientConfig, RadsecListenConfig } from "../config/load.ts";
import type { RequestMetrics } from "../metrics/sink.ts";
import type { TlsCredentials } from "../tls/credentials.ts";
import type { TlsClientTable } from "../tls/identity.ts";
import { allowedNas, normaliseAddress, type RadiusClient } from "./clients.ts";
import { RADSEC_SHARED_SECRET } from "./constants.ts";
import { dropReasonText, type DropReason } from "./drops.ts";
import type { RadiusServer } from "./server.ts";
import { RadiusStreamReader } from "./stream.ts";

/** What the secure context adds to the TLS files, for the first context and every reload. */
const CONTEXT_OPTIONS: SecureContextOptions = { minVersion: "TLSv1.2" };

/**
 * Drops after which the stream cannot be trusted, so the connection closes (RFC 6613 section
 * 2.6.4: "silently discard" becomes "silently discard and close the connection"). An unknown
 * code or a request refused for another reason leaves the connection up.
 */
const CLOSES_CONNECTION: ReadonlySet<DropReason> = new Set<DropReason>([
  "length-too-short",
  "length-too-long",
  "length-exceeds-datagram",
  "attribute-truncated",
  "attribute-length-invalid",
  "bad-authenticator",
  "bad-message-authenticator",
]);

/** Above this many octets of unsent answers the connection stops reading until they drain. */
const MAX_UNSENT_ANSWERS = 256 * 1024;

export interface RadsecServerDeps {
  credentials: TlsCredentials;
  clients: TlsClientTable;
  radius: Pick<RadiusServer, "handleRequest">;
  logger: Logger;
  metrics?: RequestMetrics;
}

export interface RadsecCounters {
  /** Connections that completed the handshake and were identified as a client. */
  connections: number;
  drops: Partial<Record<DropReason, number>>;
}

/** A configured client as RADIUS sees it over TLS: the fixed secret, and no BlastRADIUS rules (server.ts). */
function radsecClient(config: ClientConfig): RadiusClient {
  return { name: config.name, secret: Buffer.from(RADSEC_SHARED_SECRET), requireMessageAuthenticator: false, limitProxyState: false, nas: allowedNas(config) };
}

interface Connection {
  socket: TLSSocket;
  address: string;
  source: string;
  client: RadiusClient;
}

export class RadsecServer {
  private server: Server | null = null;
  private clients: TlsClientTable;
  /** Open connections per source address, counted from accept to close, handshake included. */
  private readonly perSource = new Map<string, number>();
  private readonly connections = new Set<Connection>();
  /** Every accepted TCP connection, handshaking ones too, for stop(). */
  private readonly sockets = new Set<Socket>();
  private unsubscribe: (() => void) | null = null;
  readonly counters: RadsecCounters = { connections: 0, drops: {} };

  constructor(
    private readonly options: RadsecListenConfig,
    private readonly deps: RadsecServerDeps,
  ) {
    this.clients = deps.clients;
  }

  /**
   * A reload: new connections are checked against `clients`; each open one is identified again
   * by its certificate, and closed when no client matches it any more.
   */
  update(clients: TlsClientTable): void {
    this.clients = clients;
    for (const c of this.connections) {
      const config = clients.identify(c.address, c.socket.getPeerCertificate());
      if (config === undefined) {
        this.deps.logger.info({ source: c.source, client: c.client.name }, "RadSec connection closed: after the reload no client matches its certificate");
        c.socket.destroy();
      } else {
        c.client = radsecClient(config);
      }
    }
  }

  async start(): Promise<AddressInfo> {
    const server = createServer({
      ...this.deps.credentials.options,
      ...CONTEXT_OPTIONS,
      // Node checks the chain against tls.ca (and the CRL) in either case; with `true` it closes a
      // failed peer without telling the server why, so onSecureConnection refuses it instead,
      // first thing, counted and logged with the reason.
      requestCert: true,
      rejectUnauthorized: false,
      handshakeTimeout: this.options.handshakeTimeout * 1000,
    });
    server.maxConnections = this.options.maxConnections;
    // Runs before tls.Server wraps the socket: a refused peer never gets a ServerHello.
    server.prependListener("connection", (socket: Socket) => this.onTcpConnection(socket));
    server.on("drop", (data) => this.drop("connection-limit", `${data?.remoteAddress}:${data?.remotePort}`, { limit: "maxConnections" }));
    server.on("tlsClientError", (err: NodeJS.ErrnoException, socket: TLSSocket) => this.onHandshakeError(err, socket));
    server.on("secureConnection", (socket: TLSSocket) => this.onSecureConnection(socket));
    const { host, port } = this.options.listen;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (err) => this.deps.logger.error({ err }, "RadSec listener error"));
    this.server = server;
    this.unsubscribe = this.deps.credentials.onChange((options) => server.setSecureContext({ ...options, ...CONTEXT_OPTIONS }));
    const bound = server.address() as AddressInfo;
    this.deps.logger.info({ port: "radsec", address: `${host.includes(":") ? `[${host}]` : host}:${bound.port}` }, "RadSec listening");
    return bound;
  }

  /**
   * Stops accepting and closes every connection (TLS close_notify, then a hard close after 2 s).
   * An answer still being worked on is lost with its connection; the client sends the request
   * again on its next connection and the duplicate cache or the store's duplicate check answers.
   */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    const server = this.server;
    this.server = null;
    if (server === null) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const c of this.connections) c.socket.end();
    const deadline = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, 2000);
    await closed;
    clearTimeout(deadline);
  }

  private drop(reason: DropReason, source: string, extra: Record<string, unknown> = {}): void {
    this.counters.drops[reason] = (this.counters.drops[reason] ?? 0) + 1;
    this.deps.metrics?.drop("radius", reason);
    this.deps.logger.warn({ reason, source, ...extra }, `RadSec connection closed: ${dropReasonText[reason]}`);
  }

  /** The plain TCP connection, before any TLS: address and per-source checks. */
  private onTcpConnection(socket: Socket): void {
    const address = normaliseAddress(socket.remoteAddress ?? "");
    const source = `${address}:${socket.remotePort}`;
    if (!this.clients.mayConnect(address)) {
      this.drop("unknown-client", source);
      socket.destroy();
      return;
    }
    const open = this.perSource.get(address) ?? 0;
    if (open >= this.options.maxConnectionsPerSource) {
      this.drop("connection-limit", source, { limit: "maxConnectionsPerSource", open });
      socket.destroy();
      return;
    }
    this.perSource.set(address, open + 1);
    this.sockets.add(socket);
    socket.once("close", () => {
      this.sockets.delete(socket);
      const left = (this.perSource.get(address) ?? 1) - 1;
      if (left === 0) this.perSource.delete(address);
      else this.perSource.set(address, left);
    });
  }

  private onHandshakeError(err: NodeJS.ErrnoException, socket: TLSSocket): void {
    const source = `${normaliseAddress(socket.remoteAddress ?? "?")}:${socket.remotePort ?? "?"}`;
    // tls.Server reports a handshake timeout but leaves the connection open.
    socket.destroy();
    if (err.code === "ERR_TLS_HANDSHAKE_TIMEOUT") return this.drop("handshake-timeout", source);
    // The peer went away mid-handshake, or onTcpConnection refused it (already counted).
    if (err.code === "ECONNRESET") {
      this.deps.logger.debug({ source, err: err.message }, "RadSec connection reset during the handshake");
      return;
    }
    this.drop("handshake-failed", source, { err: err.message });
  }

  private onSecureConnection(socket: TLSSocket): void {
    const address = normaliseAddress(socket.remoteAddress ?? "");
    const source = `${address}:${socket.remotePort}`;
    if (!socket.authorized) {
      this.drop("handshake-failed", source, { err: String(socket.authorizationError ?? "no client certificate") });
      socket.destroy();
      return;
    }
    const cert = socket.getPeerCertificate();
    const config = this.clients.identify(address, cert);
    if (config === undefined) {
      this.drop("certificate-mismatch", source, { subject: cert.subject, subjectaltname: cert.subjectaltname });
      socket.destroy();
      return;
    }
    this.counters.connections++;
    const connection: Connection = { socket, address, source, client: radsecClient(config) };
    this.connections.add(connection);
    this.deps.logger.info({ source, client: config.name, protocol: socket.getProtocol() }, "RadSec connection");
    socket.on("close", () => this.connections.delete(connection));
    socket.on("error", (err) => this.deps.logger.debug({ source, err: err.message }, "RadSec connection error"));
    socket.setTimeout(this.options.idleTimeout * 1000, () => {
      this.drop("idle-timeout", source, { client: connection.client.name });
      socket.destroy();
    });
    this.serve(connection);
  }

  /** Reads packets off the stream and hands each to the RADIUS request handling. */
  private serve(connection: Connection): void {
    const { socket, address } = connection;
    const reader = new RadiusStreamReader();
    const remotePort = socket.remotePort ?? 0;
    const reply = (response: Buffer) => {
      if (socket.destroyed || !socket.writable) return;
      socket.write(response);
      // A peer that sends but does not read is not read from until it catches up.
      if (socket.writableLength > MAX_UNSENT_ANSWERS && !socket.isPaused()) {
        socket.pause();
        socket.once("drain", () => socket.resume());
      }
    };
    const dropped = (reason: DropReason) => {
      if (CLOSES_CONNECTION.has(reason)) socket.destroy();
    };
    socket.on("data", (chunk: Buffer) => {
      const { packets, failure } = reader.push(chunk);
      for (const packet of packets) {
        if (socket.destroyed) return;
        this.deps.radius.handleRequest(packet, { listener: "radsec", address, port: remotePort, client: connection.client, reply, dropped });
      }
      if (failure !== undefined && !socket.destroyed) {
        // Counted as the RADIUS drop it is; the stream has no next packet to find.
        this.drop(failure, connection.source, { client: connection.client.name });
        socket.destroy();
      }
    });
  }
}
