// A session as Tally keeps it, and the pure rule that folds an accounting record into it.
// The store applies `foldRecord` inside the same transaction that stores the record, so a
// session row is never updated without its record and never updated twice for one record.

import type { AccountingRecord, Protocol } from "./record.ts";

export type SessionStatus = "open" | "closed" | "stale";

/** Where a request to cut the user off stands (a plugin's `disconnect`, the CLI, the quota). */
export type DisconnectState = "requested" | "acknowledged" | "refused" | "unanswered";

/** The fields of a session that records change; the store adds `id`. */
export interface SessionState {
  protocol: Protocol;
  client: string;
  nas: string;
  user: string | null;
  sessionId: string;
  status: SessionStatus;
  /** ms since the epoch */
  startedAt: number;
  updatedAt: number;
  stoppedAt: number | null;
  inputOctets: number;
  outputOctets: number;
  inputPackets: number;
  outputPackets: number;
  sessionTime: number;
  terminateCause: string | null;
  framedAddress: string | null;
  clientAddress: string | null;
  nasPort: string | null;
  /** Seconds between interim updates asked of the NAS for this session, if known. */
  interimInterval: number | null;
  /** ms; when the next interim update is expected (reaper and plugins use it). */
  nextUpdateDue: number | null;
  disconnect: DisconnectState | null;
  disconnectReason: string | null;
  /** What a transport knows about the session that no record says (e.g. no byte counts). */
  note: string | null;
}

export interface Session extends SessionState {
  /** Tally's own id for the session (the `id` of `tally sessions --json`). */
  id: number;
}

/**
 * The key that identifies one session across all its records (and, later, across nodes).
 * Not the user: a NAS may send User-Name only on some records, and Acct-Session-Id is
 * unique per NAS (RFC 2866 section 5.5). NASes do reuse ids after a reboot, so one key may
 * name several sessions over time; see `startsNewSession`.
 */
export function sessionKey(r: Pick<AccountingRecord, "protocol" | "nas" | "sessionId" | "user" | "nasPort">): string {
  // A TACACS+ task_id is only unique per user and port of the device (RFC 8907 section 7).
  if (r.protocol === "tacacs") return JSON.stringify([r.protocol, r.nas, r.user ?? "", r.nasPort ?? "", r.sessionId ?? ""]);
  return JSON.stringify([r.protocol, r.nas, r.sessionId ?? ""]);
}

/**
 * True when `record` begins a new session although the latest session with its key exists:
 * a Start after that session ended (a NAS reusing Acct-Session-Id after a reboot).
 * A Start for a still-open session is a reordered or repeated Start of the same session.
 */
export function startsNewSession(latest: SessionState, record: AccountingRecord): boolean {
  return record.kind === "start" && latest.status !== "open" && record.eventTime > (latest.stoppedAt ?? latest.updatedAt);
}

function maxCounter(current: number, incoming: number | null): number {
  // Counters are cumulative; the largest seen is the truth even when records arrive out of order.
  return incoming === null ? current : Math.max(current, incoming);
}

/**
 * Folds one session record (start, interim or stop) into the session it belongs to.
 * Returns the new state, or the unchanged state when the record must not change it
 * (an interim or a repeated stop after the session closed). `on`/`off` are NAS-wide and
 * handled by `closeForNas`; passing them here is a programming error.
 */
export function foldRecord(current: SessionState | null, record: AccountingRecord, defaultInterimInterval: number | null): SessionState {
  if (record.kind === "on" || record.kind === "off") throw new Error(`foldRecord: ${record.kind} is NAS-wide`);
  if (record.sessionId === null) throw new Error("foldRecord: a session record needs a sessionId");
  const eventTime = record.eventTime;
  const base: SessionState = current ?? {
    protocol: record.protocol,
    client: record.client,
    nas: record.nas,
    user: record.user,
    sessionId: record.sessionId,
    status: "open",
    // A session first seen through an interim or stop began sessionTime seconds earlier.
    startedAt: record.kind === "start" ? eventTime : eventTime - (record.sessionTime ?? 0) * 1000,
    updatedAt: eventTime,
    stoppedAt: null,
    inputOctets: 0,
    outputOctets: 0,
    inputPackets: 0,
    outputPackets: 0,
    sessionTime: 0,
    terminateCause: null,
    framedAddress: null,
    clientAddress: null,
    nasPort: null,
    interimInterval: record.interimInterval ?? defaultInterimInterval,
    nextUpdateDue: null,
    disconnect: null,
    disconnectReason: null,
    note: null,
  };
  // Once a session is closed (or reaped as stale) nothing reopens it or moves its totals.
  if (current !== null && current.status !== "open") return current;

  const next: SessionState = {
    ...base,
    user: base.user ?? record.user,
    updatedAt: Math.max(base.updatedAt, eventTime),
    inputOctets: maxCounter(base.inputOctets, record.inputOctets),
    outputOctets: maxCounter(base.outputOctets, record.outputOctets),
    inputPackets: maxCounter(base.inputPackets, record.inputPackets),
    outputPackets: maxCounter(base.outputPackets, record.outputPackets),
    sessionTime: maxCounter(base.sessionTime, record.sessionTime),
    framedAddress: record.framedAddress ?? base.framedAddress,
    clientAddress: record.clientAddress ?? base.clientAddress,
    nasPort: record.nasPort ?? base.nasPort,
    interimInterval: record.interimInterval ?? base.interimInterval,
  };
  if (record.kind === "start" && current !== null) {
    // A Start after an interim (reordered delivery): the Start knows the true start time.
    next.startedAt = Math.min(base.startedAt, eventTime);
  }
  if (record.kind === "stop") {
    next.status = "closed";
    next.stoppedAt = eventTime;
    next.terminateCause = record.terminateCause;
    next.nextUpdateDue = null;
  } else if (next.interimInterval !== null && next.interimInterval > 0) {
    next.nextUpdateDue = next.updatedAt + next.interimInterval * 1000;
  } else {
    next.nextUpdateDue = null;
  }
  return next;
}

