// Cutting users off and changing their interval on the NAS: RFC 5176 Disconnect-Request and
// CoA-Request to the NAS's dynamic-authorization server, or, for devices without one (most
// TACACS+ devices), a configured program or HTTP endpoint. Every outcome is recorded on the
// session: acknowledged, refused or unanswered. The final Stop from the NAS still closes the
// session with the NAS's own terminate cause.

import { execFile } from "node:child_process";
import { randomInt } from "node:crypto";
import { isIP } from "node:net";
import type { Logger } from "pino";
import type { ClientConfig } from "../config/load.ts";
import type { DisconnectMetrics } from "../metrics/sink.ts";
import { sessionToJson, type DisconnectState, type Session } from "../model/session.ts";
import { encodeAttribute } from "../radius/attributes.ts";
import { sendRequest } from "../radius/client.ts";
import { Attr, PacketCode, packetCodeName } from "../radius/constants.ts";
import type { Dictionary } from "../radius/dictionary.ts";
import { buildSignedRequest } from "../radius/message.ts";
import { decodePacket, findAttribute, readInteger, type RawAttribute } from "../radius/packet.ts";
import type { Store } from "../store/store.ts";

export interface DisconnectOutcome {
  state: Exclude<DisconnectState, "requested">;
  /** What the NAS or the action said: Error-Cause, exit code, HTTP status, "no answer". */
  detail: string;
}

export class Disconnector {
  private clients: Map<string, ClientConfig>;
  /** OpenVPN sessions are ended by the connector of their server (client-kill). */
  private readonly openvpn = new Map<string, (session: Session) => Promise<DisconnectOutcome>>();

  constructor(
    clients: readonly ClientConfig[],
    private readonly store: Store,
    private dictionary: Dictionary,
    private readonly logger: Logger,
    private readonly metrics: DisconnectMetrics | null = null,
  ) {
    this.clients = new Map(clients.map((c) => [c.name, c]));
  }

  /** A reload: new client settings apply to the next request. */
  update(clients: readonly ClientConfig[], dictionary: Dictionary): void {
    this.clients = new Map(clients.map((c) => [c.name, c]));
    this.dictionary = dictionary;
  }

  registerOpenVpn(name: string, kill: (session: Session) => Promise<DisconnectOutcome>): void {
    this.openvpn.set(name, kill);
  }

  /** Cuts the session's user off with the client's action and records the outcome on the session. */
  async disconnect(session: Session, reason: string | null): Promise<DisconnectOutcome> {
    await this.store.updateSessionControl(session.id, { disconnect: "requested", disconnectReason: reason });
    const openvpn = session.protocol === "openvpn" ? this.openvpn.get(session.client) : undefined;
    if (session.protocol === "openvpn" && openvpn === undefined) {
      const awaited = await this.awaitConnector(session);
      this.metrics?.disconnect(awaited.state);
      return awaited;
    }
    const client = this.clients.get(session.client);
    let outcome: DisconnectOutcome;
    try {
      if (openvpn !== undefined) {
        outcome = await openvpn(session);
      } else if (client === undefined) outcome = { state: "refused", detail: `client "${session.client}" is no longer configured` };
      else if (client.disconnect.action === "command") outcome = await this.runCommand(client, session);
      else if (client.disconnect.action === "http") outcome = await this.postHttp(client, session, reason);
      else outcome = await this.sendDynamicAuthorization(client, session, PacketCode.DisconnectRequest, []);
    } catch (e) {
      outcome = { state: "refused", detail: (e as Error).message };
    }
    await this.store.updateSessionControl(session.id, { disconnect: outcome.state, disconnectReason: [reason, outcome.detail].filter(Boolean).join("; ") });
    this.logger.info({ session: session.id, user: session.user, nas: session.nas, outcome: outcome.state, detail: outcome.detail }, "disconnect");
    this.metrics?.disconnect(outcome.state);
    return outcome;
  }

