// The OpenVPN connector: drives a stock OpenVPN server's management interface
// (--management-client-auth) so that it authenticates users against the accounting side and
// reports per-client accounting at intervals the accounting side chooses, per client, changed
// by every decision (0 stops updates): what the seed proposal asked OpenVPN's plugin API for.
//
// OpenVPN's `bytecount` is global, so the connector keeps every client's schedule itself and
// sets bytecount only short enough that counters are fresh when a client is due. After the management
// connection comes back (OpenVPN restarted, or Tally did), `status 3` is the truth: sessions
// the accounting side holds that OpenVPN no longer lists are stopped with a recorded cause,
// clients OpenVPN lists that nobody knows are started. No stop is lost silently.

import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { OpenVpnConfig } from "../config/load.ts";
import type { AccountingRecord, RecordAttribute, RecordKind } from "../model/record.ts";
import type { AccountResult, ConnectorBackend, KnownSession } from "./backend.ts";
import { ManagementClient } from "./management-client.ts";
import { bytecount, clientAuth, clientDeny, clientKill, parseStatus3, status, type ClientEvent, type ManagementEvent, type Status3Client } from "./management-codec.ts";

interface ClientState {
  cid: number;
  user: string | null;
  sessionId: string;
  /** The accounting side's handle on the session (store id), once known. */
  ref: number | null;
  /** ms since the epoch, from OpenVPN's time_unix */
  startedAt: number;
  env: Record<string, string>;
  /** Seconds between interims for this client; 0: none. */
  interval: number;
  nextDue: number | null;
  killed: boolean;
  /** Latest counters and when they were seen (ms), for stops OpenVPN cannot give. */
  bytesIn: number | null;
  bytesOut: number | null;
  lastSeen: number;
  /** True once a BYTECOUNT_CLI arrived for this client. */
  countsSeen: boolean;
  /** True when OpenVPN gives no per-client byte counts (data-channel offload). */
  countsUnavailable: boolean;
  /** Counters status 3 showed while no BYTECOUNT_CLI came (to tell idle from unreported). */
  probe: { bytesIn: number; bytesOut: number; at: number } | null;
}

const AUTH_FAILED = "Authentication failed";
/** Why a session ended when it was gone from OpenVPN's list after a reconnect (RFC 2866). */
const RECONCILED_CAUSE = "Lost-Service";
const HOUSEKEEPING_MS = 250;
/** The longest bytecount period: counters in an interim are at most this old. */
const MAX_BYTECOUNT = 15;
/** Disconnects asked for through the store are looked for every this many rounds. */
const DISCONNECT_POLL_ROUNDS = 4;

export class OpenVpnConnector {
  private client: ManagementClient | null = null;
  private readonly clients = new Map<number, ClientState>();
  /**
   * Sessions known but not confirmed since the management connection (re)opened, by session
   * id: moved here when the connection drops, and settled by the next `status 3`.
   */
  private readonly suspects = new Map<string, ClientState>();
  /** Sessions stopped while a reconciliation was under way (it must not start them again). */
  private readonly stoppedDuringReconcile = new Set<string>();
  /** Intervals granted at authentication, until the client is established. */
  private readonly granted = new Map<number, number | null>();
  private currentBytecount = -1;
  private bytecountSince = 0;
  private lostAt: number | null = null;
  private stopped = false;
  private retryMs = 500;
  private retryTimer: NodeJS.Timeout | null = null;
  private housekeeping: NodeJS.Timeout | null = null;
  private housekeepingBusy = false;
  private housekeepingRound = 0;
  private reconciling = false;
  /** OpenVPN says (status 3, GLOBAL_STATS dco_enabled) that it uses data-channel offload. */
  private dco = false;

  constructor(
    private readonly config: OpenVpnConfig,
    private readonly backend: ConnectorBackend,
    private readonly logger: Logger,
  ) {}

  get name(): string {
    return this.config.name;
  }

  /** Clients OpenVPN has connected now, as far as this connector knows (for the metrics). */
  get connectedClients(): number {
    return this.clients.size;
  }

