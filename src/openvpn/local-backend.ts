// The connector's accounting side inside `tally serve`: authentication through the plugins and
// then Tally's users (as for RADIUS and TACACS+), accounting through the AccountingService
// (durable commit, plugin decisions), and the store for reconciliation and for disconnects
// asked for by `tally disconnect` from another process.

import type { AccountingService } from "../accounting/service.ts";
import { UserDirectory } from "../auth/users.ts";
import { secondsSince, type RequestMetrics } from "../metrics/sink.ts";
import type { AccountingRecord } from "../model/record.ts";
import type { PluginHost } from "../plugins/host.ts";
import type { Store } from "../store/store.ts";
import { intervalFrom, type AccountResult, type AuthRequest, type AuthVerdict, type ConnectorBackend, type DisconnectRequest, type KnownSession } from "./backend.ts";

export interface LocalBackendDeps {
  users: () => UserDirectory;
  plugins: () => PluginHost;
  accounting: AccountingService;
  store: Store;
  metrics?: RequestMetrics;
}

export class LocalBackend implements ConnectorBackend {
  constructor(private readonly deps: LocalBackendDeps) {}

  /** The connector answers OpenVPN as soon as this resolves: its latency is the request's. */
  async authenticate(request: AuthRequest): Promise<AuthVerdict> {
    const started = performance.now();
    const verdict = await this.decide(request);
    this.deps.metrics?.request("openvpn", "access", verdict.ok ? "accept" : "reject", secondsSince(started));
    return verdict;
  }

  private async decide({ connector, user, password, env }: AuthRequest): Promise<AuthVerdict> {
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
        client: connector,
        nas: connector,
        clientAddress: env.untrusted_ip ?? null,
        attributes: Object.entries(env).map(([name, value]) => ({ name, value })),
      });
      if (v.status === "reject") return { ok: false, reason: v.reason ?? "rejected by a plugin" };
      reply = v.reply;
      interval = v.interimInterval;
      if (v.status === "accept") return { ok: true, interval: interval ?? intervalFrom(reply), reply };
    }
    const entry = await this.deps.users().find(user);
    if (entry === null) return { ok: false, reason: "unknown user" };
    if (!UserDirectory.checkPassword(entry, Buffer.from(password, "utf8"))) return { ok: false, reason: "wrong password" };
    reply = { ...entry.reply, ...reply };
    return { ok: true, interval: interval ?? intervalFrom(reply), reply };
  }

  async account(record: AccountingRecord): Promise<AccountResult> {
    const started = performance.now();
    let outcome;
    try {
      outcome = await this.deps.accounting.account(record);
    } catch (e) {
      this.deps.metrics?.request("openvpn", "accounting", "error", null);
      throw e;
    }
    const ended = outcome.status === "error" ? "error" : outcome.result.duplicate ? "duplicate" : outcome.status === "disconnect" ? "disconnect" : "ok";
    this.deps.metrics?.request("openvpn", "accounting", ended, secondsSince(started));
    return { interimInterval: outcome.interimInterval, sessionRef: outcome.result.sessionPk };
  }

  async openSessions(connector: string): Promise<KnownSession[]> {
    const sessions = await this.deps.store.listSessions({ status: "open", nas: connector, protocol: "openvpn", limit: 1_000_000 });
    return sessions.map((s) => ({
      sessionId: s.sessionId,
      ref: s.id,
      user: s.user,
      startedAt: s.startedAt,
      updatedAt: s.updatedAt,
      inputOctets: s.inputOctets,
      outputOctets: s.outputOctets,
      interimInterval: s.interimInterval,
      framedAddress: s.framedAddress,
      clientAddress: s.clientAddress,
    }));
  }

  async requestedDisconnects(connector: string): Promise<DisconnectRequest[]> {
    const sessions = await this.deps.store.listSessions({ status: "open", nas: connector, protocol: "openvpn", disconnect: "requested", limit: 1000 });
    return sessions.map((s) => ({ sessionId: s.sessionId, ref: s.id, reason: s.disconnectReason }));
  }

  async settleDisconnect(request: DisconnectRequest, outcome: { state: "acknowledged" | "refused"; detail: string }): Promise<void> {
    if (request.ref === null) return;
    const reason = [request.reason, outcome.detail].filter(Boolean).join("; ");
    await this.deps.store.updateSessionControl(request.ref, { disconnect: outcome.state, disconnectReason: reason });
  }

  async noteSession(ref: number, note: string): Promise<void> {
    await this.deps.store.updateSessionControl(ref, { note });
  }
}