  /**
   * An OpenVPN session from a process without its connector (`tally disconnect` beside
   * `tally serve`): only the connector holding the management interface can kill the client
   * (OpenVPN takes one management connection at a time). The request stays in the store as
   * "requested"; the connector picks it up within a second and records the outcome, which
   * this waits for. If no connector does in time, the request stays for when one does.
   */
  private async awaitConnector(session: Session, waitMs = 10_000): Promise<DisconnectOutcome> {
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      const s = await this.store.getSession(session.id);
      if (s === null) break;
      if (s.disconnect !== null && s.disconnect !== "requested") {
        return { state: s.disconnect, detail: `carried out by the connector of OpenVPN server ${session.client}: ${s.disconnectReason ?? ""}` };
      }
      if (s.status !== "open") return { state: "acknowledged", detail: `the session closed (${s.terminateCause ?? "stop"})` };
    }
    return {
      state: "unanswered",
      detail: `no running connector for OpenVPN server ${session.client} took the request within ${waitMs / 1000} s; it stays requested until one does`,
    };
  }

  /** Tells the NAS a new interim interval (CoA-Request with Acct-Interim-Interval), where enabled. */
  async changeInterval(session: Session, seconds: number): Promise<DisconnectOutcome | null> {
    const client = this.clients.get(session.client);
    if (client === undefined || !client.coaInterimInterval || session.protocol !== "radius") return null;
    const interval = encodeAttribute(this.dictionary, "Acct-Interim-Interval", seconds);
    const outcome = await this.sendDynamicAuthorization(client, session, PacketCode.CoARequest, interval);
    this.logger.info({ session: session.id, interimInterval: seconds, outcome: outcome.state, detail: outcome.detail }, "CoA interim interval");
    return outcome;
  }

  /** The attributes NASes match a session on (RFC 5176 section 3), from its latest record. */
  private async identify(session: Session): Promise<{ attributes: RawAttribute[]; nasAddress: string | null }> {
    const records = await this.store.listRecords(session.id);
    const latest = records.at(-1)?.attributes ?? [];
    const value = (name: string) => latest.find((a) => a.name === name)?.value;
    const out: RawAttribute[] = [];
    const add = (name: string, v: string | number | undefined | null) => {
      if (v !== undefined && v !== null && v !== "") out.push(...encodeAttribute(this.dictionary, name, v));
    };
    add("Acct-Session-Id", session.sessionId);
    add("User-Name", session.user);
    const nasIp = value("NAS-IP-Address");
    add("NAS-IP-Address", nasIp);
    add("NAS-IPv6-Address", value("NAS-IPv6-Address"));
    add("NAS-Identifier", value("NAS-Identifier"));
    add("Framed-IP-Address", value("Framed-IP-Address") ?? (session.framedAddress !== null && isIP(session.framedAddress) === 4 ? session.framedAddress : null));
    add("Calling-Station-Id", value("Calling-Station-Id") ?? session.clientAddress);
    add("Event-Timestamp", Math.floor(Date.now() / 1000));
    return { attributes: out, nasAddress: typeof nasIp === "string" ? nasIp : null };
  }

  private async sendDynamicAuthorization(client: ClientConfig, session: Session, code: number, extra: RawAttribute[]): Promise<DisconnectOutcome> {
    const { attributes, nasAddress } = await this.identify(session);
    const single = client.address.prefix === (client.address.family === "ipv4" ? 32 : 128) ? client.address.address : null;
    // TACACS+ sessions have no NAS-IP-Address; their `nas` is the device's address.
    const host = client.coa.address ?? nasAddress ?? (session.protocol === "tacacs" && isIP(session.nas) ? session.nas : single);
    if (host === null) return { state: "refused", detail: "no address for the NAS's dynamic-authorization server: set clients[].coa.address" };
    if (client.coa.secret === null) return { state: "refused", detail: "no secret for the NAS: set clients[].coa.secret or secret" };
    const datagram = buildSignedRequest(code, randomInt(256), [...attributes, ...extra], client.coa.secret);
    const reply = await sendRequest({ host, port: client.coa.port }, datagram, client.coa.secret, {
      timeout: client.coa.timeoutMs / 1000,
      retries: client.coa.retries,
      backoff: 2,
    });
    if (reply === null) return { state: "unanswered", detail: `no answer from ${host}:${client.coa.port} after ${client.coa.retries + 1} attempts` };
    const decoded = decodePacket(reply.datagram);
    if (!decoded.ok) return { state: "refused", detail: `malformed reply: ${decoded.reason}` };
    const p = decoded.packet;
    if (p.code === PacketCode.DisconnectACK || p.code === PacketCode.CoAACK) return { state: "acknowledged", detail: packetCodeName(p.code) };
    const cause = findAttribute(p, Attr.ErrorCause);
    const causeValue = cause === undefined ? undefined : readInteger(cause);
    const causeName = causeValue === undefined ? null : (this.dictionary.attribute("Error-Cause")?.valueNames.get(causeValue) ?? String(causeValue));
    return { state: "refused", detail: `${packetCodeName(p.code)}${causeName ? ` (Error-Cause ${causeName})` : ""}` };
  }

  private runCommand(client: ClientConfig, session: Session): Promise<DisconnectOutcome> {
    const args = [session.user ?? "", session.nas, session.nasPort ?? "", session.clientAddress ?? "", session.sessionId];
    const env = {
      ...process.env,
      TALLY_USER: session.user ?? "",
      TALLY_NAS: session.nas,
      TALLY_PORT: session.nasPort ?? "",
      TALLY_REMOTE_ADDRESS: session.clientAddress ?? "",
      TALLY_SESSION_ID: session.sessionId,
      TALLY_PROTOCOL: session.protocol,
    };
    return new Promise((resolve) => {
      execFile(client.disconnect.command!, args, { env, timeout: client.disconnect.timeoutMs }, (err, _stdout, stderr) => {
        if (err === null) return resolve({ state: "acknowledged", detail: "command exited 0" });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
        if (e.killed) return resolve({ state: "unanswered", detail: `command did not finish within ${client.disconnect.timeoutMs / 1000} s` });
        const why = typeof e.code === "number" ? `command exited ${e.code}` : `command failed: ${e.message}`;
        resolve({ state: "refused", detail: `${why}${stderr ? `: ${stderr.trim().split("\n")[0]}` : ""}` });
      });
    });
  }

  private async postHttp(client: ClientConfig, session: Session, reason: string | null): Promise<DisconnectOutcome> {
    try {
      const res = await fetch(client.disconnect.url!, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ action: "disconnect", reason, session: sessionToJson(session) }),
        signal: AbortSignal.timeout(client.disconnect.timeoutMs),
      });
      return res.ok ? { state: "acknowledged", detail: `HTTP ${res.status}` } : { state: "refused", detail: `HTTP ${res.status}` };
    } catch (e) {
      const timedOut = (e as Error).name === "TimeoutError";
      return timedOut ? { state: "unanswered", detail: "HTTP request timed out" } : { state: "refused", detail: (e as Error).message };
    }
  }
}
