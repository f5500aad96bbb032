// The connector's accounting side for `tally openvpn`: a RADIUS NAS in front of a stock
// OpenVPN server. Authentication is an Access-Request (PAP, with Message-Authenticator),
// accounting is Accounting-Request Start / Interim-Update / Stop (RFC 2866, with Gigawords),
// and the RADIUS server reaches back with RFC 5176 Disconnect-Request (client-kill) and
// CoA-Request carrying Acct-Interim-Interval (that client's new interval). Works against
// `tally serve` (whose clients[].coaInterimInterval sends such CoAs for plugin decisions) or
// any RADIUS server.

import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import type { Logger } from "pino";
import type { OpenVpnRadiusConfig } from "../config/load.ts";
import type { AccountingRecord } from "../model/record.ts";
import { decodeAttributes } from "../radius/attribute-decode.ts";
import { encodeAttribute } from "../radius/attribute-encode.ts";
import { sendRequest } from "../radius/client.ts";
import { Attr, ErrorCause, PacketCode, packetCodeName } from "../radius/constants.ts";
import { checkMessageAuthenticator, verifyAccountingRequest } from "../radius/crypto.ts";
import type { Dictionary } from "../radius/dictionary.ts";
import { buildAccessRequest, buildAccountingRequest, buildResponse } from "../radius/message.ts";
import { decodePacket, findAttribute, type RadiusPacket, type RawAttribute } from "../radius/packet.ts";
import { readInteger, readText } from "../radius/values.ts";
import { intervalFrom, type AccountResult, type AuthRequest, type AuthVerdict, type ConnectorBackend, type KnownSession } from "./backend.ts";

const STATUS_TYPE = { start: "Start", interim: "Interim-Update", stop: "Stop" } as const;
const TWO_32 = 2 ** 32;

export class RadiusBackend implements ConnectorBackend {
  private identifier = Math.floor(Math.random() * 256);
  private readonly secret: Buffer;

  constructor(
    private readonly config: OpenVpnRadiusConfig,
    private readonly dictionary: Dictionary,
  ) {
    this.secret = Buffer.from(config.secret, "utf8");
  }

  private nextIdentifier(): number {
    this.identifier = (this.identifier + 1) & 0xff;
    return this.identifier;
  }

  private encode(name: string, value: string | number | null | undefined): RawAttribute[] {
    return value === null || value === undefined || value === "" ? [] : encodeAttribute(this.dictionary, name, value);
  }

  private nasAttributes(connector: string): RawAttribute[] {
    return [...this.encode("NAS-Identifier", connector), ...this.encode("NAS-IP-Address", this.config.nasIpAddress), ...this.encode("NAS-Port-Type", "Virtual")];
  }

  private send(port: number, datagram: Buffer) {
    return sendRequest({ host: this.config.server, port }, datagram, this.secret, { timeout: this.config.timeout, retries: this.config.retries, backoff: 2 });
  }

  async authenticate({ connector, user, password, env }: AuthRequest): Promise<AuthVerdict> {
    if (user === "") return { ok: false, reason: "no username" };
    const attributes = [
      ...this.encode("User-Name", user),
      ...this.encode("User-Password", password),
      ...this.encode("Service-Type", "Framed-User"),
      ...this.encode("Calling-Station-Id", env.untrusted_ip),
      ...this.nasAttributes(connector),
    ];
    const { datagram, authenticator } = buildAccessRequest(this.nextIdentifier(), attributes, this.secret);
    const reply = await this.send(this.config.authPort, datagram);
    if (reply === null) return { ok: false, reason: `no answer from the RADIUS server ${this.config.server}:${this.config.authPort}` };
    const decoded = decodePacket(reply.datagram);
    if (!decoded.ok) return { ok: false, reason: `malformed answer from the RADIUS server: ${decoded.reason}` };
    const values: Record<string, string | number> = {};
    for (const a of decodeAttributes(decoded.packet.attributes, this.dictionary, { secret: this.secret, authenticator })) {
      if (a.name !== "Message-Authenticator") values[a.name] = a.value;
    }
    if (decoded.packet.code === PacketCode.AccessAccept) return { ok: true, interval: intervalFrom(values), reply: values };
    if (decoded.packet.code === PacketCode.AccessReject) return { ok: false, reason: String(values["Reply-Message"] ?? "rejected by the RADIUS server") };
    return { ok: false, reason: `${packetCodeName(decoded.packet.code)} is not supported` };
  }

  async account(record: AccountingRecord): Promise<AccountResult> {
    if (record.kind !== "start" && record.kind !== "interim" && record.kind !== "stop") return {};
    const counter = (name: string, value: number | null) =>
      value === null ? [] : [...this.encode(`Acct-${name}-Octets`, value % TWO_32), ...this.encode(`Acct-${name}-Gigawords`, Math.floor(value / TWO_32))];
    const attributes = [
      ...this.encode("Acct-Status-Type", STATUS_TYPE[record.kind]),
      ...this.encode("Acct-Session-Id", record.sessionId),
      ...this.encode("User-Name", record.user),
      ...this.nasAttributes(record.nas),
      ...this.encode("NAS-Port", record.nasPort !== null && /^\d+$/.test(record.nasPort) ? Number(record.nasPort) : null),
      ...this.encode("Calling-Station-Id", record.clientAddress),
      ...this.encode("Framed-IP-Address", record.framedAddress !== null && isIP(record.framedAddress) === 4 ? record.framedAddress : null),
      ...counter("Input", record.inputOctets),
      ...counter("Output", record.outputOctets),
      ...this.encode("Acct-Session-Time", record.sessionTime),
      ...this.encode("Acct-Terminate-Cause", record.terminateCause),
      ...this.encode("Event-Timestamp", Math.floor(record.eventTime / 1000)),
    ];
    // The identical datagram is retransmitted, so the server counts it once.
    const reply = await this.send(this.config.acctPort, buildAccountingRequest(this.nextIdentifier(), attributes, this.secret));
    if (reply === null) throw new Error(`no Accounting-Response from ${this.config.server}:${this.config.acctPort} after ${this.config.retries + 1} attempts`);
    const decoded = decodePacket(reply.datagram);
    if (!decoded.ok || decoded.packet.code !== PacketCode.AccountingResponse) throw new Error("unexpected answer to an Accounting-Request");
    // Not standard in an Accounting-Response, but taken when a server sends it.
    const interval = findAttribute(decoded.packet, Attr.AcctInterimInterval);
    const seconds = interval === undefined ? undefined : readInteger(interval);
    return seconds === undefined ? {} : { interimInterval: seconds };
  }