/** The change Accounting-On/Off makes to every open session of the NAS that sent it. */
export function closeForNas(current: SessionState, record: AccountingRecord): SessionState {
  if (current.status !== "open") return current;
  return {
    ...current,
    status: "closed",
    stoppedAt: record.eventTime,
    updatedAt: Math.max(current.updatedAt, record.eventTime),
    // As FreeRADIUS's SQL schema does for both Accounting-On and -Off.
    terminateCause: "NAS-Reboot",
    nextUpdateDue: null,
  };
}

/**
 * The reaper's rule: an open session with an update interval whose next update is overdue by
 * more than one more interval plus `graceMs` (last update + interval x 2 + grace < now), with
 * silence counted from `since` at the earliest when given. A session without an interval
 * (null or 0) expects no updates and is never stale. The store's `reapOverdue` applies the same
 * rule in its query; `tally reap --dry-run` applies this one.
 */
export function isOverdue(s: SessionState, now: number, graceMs: number, since?: number): boolean {
  if (s.status !== "open" || s.nextUpdateDue === null || s.interimInterval === null || s.interimInterval <= 0) return false;
  const wait = 2 * s.interimInterval * 1000 + graceMs;
  return s.nextUpdateDue + s.interimInterval * 1000 + graceMs < now && (since === undefined || since + wait < now);
}

/**
 * What the reaper changes on an open session whose updates stopped: stale, stopped at its last
 * update (the last moment it is known to have been up), Lost-Service, and a note saying why.
 */
export function staleState(s: SessionState, now: number): Pick<SessionState, "status" | "stoppedAt" | "terminateCause" | "nextUpdateDue" | "note"> {
  const silent = Math.round((now - s.updatedAt) / 1000);
  const why = `stale: no update for ${silent} s (expected every ${s.interimInterval ?? "?"} s); closed by Tally's reaper`;
  return {
    status: "stale",
    stoppedAt: s.updatedAt,
    terminateCause: "Lost-Service",
    nextUpdateDue: null,
    note: s.note ? `${s.note}; ${why}` : why,
  };
}

/** A session as JSON: times as ISO 8601 strings (UTC), the rest as in Session. */
export type SessionJson = Omit<Session, "startedAt" | "updatedAt" | "stoppedAt" | "nextUpdateDue"> & {
  startedAt: string;
  updatedAt: string;
  stoppedAt: string | null;
  nextUpdateDue: string | null;
};

/** The JSON form of a session, as `tally sessions --json` and the HTTP API print it. */
export function sessionToJson(s: Session): SessionJson {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: s.id,
    protocol: s.protocol,
    client: s.client,
    nas: s.nas,
    user: s.user,
    sessionId: s.sessionId,
    status: s.status,
    startedAt: new Date(s.startedAt).toISOString(),
    updatedAt: new Date(s.updatedAt).toISOString(),
    stoppedAt: iso(s.stoppedAt),
    inputOctets: s.inputOctets,
    outputOctets: s.outputOctets,
    inputPackets: s.inputPackets,
    outputPackets: s.outputPackets,
    sessionTime: s.sessionTime,
    terminateCause: s.terminateCause,
    framedAddress: s.framedAddress,
    clientAddress: s.clientAddress,
    nasPort: s.nasPort,
    interimInterval: s.interimInterval,
    nextUpdateDue: iso(s.nextUpdateDue),
    disconnect: s.disconnect,
    disconnectReason: s.disconnectReason,
    note: s.note,
  };
}