  /** Connects (and keeps reconnecting with backoff until stop()). */
  start(): void {
    this.housekeeping = setInterval(() => void this.housekeep(), HOUSEKEEPING_MS);
    this.housekeeping.unref();
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
    } catch (e) {
      this.logger.warn({ openvpn: this.name, error: (e as Error).message, retryMs: this.retryMs }, "OpenVPN management unreachable; retrying");
      this.scheduleReconnect();
      return;
    }
    this.retryMs = 500;
    this.currentBytecount = -1;
    this.logger.info({ openvpn: this.name }, "OpenVPN management connected");
    try {
      await this.reconcile();
    } catch (e) {
      // The connection dropped again mid-way; the next connection reconciles.
      this.logger.warn({ openvpn: this.name, error: (e as Error).message }, "OpenVPN reconciliation interrupted");
    }
    this.updateBytecount();
  }

  private onClose(): void {
    this.client = null;
    this.lostAt = Date.now();
    // Every client is unconfirmed until the next status 3 says otherwise.
    for (const state of this.clients.values()) this.suspects.set(state.sessionId, state);
    this.clients.clear();
    this.granted.clear();
    if (this.stopped) return;
    this.logger.warn({ openvpn: this.name, clients: this.suspects.size }, "OpenVPN management connection lost; reconnecting");
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.retryTimer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 30_000);
  }

  private send(line: string): void {
    this.client?.command(line).catch((e: unknown) => this.logger.warn({ openvpn: this.name, error: (e as Error).message }, "management command failed"));
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

  // ------------------------------------------------------------------ authentication

  private async onAuth(e: ClientEvent): Promise<void> {
    const user = e.env.username ?? e.env.common_name ?? "";
    const password = e.env.password ?? "";
    const env = withoutPassword(e.env);
    // Each authentication runs on its own: a slow plugin for one client holds up nobody else,
    // and OpenVPN keeps the others going while this one waits for its client-auth.
    this.logger.debug({ openvpn: this.name, user, cid: e.cid, kind: e.kind }, "OpenVPN authentication request");
    try {
      const verdict = await this.backend.authenticate({ connector: this.name, user, password, env });
      if (!verdict.ok) {
        this.logger.info({ openvpn: this.name, user, result: "deny", reason: verdict.reason }, "OpenVPN authentication");
        this.send(clientDeny(e.cid, e.kid!, verdict.reason, AUTH_FAILED));
        return;
      }
      const interval = verdict.interval ?? this.config.defaultInterimInterval;
      this.granted.set(e.cid, interval);
      this.logger.info({ openvpn: this.name, user, result: "accept", interimInterval: interval }, "OpenVPN authentication");
      this.send(clientAuth(e.cid, e.kid!, configLinesFrom(verdict.reply)));
    } catch (err) {
      this.logger.error({ err, openvpn: this.name, user }, "OpenVPN authentication failed");
      this.send(clientDeny(e.cid, e.kid!, "internal error", AUTH_FAILED));
    }
  }

  // ------------------------------------------------------------------ accounting

  /**
   * A record of this client's session. Its attributes are what OpenVPN sent for it: the
   * client's ENV on the start (the stop passes DISCONNECT's ENV); an interim has only what the
   * connector adds, so the connect-time ENV is not copied into every interim.
   */
  private record(state: ClientState, kind: RecordKind, fields: Partial<AccountingRecord>, extra: RecordAttribute[] = []): AccountingRecord {
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
      interimInterval: state.interval,
      attributes: kind === "start" ? [...envAttributes(state.env), ...extra] : extra,
      ...fields,
    };
    const identity = [this.name, state.sessionId, kind, base.sessionTime, base.inputOctets, base.outputOctets];
    return { ...base, dedupKey: createHash("sha256").update(JSON.stringify(["openvpn", ...identity])).digest("base64url") };
  }

  private newState(cid: number, sessionId: string, startedAt: number, env: Record<string, string>, interval: number): ClientState {
    return {
      cid,
      user: env.username ?? env.common_name ?? null,
      sessionId,
      ref: null,
      startedAt,
      env,
      interval,
      nextDue: null,
      killed: false,
      bytesIn: null,
      bytesOut: null,
      lastSeen: Date.now(),
      countsSeen: false,
      countsUnavailable: this.dco,
      probe: null,
    };
  }

  private async onEstablished(e: ClientEvent): Promise<void> {
    const timeUnix = Number(e.env.time_unix ?? Math.floor(Date.now() / 1000));
    // CID is a per-process counter; with OpenVPN's connect time it names the session.
    const state = this.newState(e.cid, sessionIdOf(timeUnix, e.cid), timeUnix * 1000, withoutPassword(e.env), this.granted.get(e.cid) ?? this.config.defaultInterimInterval);
    this.granted.delete(e.cid);
    this.clients.set(e.cid, state);
    this.applyOutcome(state, await this.account(state, this.record(state, "start", { eventTime: state.startedAt, sessionTime: 0 })), true);
    if (state.countsUnavailable) await this.noteCounts(state);
  }

  /** Takes the accounting side's answer: its session handle and (maybe) a new interval. */
  private applyOutcome(state: ClientState, outcome: AccountResult | null, starting = false): void {
    if (outcome?.sessionRef !== undefined && outcome.sessionRef !== null) state.ref = outcome.sessionRef;
    const next = outcome?.interimInterval;
    if (next !== undefined && (starting || next !== state.interval)) {
      state.interval = next;
      state.nextDue = null;
    }
    if (state.nextDue === null && state.interval > 0) state.nextDue = Date.now() + state.interval * 1000;
    if (state.interval === 0) state.nextDue = null;
    this.updateBytecount();
  }

  private async onBytecount(cid: number, bytesIn: number, bytesOut: number): Promise<void> {
    const state = this.clients.get(cid);
    if (state === undefined) return;
    const now = Date.now();
    state.bytesIn = bytesIn;
    state.bytesOut = bytesOut;
    state.lastSeen = now;
    state.countsSeen = true;
    state.probe = null;
    this.logger.trace({ openvpn: this.name, cid, bytesIn, bytesOut, nextDue: state.nextDue }, "OpenVPN BYTECOUNT_CLI");
    if (state.nextDue === null || !this.due(state, now)) return;
    const sessionTime = Math.max(0, Math.round((now - state.startedAt) / 1000));
    this.applyOutcome(state, await this.account(state, this.record(state, "interim", { inputOctets: bytesIn, outputOctets: bytesOut, sessionTime })));
  }

  /**
   * True when the client's interim is due at `now`, and moves its schedule on. Ticks come on
   * OpenVPN's global timer: take the tick nearest the due time (half an interval of slack) and
   * keep the schedule anchored, so neither the timer nor a busy event loop makes it drift.
   */
  private due(state: ClientState, now: number): boolean {
    const period = state.interval * 1000;
    const slack = Math.min(period, Math.max(this.currentBytecount, 1) * 1000) / 2;
    if (state.nextDue === null || now < state.nextDue - slack) return false;
    state.nextDue = Math.max(state.nextDue + period, now + period / 2);
    return true;
  }

  private async onDisconnect(e: ClientEvent): Promise<void> {
    this.granted.delete(e.cid);
    let state = this.clients.get(e.cid);
    if (state !== undefined) {
      this.clients.delete(e.cid);
    } else if (e.env.time_unix !== undefined) {
      // A client that left while its session was unconfirmed (right after a reconnect).
      const sid = sessionIdOf(Number(e.env.time_unix), e.cid);
      state = this.suspects.get(sid);
      if (state !== undefined) this.suspects.delete(sid);
    }
    if (state === undefined) return; // a denied client, or one that never came up
    if (this.reconciling) this.stoppedDuringReconcile.add(state.sessionId);
    this.updateBytecount();
    const inputOctets = numberOf(e.env.bytes_received);
    const outputOctets = numberOf(e.env.bytes_sent);
    await this.account(
      state,
      this.record(state, "stop", {
        inputOctets,
        outputOctets,
        sessionTime: numberOf(e.env.time_duration),
        terminateCause: state.killed ? "Admin-Reset" : "User-Request",
      }, envAttributes(withoutPassword(e.env))),
    );
  }

  private async account(state: ClientState, record: AccountingRecord): Promise<AccountResult | null> {
    try {
      return await this.backend.account(record);
    } catch (err) {
      this.logger.error({ err, openvpn: this.name, sessionId: state.sessionId, kind: record.kind }, "OpenVPN accounting record not stored");
      return null;
    }
  }

  // ------------------------------------------------------------------ reconciliation

  /**
   * Makes the accounting side agree with what OpenVPN lists now. Runs on every (re)connect:
   * the suspects (clients known before the connection dropped) and the sessions the accounting
   * side holds open for this server are matched with `status 3` by session id (connect time
   * and CID; CIDs restart at 0 when OpenVPN restarts, so the pair is what names a session).
   */
  private async reconcile(): Promise<void> {
    const client = this.client;
    if (client === null) return;
    this.reconciling = true;
    try {
      await this.reconcileWith(client);
    } finally {
      this.reconciling = false;
      this.stoppedDuringReconcile.clear();
    }
  }

  private async reconcileWith(client: ManagementClient): Promise<void> {
    const known = new Map<string, ClientState | KnownSession>(this.suspects);
    for (const s of await this.backend.openSessions(this.name)) if (!known.has(s.sessionId)) known.set(s.sessionId, s);
    const listing = parseStatus3(await client.command(status(3), true));
    if (listing.problems.length > 0) this.logger.warn({ openvpn: this.name, problems: listing.problems }, "status 3 rows not understood");
    this.dco = listing.globalStats.dco_enabled === "1";
    if (this.dco) {
      this.logger.warn({ openvpn: this.name }, "OpenVPN uses data-channel offload: no BYTECOUNT_CLI; per-client counters come from status 3 at each interim");
    }

    const established = new Set([...this.clients.values()].map((c) => c.sessionId));
    let adopted = 0;
    let restored = 0;
    for (const row of listing.clients) {
      const sid = sessionIdOf(row.connectedSince, row.cid);
      if (established.has(sid) || this.stoppedDuringReconcile.has(sid)) continue;
      const prior = known.get(sid);
      known.delete(sid);
      if (prior !== undefined && "cid" in prior) {
        // Still connected: back on its schedule.
        this.suspects.delete(sid);
        prior.cid = row.cid;
        this.clients.set(row.cid, prior);
        if (prior.interval > 0) prior.nextDue = Date.now() + prior.interval * 1000;
        restored++;
        continue;
      }
      // Listed by OpenVPN but not followed by this connector: Tally restarted, or the client
      // came up while the connection was down. Start it (a Start already stored is recognised
      // as the same record) and report its counters.
      const state = this.adopt(row, prior);
      this.clients.set(row.cid, state);
      adopted++;
      const start = await this.account(state, this.record(state, "start", { eventTime: state.startedAt, sessionTime: 0 }));
      const sessionTime = Math.max(0, Math.round((Date.now() - state.startedAt) / 1000));
      const interim = await this.account(state, this.record(state, "interim", { inputOctets: row.bytesReceived, outputOctets: row.bytesSent, sessionTime }));
      this.applyOutcome(state, interim ?? start, true);
    }

    // Known to the accounting side but no longer listed: it ended while nobody was watching.
    let closed = 0;
    // A client established while this ran is in `clients`, and may be in the store's list too.
    const current = new Set([...this.clients.values()].map((c) => c.sessionId));
    for (const [sid, gone] of known) {
      this.suspects.delete(sid);
      if (this.stoppedDuringReconcile.has(sid) || current.has(sid)) continue;
      closed++;
      await this.closeUnlisted(gone);
    }
    this.suspects.clear();
    this.lostAt = null;
    this.logger.info({ openvpn: this.name, listed: listing.clients.length, restored, adopted, closed }, "OpenVPN reconciled with status 3");
  }

  private adopt(row: Status3Client, prior: KnownSession | undefined): ClientState {
    const env: Record<string, string> = { common_name: row.commonName, time_unix: String(row.connectedSince) };
    if (row.username !== "" && row.username !== "UNDEF") env.username = row.username;
    const real = row.realAddress.replace(/:\d+$/, "");
    if (real !== "") env.untrusted_ip = real;
    if (row.virtualAddress !== "") env.ifconfig_pool_remote_ip = row.virtualAddress;
    const interval = prior?.interimInterval ?? this.config.defaultInterimInterval;
    const state = this.newState(row.cid, sessionIdOf(row.connectedSince, row.cid), row.connectedSince * 1000, env, interval);
    state.ref = prior?.ref ?? null;
    state.bytesIn = row.bytesReceived;
    state.bytesOut = row.bytesSent;
    return state;
  }

  /** The stop OpenVPN will never send: the last counters known, the cause, and why. */
  private async closeUnlisted(gone: ClientState | KnownSession): Promise<void> {
    const live = "cid" in gone;
    const lastSeen = live ? Math.min(gone.lastSeen, this.lostAt ?? gone.lastSeen) : gone.updatedAt;
    const state: ClientState = live
      ? gone
      : this.newState(-1, gone.sessionId, gone.startedAt, { ...(gone.user !== null ? { username: gone.user } : {}) }, 0);
    const record = this.record(
      state,
      "stop",
      {
        eventTime: Math.max(lastSeen, state.startedAt),
        inputOctets: live ? gone.bytesIn : gone.inputOctets,
        outputOctets: live ? gone.bytesOut : gone.outputOctets,
        sessionTime: Math.max(0, Math.round((lastSeen - state.startedAt) / 1000)),
        terminateCause: RECONCILED_CAUSE,
        framedAddress: live ? state.env.ifconfig_pool_remote_ip ?? null : gone.framedAddress,
        clientAddress: live ? state.env.untrusted_ip ?? null : gone.clientAddress,
        nasPort: live ? String(gone.cid) : null,
      },
      [{ name: "Tally-Stop-Reason", value: "not listed by OpenVPN (status 3) when the management connection was re-established" }],
    );
    this.logger.warn({ openvpn: this.name, sessionId: state.sessionId, user: state.user, lastSeen: new Date(lastSeen).toISOString() }, "OpenVPN session closed: no longer listed by OpenVPN");
    await this.account(state, record);
  }

  // ------------------------------------------------------------------ schedule and housekeeping

  /**
   * OpenVPN's bytecount is global, and it sends a client's BYTECOUNT_CLI on that client's first
   * packet after each period, so reports come irregularly. The connector keeps each client's
   * schedule itself and only needs fresh counters near each due time: the period is a quarter
   * of the shortest current interval (1 to 15 s), and an interim goes out within half a period
   * of its due time, on the report nearest to it or from the housekeeping timer.
   */
  private updateBytecount(): void {
    const intervals = [...this.clients.values()].filter((c) => !c.countsUnavailable).map((c) => c.interval).filter((i) => i > 0);
    const wanted = intervals.length === 0 ? 0 : Math.max(1, Math.min(MAX_BYTECOUNT, Math.floor(Math.min(...intervals) / 4)));
    if (wanted === this.currentBytecount || this.client === null) return;
    this.currentBytecount = wanted;
    this.bytecountSince = Date.now();
    this.logger.debug({ openvpn: this.name, seconds: wanted }, "OpenVPN bytecount");
    this.send(bytecount(wanted));
  }

  /**
   * Four times a second. An idle client reports late or not at all (no packet, no report):
   * when a client's interim is overdue by half a period, it is sent with the latest counters
   * (behind by at most one period of traffic, since no packet came to trigger a report).
   *
   * A client that never gets a BYTECOUNT_CLI while `status 3` shows its counters moving is one
   * OpenVPN does not report (2.6 with data-channel offload): the log and the session say so,
   * and its interims take their counters from `status 3` instead of reporting zeros.
   * Also carries out disconnects asked for from another process through the store.
   */
  private async housekeep(): Promise<void> {
    if (this.housekeepingBusy || this.client === null) return;
    this.housekeepingBusy = true;
    try {
      const now = Date.now();
      const tick = Math.max(this.currentBytecount, 1) * 1000;
      const fromStatus: ClientState[] = [];
      const probes: ClientState[] = [];
      for (const state of this.clients.values()) {
        if (state.interval === 0 || state.nextDue === null) continue;
        if (state.countsUnavailable) {
          if (now >= state.nextDue) fromStatus.push(state);
          continue;
        }
        if (!state.countsSeen && this.currentBytecount > 0 && now - Math.max(this.bytecountSince, state.startedAt) > 2 * tick + 2000) {
          if (state.probe === null || now - state.probe.at >= 2 * tick) probes.push(state);
        }
        if (now >= state.nextDue + tick / 2 && this.due(state, now)) {
          const sessionTime = Math.max(0, Math.round((now - state.startedAt) / 1000));
          this.applyOutcome(state, await this.account(state, this.record(state, "interim", { inputOctets: state.bytesIn, outputOctets: state.bytesOut, sessionTime })));
        }
      }
      if (fromStatus.length > 0 || probes.length > 0) await this.useStatus(fromStatus, probes);
      if (++this.housekeepingRound % DISCONNECT_POLL_ROUNDS === 0) await this.carryOutRequestedDisconnects();
    } catch (err) {
      this.logger.warn({ err, openvpn: this.name }, "OpenVPN housekeeping failed");
    } finally {
      this.housekeepingBusy = false;
    }
  }

  /** One `status 3` for the clients whose counters must come from it, and for the probes. */
  private async useStatus(due: ClientState[], probes: ClientState[]): Promise<void> {
    const client = this.client;
    if (client === null) return;
    const rows = new Map(parseStatus3(await client.command(status(3), true)).clients.map((r) => [sessionIdOf(r.connectedSince, r.cid), r]));
    const now = Date.now();
    for (const state of probes) {
      const row = rows.get(state.sessionId);
      if (row === undefined || state.countsSeen) continue;
      const before = state.probe;
      state.probe = { bytesIn: row.bytesReceived, bytesOut: row.bytesSent, at: now };
      if (before !== null && (row.bytesReceived > before.bytesIn || row.bytesSent > before.bytesOut)) {
        await this.markCountsUnavailable(state);
        if (state.nextDue !== null && now >= state.nextDue) due.push(state);
      }
    }
    for (const state of due) {
      const row = rows.get(state.sessionId);
      if (row === undefined || !this.due(state, now)) continue;
      state.bytesIn = row.bytesReceived;
      state.bytesOut = row.bytesSent;
      const sessionTime = Math.max(0, Math.round((now - state.startedAt) / 1000));
      this.applyOutcome(state, await this.account(state, this.record(state, "interim", { inputOctets: row.bytesReceived, outputOctets: row.bytesSent, sessionTime }, [COUNTS_FROM_STATUS])));
    }
  }

  private async markCountsUnavailable(state: ClientState): Promise<void> {
    state.countsUnavailable = true;
    this.logger.warn(
      { openvpn: this.name, sessionId: state.sessionId, user: state.user },
      "OpenVPN sends no BYTECOUNT_CLI for this client although its counters move (data-channel offload?); its interims take counters from status 3",
    );
    await this.noteCounts(state);
    this.updateBytecount();
  }

  private async noteCounts(state: ClientState): Promise<void> {
    if (state.ref === null || !this.backend.noteSession) return;
    try {
      await this.backend.noteSession(state.ref, COUNTS_FROM_STATUS.value);
    } catch (err) {
      this.logger.warn({ err, openvpn: this.name, sessionId: state.sessionId }, "session note not stored");
    }
  }

  private async carryOutRequestedDisconnects(): Promise<void> {
    if (!this.backend.requestedDisconnects) return;
    for (const request of await this.backend.requestedDisconnects(this.name)) {
      const state = [...this.clients.values()].find((c) => c.sessionId === request.sessionId);
      if (state === undefined || state.killed) continue;
      const outcome = await this.kill(request);
      await this.backend.settleDisconnect?.(request, outcome);
      this.logger.info({ openvpn: this.name, sessionId: request.sessionId, outcome: outcome.state, detail: outcome.detail }, "disconnect");
    }
  }

  /** Ends a session of this server: client-kill with HALT, so the client does not come back. */
  async kill(session: { sessionId: string }): Promise<{ state: "acknowledged" | "refused"; detail: string }> {
    const state = [...this.clients.values()].find((c) => c.sessionId === session.sessionId);
    if (state === undefined) return { state: "refused", detail: "not connected to this OpenVPN server" };
    if (state.killed) return { state: "acknowledged", detail: "client-kill HALT (already sent)" };
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

  /** Session ids of the clients this connector follows: the one named, else every one of `user`. */
  match(sessionId: string | null, user: string | null): string[] {
    const all = [...this.clients.values()];
    if (sessionId !== null) return all.filter((c) => c.sessionId === sessionId).map((c) => c.sessionId);
    if (user !== null) return all.filter((c) => c.user === user).map((c) => c.sessionId);
    return [];
  }

  /** A new interval for one client from the accounting side (e.g. a RADIUS CoA); 0 stops updates. */
  changeInterval(sessionId: string, seconds: number): boolean {
    const state = [...this.clients.values()].find((c) => c.sessionId === sessionId);
    if (state === undefined) return false;
    this.logger.info({ openvpn: this.name, sessionId, interimInterval: seconds }, "OpenVPN interim interval changed");
    this.applyOutcome(state, { interimInterval: seconds });
    return true;
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.housekeeping) clearInterval(this.housekeeping);
    this.client?.close();
  }
}

const COUNTS_FROM_STATUS = {
  name: "Tally-Counters",
  value: "from status 3: OpenVPN sends no BYTECOUNT_CLI for this client (data-channel offload?)",
};

function sessionIdOf(connectedSince: number, cid: number): string {
  return `${connectedSince}-${cid}`;
}

function envAttributes(env: Record<string, string>): RecordAttribute[] {
  return Object.entries(env).map(([name, value]) => ({ name, value }));
}

function withoutPassword(env: Record<string, string>): Record<string, string> {
  const { password: _password, ...rest } = env;
  return rest;
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
