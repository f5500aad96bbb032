// The OpenVPN connector: drives a stock OpenVPN server's management interface
// (--management-client-auth) so that it authenticates users against Tally (plugins, then
// users) and reports per-client accounting at intervals the accounting side chooses, per
// client, changed by every decision (0 stops updates): what the seed proposal asked OpenVPN's
// plugin API for. OpenVPN's `bytecount` is global, so the connector sets it to the shortest
// interval any client needs and emits each client's interim only when that client is due.

import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { AccountingService } from "../accounting/service.ts";
import { UserDirectory } from "../auth/users.ts";
import type { OpenVpnConfig } from "../config/load.ts";
import type { AccountingRecord, RecordKind } from "../model/record.ts";
import type { Session } from "../model/session.ts";
import type { PluginHost } from "../plugins/host.ts";
import { ManagementClient } from "./management-client.ts";
import { bytecount, clientAuth, clientDeny, clientKill, type ClientEvent, type ManagementEvent } from "./management-codec.ts";

export interface ConnectorDeps {
  users: () => UserDirectory;
  plugins: () => PluginHost;
  accounting: AccountingService;
  logger: Logger;
}

interface ClientState {
  cid: number;
  user: string | null;
  sessionId: string;
  /** ms since the epoch, from OpenVPN's time_unix */
  startedAt: number;
  env: Record<string, string>;
  /** Seconds between interims for this client; 0: none. */
  interval: number;
  nextDue: number | null;
  killed: boolean;
}

const AUTH_FAILED = "Authentication failed";

