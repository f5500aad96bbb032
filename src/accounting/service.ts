// What every transport calls with an accounting record: commit it (group commit, durable),
// then let the plugins decide, apply their decision to the session (next interim interval,
// disconnect requested), and say how to answer the NAS. The record is stored exactly once
// whatever the plugins say; a NAS that retries after `error` is a redelivery.
//
// A spooled record (the store unreachable, the record in the spool journal: AppendResult
// `spooled`) has no session yet: plugins see it with `session: null` and `spooled: true`, and
// a disconnect or interval they ask for has no session to apply to. Sessions that spooled
// records close are announced (sessionClosed) when the replay stores them (`replayed`).

import type { Logger } from "pino";
import type { AccountingRecord } from "../model/record.ts";
import { sessionKey, type Session } from "../model/session.ts";
import type { CombinedAccounting, PluginHost } from "../plugins/host.ts";
import type { AppendResult, Store } from "../store/store.ts";
import type { AccountingCore } from "./core.ts";
import { SessionEvents } from "./events.ts";

export interface AccountingOutcome extends CombinedAccounting {
  result: AppendResult;
  /** The session after this record and the plugins' decision; null for NAS-wide records. */
  session: Session | null;
}

/** What the service asks of the NAS side after a decision; wired to the Disconnector. */
export interface SessionActions {
  disconnect(session: Session, reason: string | null): Promise<unknown>;
  changeInterval(session: Session, seconds: number): Promise<unknown>;
}

export class AccountingService {
  /** Sessions as they change, for live views (nothing is read unless someone subscribes). */
  readonly events: SessionEvents;

  constructor(
    private readonly core: AccountingCore,
    private readonly store: Store,
    /** A getter, so a reload can swap the plugins without touching the transports. */
    private readonly plugins: () => PluginHost,
    private readonly logger: Logger,
    private readonly actions: SessionActions | null = null,
  ) {
    this.events = new SessionEvents(store);
  }

  /** Tells live views what a stored record changed. */
  private notify(result: AppendResult): void {
    if (!this.events.listening || result.duplicate || result.spooled) return;
    if (result.sessionPk !== null) this.events.changed(result.sessionPk);
    for (const pk of result.closedSessionPks ?? []) this.events.changed(pk);
  }

  /** Rejects only when the store could not commit; plugin failures come back as status "error". */
  async account(record: AccountingRecord): Promise<AccountingOutcome> {
    const result = await this.core.submit(record);
    this.notify(result);
    const host = this.plugins();
    if (!host.hasAccounting) {
      // Nothing to decide: acknowledge without reading the session back (the hot path).
      if (!result.duplicate && !result.spooled && host.size > 0) this.announceClosed(record, result, null);
      return { status: "ok", result, session: null };
    }
    if (result.spooled) return this.decideSpooled(record, result, host);
    let session = result.sessionPk === null ? null : await this.store.getSession(result.sessionPk);
    const orderKey = result.sessionPk !== null ? `s${result.sessionPk}` : `n${record.protocol}:${record.nas}`;
    const decision = await host.accounting(record, session, result.duplicate, orderKey);

    if (session !== null && session.status === "open") {
      const control: Parameters<Store["updateSessionControl"]>[1] = {};
      if (decision.interimInterval !== undefined && decision.interimInterval !== session.interimInterval) {
        control.interimInterval = decision.interimInterval;
      }
      // A request that went unanswered is tried again on the next decision; one under way,
      // acknowledged or refused is not.
      if (decision.status === "disconnect" && (session.disconnect === null || session.disconnect === "unanswered")) {
        control.disconnect = "requested";
        control.disconnectReason = decision.reason ?? null;
        this.logger.warn({ session: session.id, user: session.user, nas: session.nas, reason: decision.reason }, "disconnect requested");
      }
      if (Object.keys(control).length > 0) session = (await this.store.updateSessionControl(session.id, control)) ?? session;
      // Acting on the NAS never delays the answer to this record.
      if (this.actions !== null) {
        const s = session;
        if (control.disconnect !== undefined) this.background(this.actions.disconnect(s, decision.reason ?? null), "disconnect");
        if (control.interimInterval !== undefined) this.background(this.actions.changeInterval(s, control.interimInterval), "interval change");
      }
    }

    if (!result.duplicate) this.announceClosed(record, result, session);
    return { ...decision, result, session };
  }

  /** The plugins decide on a spooled record: no session to read, nothing to apply it to. */
  private async decideSpooled(record: AccountingRecord, result: AppendResult, host: PluginHost): Promise<AccountingOutcome> {
    const unattached = record.kind === "on" || record.kind === "off" || record.command !== null || record.sessionId === null;
    const orderKey = unattached ? `n${record.protocol}:${record.nas}` : `k${sessionKey(record)}`;
    const decision = await host.accounting(record, null, false, orderKey, true);
    if (decision.status === "disconnect" || decision.interimInterval !== undefined) {
      this.logger.warn(
        { user: record.user, nas: record.nas, sessionId: record.sessionId, status: decision.status, interimInterval: decision.interimInterval },
        "plugin decision not applied: the record is spooled (store unreachable), its session is not known yet",
      );
    }
    return { ...decision, result, session: null };
  }

  /** What a spool replay stored: announce the sessions those records closed (SpoolingStore.onReplayed). */
  replayed(records: readonly AccountingRecord[], results: readonly AppendResult[]): void {
    records.forEach((record, i) => {
      const result = results[i];
      if (result === undefined) return;
      this.notify(result);
      if (!result.duplicate && !result.spooled) this.announceClosed(record, result, null);
    });
  }

  /**
   * Tells the plugins of a session that no record closed (the reaper's stale sessions), as a
   * Stop's close is told: sessionClosed, once. Never rejects.
   */
  async sessionClosed(session: Session): Promise<void> {
    this.events.publish(session);
    const host = this.plugins();
    if (host.size === 0) return;
    await host.sessionClosed(session).catch((err: unknown) => this.logger.error({ err }, "sessionClosed failed"));
  }

  private background(work: Promise<unknown>, what: string): void {
    work.catch((err: unknown) => this.logger.error({ err }, `${what} failed`));
  }

  /** sessionClosed runs after the answer is decided, so it never delays the NAS. */
  private announceClosed(record: AccountingRecord, result: AppendResult, session: Session | null): void {
    const host = this.plugins();
    if (host.size === 0) return;
    const closed: Promise<Session | null>[] = [];
    if (record.kind === "stop" && result.sessionPk !== null) {
      // Only the Stop that closed the session announces it (not a repeated or late one).
      const closing = (s: Session | null) => (s !== null && s.status === "closed" && s.stoppedAt === record.eventTime ? s : null);
      closed.push(session !== null ? Promise.resolve(closing(session)) : this.store.getSession(result.sessionPk).then(closing));
    }
    for (const pk of result.closedSessionPks ?? []) closed.push(this.store.getSession(pk));
    for (const p of closed) {
      void p.then((s) => (s ? host.sessionClosed(s) : undefined)).catch((err: unknown) => this.logger.error({ err }, "sessionClosed failed"));
    }
  }
}