  /** A NAS keeps no store: after its own restart it knows only what OpenVPN lists. */
  async openSessions(): Promise<KnownSession[]> {
    return [];
  }
}

/** What the DAS asks of the connector. */
export interface DynamicAuthorizationTarget {
  /** Session ids that match: by Acct-Session-Id, else every session of User-Name. */
  match(sessionId: string | null, user: string | null): string[];
  kill(session: { sessionId: string }): Promise<{ state: "acknowledged" | "refused"; detail: string }>;
  changeInterval(sessionId: string, seconds: number): boolean;
}

/**
 * The NAS side of RFC 5176 for `tally openvpn`: Disconnect-Request and CoA-Request from the
 * configured RADIUS server only (others are dropped before any cryptography), authenticated
 * like an Accounting-Request (and by Message-Authenticator when present), answered with
 * ACK or NAK and an Error-Cause.
 */
export class DynamicAuthorizationServer {
  private socket: Socket | null = null;
  private readonly secret: Buffer;

  constructor(
    private readonly config: OpenVpnRadiusConfig,
    private readonly dictionary: Dictionary,
    private readonly target: DynamicAuthorizationTarget,
    private readonly logger: Logger,
  ) {
    this.secret = Buffer.from(config.secret, "utf8");
  }

  async start(): Promise<{ host: string; port: number } | null> {
    const listen = this.config.dynamicAuthorization;
    if (listen === null) return null;
    const socket = createSocket(isIP(listen.host) === 6 ? "udp6" : "udp4");
    this.socket = socket;
    socket.on("message", (msg, rinfo) => {
      this.onMessage(msg, rinfo).catch((err: unknown) => this.logger.error({ err }, "dynamic authorization failed"));
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(listen.port, listen.host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    socket.on("error", (err) => this.logger.error({ err }, "dynamic authorization socket error"));
    const address = socket.address();
    return { host: address.address, port: address.port };
  }

  private async onMessage(msg: Buffer, rinfo: { address: string; port: number }): Promise<void> {
    const from = rinfo.address.replace(/^::ffff:/, "");
    if (from !== this.config.server) {
      this.logger.warn({ from }, "dynamic authorization request from an unknown address dropped");
      return;
    }
    const decoded = decodePacket(msg);
    if (!decoded.ok) return void this.logger.warn({ from, reason: decoded.reason }, "malformed dynamic authorization request dropped");
    const request = decoded.packet;
    if (request.code !== PacketCode.DisconnectRequest && request.code !== PacketCode.CoARequest) return;
    // The codec's checks frame the datagram themselves (its Length field, not trailing bytes).
    if (!verifyAccountingRequest(msg, this.secret) || checkMessageAuthenticator(msg, this.secret) === "invalid") {
      return void this.logger.warn({ from }, "dynamic authorization request with a bad authenticator dropped (wrong secret?)");
    }
    const text = (type: number) => {
      const v = findAttribute(request, type);
      return v === undefined ? null : (readText(v) ?? null);
    };
    const sessions = this.target.match(text(Attr.AcctSessionId), text(Attr.UserName));
    const disconnect = request.code === PacketCode.DisconnectRequest;
    if (sessions.length === 0) return this.answer(request, rinfo, false, ErrorCause.SessionContextNotFound, "no such session");

    if (disconnect) {
      const outcomes = await Promise.all(sessions.map((sessionId) => this.target.kill({ sessionId })));
      const ok = outcomes.every((o) => o.state === "acknowledged");
      return this.answer(request, rinfo, ok, ok ? null : ErrorCause.ResourcesUnavailable, outcomes.map((o) => o.detail).join("; "));
    }
    const interval = findAttribute(request, Attr.AcctInterimInterval);
    const seconds = interval === undefined ? undefined : readInteger(interval);
    if (seconds === undefined) return this.answer(request, rinfo, false, ErrorCause.UnsupportedService, "only Acct-Interim-Interval can be changed");
    for (const sessionId of sessions) this.target.changeInterval(sessionId, seconds);
    return this.answer(request, rinfo, true, null, `interim interval ${seconds} s`);
  }

  private answer(request: RadiusPacket, to: { address: string; port: number }, ok: boolean, cause: number | null, detail: string): void {
    const disconnect = request.code === PacketCode.DisconnectRequest;
    const code = disconnect ? (ok ? PacketCode.DisconnectACK : PacketCode.DisconnectNAK) : ok ? PacketCode.CoAACK : PacketCode.CoANAK;
    const attributes = cause === null ? [] : encodeAttribute(this.dictionary, "Error-Cause", cause);
    this.socket?.send(buildResponse(request, code, attributes, this.secret), to.port, to.address);
    this.logger.info({ request: packetCodeName(request.code), answer: packetCodeName(code), detail }, "dynamic authorization");
  }

  stop(): void {
    this.socket?.close();
    this.socket = null;
  }
}