export class OpenVpnConnector {
  private client: ManagementClient | null = null;
  private readonly clients = new Map<number, ClientState>();
  /** Intervals granted at authentication, until the client is established. */
  private readonly granted = new Map<number, number>();
  private currentBytecount = -1;
  private stopped = false;
  private retryMs = 500;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly config: OpenVpnConfig,
    private readonly deps: ConnectorDeps,
  ) {}

  get name(): string {
    return this.config.name;
  }

  /** Connects (and keeps reconnecting with backoff until stop()). */
  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    try {
      this.client = await ManagementClient.open(
        this.config.management,
        this.config.password,
        (e) => this.onEvent(e),
        () => this.onClose(),
      );
      this.retryMs = 500;
      this.currentBytecount = -1;
      this.deps.logger.info({ openvpn: this.name }, "OpenVPN management connected");
      this.updateBytecount();
    } catch (e) {
      this.deps.logger.warn({ openvpn: this.name, error: (e as Error).message, retryMs: this.retryMs }, "OpenVPN management unreachable; retrying");
      this.scheduleReconnect();
    }
  }

  private onClose(): void {
    this.client = null;
    if (this.stopped) return;
    this.deps.logger.warn({ openvpn: this.name }, "OpenVPN management connection lost; reconnecting");
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.retryTimer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 30_000);
  }

  private send(line: string): void {
    this.client?.command(line).catch((e: unknown) => this.deps.logger.warn({ openvpn: this.name, error: (e as Error).message }, "management command failed"));
  }

  private onEvent(e: ManagementEvent): void {
    if (e.type === "client") {
      if (e.kind === "connect" || e.kind === "reauth") void this.onAuth(e);
      else if (e.kind === "established") void this.onEstablished(e);
      else if (e.kind === "disconnect") void this.onDisconnect(e);
    } else if (e.type === "bytecount" && e.cid !== null) {
      void this.onBytecount(e.cid, e.bytesIn, e.bytesOut);
    }
  }

  private async onAuth(e: ClientEvent): Promise<void> {
    const user = e.env.username ?? e.env.common_name ?? "";
    const password = e.env.password ?? "";
    try {
      const verdict = await this.authenticate(user, password, e.env);
      if (!verdict.ok) {
        this.deps.logger.info({ openvpn: this.name, user, result: "deny", reason: verdict.reason }, "OpenVPN authentication");
        this.send(clientDeny(e.cid, e.kid!, verdict.reason, AUTH_FAILED));
        return;
      }
      this.granted.set(e.cid, verdict.interval);
      this.deps.logger.info({ openvpn: this.name, user, result: "accept", interimInterval: verdict.interval }, "OpenVPN authentication");
      this.send(clientAuth(e.cid, e.kid!, verdict.configLines));
    } catch (err) {
      this.deps.logger.error({ err, openvpn: this.name, user }, "OpenVPN authentication failed");
      this.send(clientDeny(e.cid, e.kid!, "internal error", AUTH_FAILED));
    }
  }

  /** Plugins first, then Tally's users, as for RADIUS and TACACS+. */
  private async authenticate(user: string, password: string, env: Record<string, string>): Promise<{ ok: true; interval: number; configLines: string[] } | { ok: false; reason: string }> {
    if (user === "") return { ok: false, reason: "no username" };
    const host = this.deps.plugins();
    let reply: Record<string, string | number> = {};
    let interval: number | undefined;
    if (host.size > 0) {
      const v = await host.authenticate({
        protocol: "openvpn",
        user,
        method: "pap",
        password,
        verifyPassword: (c) => c === password,
        client: this.name,
        nas: this.name,
        clientAddress: env.untrusted_ip ?? null,
        attributes: Object.entries(env)
          .filter(([k]) => k !== "password")
          .map(([name, value]) => ({ name, value })),
      });
      if (v.status === "reject") return { ok: false, reason: v.reason ?? "rejected by a plugin" };
      reply = v.reply;
      interval = v.interimInterval;
      if (v.status === "accept") return { ok: true, interval: interval ?? this.intervalFrom(reply), configLines: configLinesFrom(reply) };
    }
    const entry = await this.deps.users().find(user);
    if (entry === null) return { ok: false, reason: "unknown user" };
    if (!UserDirectory.checkPassword(entry, Buffer.from(password, "utf8"))) return { ok: false, reason: "wrong password" };
    reply = { ...entry.reply, ...reply };
    return { ok: true, interval: interval ?? this.intervalFrom(reply), configLines: configLinesFrom(reply) };
  }

  private intervalFrom(reply: Record<string, string | number>): number {
    const v = Number(reply["Acct-Interim-Interval"]);
    return Number.isInteger(v) && v >= 0 ? v : this.config.defaultInterimInterval;
  }

  private record(state: ClientState, kind: RecordKind, fields: Partial<AccountingRecord>): AccountingRecord {
    const now = Date.now();
    const base = {
      protocol: "openvpn" as const,
      kind,
      receivedAt: now,
      eventTime: now,
      client: this.name,
      nas: this.name,
      user: state.user,
      sessionId: state.sessionId,
      inputOctets: null,
      outputOctets: null,
      inputPackets: null,
      outputPackets: null,
      sessionTime: null,
      terminateCause: null,
      framedAddress: state.env.ifconfig_pool_remote_ip ?? null,
      clientAddress: state.env.untrusted_ip ?? state.env.trusted_ip ?? null,
      nasPort: String(state.cid),
      command: null,
      attributes: Object.entries(state.env)
        .filter(([k]) => k !== "password")
        .map(([name, value]) => ({ name, value })),
      ...fields,
    };
    const identity = [this.name, state.sessionId, kind, base.sessionTime, base.inputOctets, base.outputOctets];
    return { ...base, dedupKey: createHash("sha256").update(JSON.stringify(["openvpn", ...identity])).digest("base64url") };
  }

  private async onEstablished(e: ClientEvent): Promise<void> {
    const timeUnix = Number(e.env.time_unix ?? Math.floor(Date.now() / 1000));
    const state: ClientState = {
      cid: e.cid,
      user: e.env.username ?? e.env.common_name ?? null,
      // CID is a per-process counter; with OpenVPN's connect time it names the session.
      sessionId: `${timeUnix}-${e.cid}`,
      startedAt: timeUnix * 1000,
      env: e.env,
      interval: this.granted.get(e.cid) ?? this.config.defaultInterimInterval,
      nextDue: null,
      killed: false,
    };
    this.granted.delete(e.cid);
    this.clients.set(e.cid, state);
    const outcome = await this.account(state, this.record(state, "start", { eventTime: state.startedAt, sessionTime: 0 }));
    if (outcome?.interimInterval !== undefined) state.interval = outcome.interimInterval;
    state.nextDue = state.interval > 0 ? Date.now() + state.interval * 1000 : null;
    this.updateBytecount();
  }

  private async onBytecount(cid: number, bytesIn: number, bytesOut: number): Promise<void> {
    const state = this.clients.get(cid);
    if (state === undefined || state.nextDue === null) return;
    const now = Date.now();
    const period = state.interval * 1000;
    // BYTECOUNT_CLI comes on OpenVPN's global timer: take the tick nearest the due time (half
    // an interval of slack) and keep the schedule anchored, so neither OpenVPN's timer nor a
    // busy event loop makes a client's interval drift.
    if (now < state.nextDue - period / 2) return;
    state.nextDue = Math.max(state.nextDue + period, now + period / 2);
    const sessionTime = Math.max(0, Math.round((Date.now() - state.startedAt) / 1000));
    const outcome = await this.account(state, this.record(state, "interim", { inputOctets: bytesIn, outputOctets: bytesOut, sessionTime }));
    if (outcome?.interimInterval !== undefined && outcome.interimInterval !== state.interval) {
      state.interval = outcome.interimInterval;
      state.nextDue = state.interval > 0 ? Date.now() + state.interval * 1000 : null;
      this.updateBytecount();
    }
  }

  private async onDisconnect(e: ClientEvent): Promise<void> {
    const state = this.clients.get(e.cid);
    this.granted.delete(e.cid);
    if (state === undefined) return; // a denied client, or one that never came up
    this.clients.delete(e.cid);
    this.updateBytecount();
    await this.account(
      state,
      this.record(state, "stop", {
        inputOctets: numberOf(e.env.bytes_received),
        outputOctets: numberOf(e.env.bytes_sent),
        sessionTime: numberOf(e.env.time_duration),
        terminateCause: state.killed ? "Admin-Reset" : "User-Request",
      }),
    );
  }

  private async account(state: ClientState, record: AccountingRecord) {
    try {
      return await this.deps.accounting.account(record);
    } catch (err) {
      this.deps.logger.error({ err, openvpn: this.name, sessionId: state.sessionId }, "OpenVPN accounting record not stored");
      return null;
    }
  }

  /** OpenVPN's bytecount is global: the shortest interval any client needs, or off. */
  private updateBytecount(): void {
    const intervals = [...this.clients.values()].map((c) => c.interval).filter((i) => i > 0);
    const wanted = intervals.length === 0 ? 0 : Math.max(1, Math.min(...intervals));
    if (wanted === this.currentBytecount || this.client === null) return;
    this.currentBytecount = wanted;
    this.send(bytecount(wanted));
  }

  /** Ends a session of this server: client-kill with HALT, so the client does not come back. */
  async kill(session: Session): Promise<{ state: "acknowledged" | "refused"; detail: string }> {
    const state = [...this.clients.values()].find((c) => c.sessionId === session.sessionId);
    if (state === undefined) return { state: "refused", detail: "not connected to this OpenVPN server" };
    if (this.client === null) return { state: "refused", detail: "management interface not connected" };
    try {
      state.killed = true;
      await this.client.command(clientKill(state.cid, "HALT"));
      return { state: "acknowledged", detail: "client-kill HALT" };
    } catch (e) {
      state.killed = false;
      return { state: "refused", detail: (e as Error).message };
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.client?.close();
  }
}

function numberOf(v: string | undefined): number | null {
  if (v === undefined || !/^\d+$/.test(v)) return null;
  return Number(v);
}

/** client-auth lines from reply attributes OpenVPN understands. */
function configLinesFrom(reply: Record<string, string | number>): string[] {
  const ip = reply["Framed-IP-Address"];
  const mask = reply["Framed-IP-Netmask"];
  return ip !== undefined && mask !== undefined ? [`ifconfig-push ${ip} ${mask}`] : [];
}
