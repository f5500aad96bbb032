// The Store interface: everything Tally keeps durably. SQLite is the embedded default;
// PostgreSQL (several nodes, one database) implements the same interface.
// Every method that writes resolves only once the write is durable on disk.

import type { AccountingRecord, Protocol, StoredRecord } from "../model/record.ts";
import type { DisconnectState, Session, SessionStatus } from "../model/session.ts";

/** What plugins and operators change on a session besides what records fold into it. */
export interface SessionControl {
  /** Seconds; 0 stops updates. Also moves nextUpdateDue. */
  interimInterval?: number;
  disconnect?: DisconnectState;
  disconnectReason?: string | null;
  /** Replaces the session's note (what a transport knows that no record says). */
  note?: string | null;
}

export interface AppendResult {
  /** Row id of the stored record (of the first copy, when this one was a duplicate). */
  recordId: number;
  /** Tally's id of the session the record belongs to; null for Accounting-On/Off. */
  sessionPk: number | null;
  /** True when the store already had this record (same dedupKey): nothing was changed. */
  duplicate: boolean;
  /** On/Off: the open sessions of the NAS this record closed (Tally's ids). */
  closedSessionPks?: number[];
  /**
   * The store was unreachable: the record is durably in the spool journal (spooling-store.ts)
   * and goes into the store when it returns. Nothing is known yet about its session:
   * recordId is 0, sessionPk null and duplicate false.
   */
  spooled?: true;
}

export interface SessionFilter {
  status?: SessionStatus;
  user?: string;
  nas?: string;
  protocol?: Protocol;
  disconnect?: DisconnectState;
  /** ms; only sessions updated at or after this time. */
  since?: number;
  /** ms; only sessions that started before this time. */
  until?: number;
  /** Keyset page: only sessions after this one in newest-first order (updated_at, id descending). */
  before?: { updatedAt: number; id: number };
  limit?: number;
}

/** A NAS as the sessions know it. */
export interface NasSummary {
  nas: string;
  protocol: Protocol;
  openSessions: number;
  sessions: number;
  /** ms: the latest update of any of its sessions. */
  lastSeen: number;
}

export interface CommandFilter {
  user?: string;
  nas?: string;
  /** ms; only commands at or after this time */
  since?: number;
  limit?: number;
}

export interface UsageDay {
  /** YYYY-MM-DD (UTC), or YYYY-MM-DDTHH when usage was asked by the hour */
  day: string;
  inputOctets: number;
  outputOctets: number;
  sessionTime: number;
  sessions: number;
}

export interface Usage {
  user: string;
  since: number | null;
  sessions: number;
  inputOctets: number;
  outputOctets: number;
  sessionTime: number;
  days: UsageDay[];
}

/** A time range in ms since the epoch: [since, until). Either end may be open. */
export interface TimeRange {
  since?: number;
  until?: number;
}

/** What `prune` removed. */
export interface PruneResult {
  records: number;
  sessions: number;
}

/** A user kept in the store (`tally users add`), beside those in the config file. */
export interface StoredUser {
  name: string;
  /** Either a cleartext password (needed for CHAP) or an scrypt hash string, never both. */
  password: { cleartext: string } | { scrypt: string };
  /** Reply attributes by dictionary name, e.g. { "Session-Timeout": 3600 }. */
  reply: Record<string, string | number>;
  /** Names of config groups the user belongs to. */
  groups: string[];
}

export interface Store {
  /**
   * Stores the records in one transaction, folding each into its session, and resolves when
   * that transaction is durable. Results are in the order of `records`.
   * `defaultInterimInterval` (seconds) seeds a new session's expected update interval.
   */
  appendRecords(records: readonly AccountingRecord[], defaultInterimInterval: number | null): Promise<AppendResult[]>;
  listSessions(filter?: SessionFilter): Promise<Session[]>;
  getSession(id: number): Promise<Session | null>;
  /** Applies `control` to a session and resolves with it (null when no such session). Durable. */
  updateSessionControl(id: number, control: SessionControl): Promise<Session | null>;
  listRecords(sessionPk: number): Promise<StoredRecord[]>;
  /** Records that carry a command (the audit trail), newest first. */
  listCommands(filter?: CommandFilter): Promise<StoredRecord[]>;
  /** One user's usage from the records that happened at or after `since` (ms): totals and per UTC day (or hour). */
  usage(user: string, since: number | null, bucket?: "day" | "hour"): Promise<Usage>;
  /** Every NAS that has sessions, with how many are open, by NAS and protocol. */
  listNas(): Promise<NasSummary[]>;
  /**
   * The reaper: closes, as `stale`, the open sessions whose next update is overdue by more than
   * one more interval plus `graceMs` (last update + interval x 2 + grace < now). Each is stopped
   * at its last update with terminate cause Lost-Service and a note saying why. Durable; resolves
   * with the sessions it closed. Only sessions still open are changed, so several reapers may
   * share one database.
   * `since` (ms, optional): silence is counted from no earlier than this, i.e. the session must
   * also satisfy since + interval x 2 + grace < now. A server passes the time it started, so
   * the time it was down (when no NAS could reach it) never makes a session stale.
   */
  reapOverdue(now: number, graceMs: number, since?: number): Promise<Session[]>;
  /** Records received in `range` with id > afterId, by id, at most `limit` (keyset pages for export). */
  exportRecords(range: TimeRange, afterId: number, limit: number): Promise<StoredRecord[]>;
  /** Sessions active in `range` (updated at or after since, started before until) with id > afterId, by id. */
  exportSessions(range: TimeRange, afterId: number, limit: number): Promise<Session[]>;
  /** Removes records received before `before` (ms), and closed or stale sessions last updated before it that have no records left. */
  prune(before: number): Promise<PruneResult>;
  getUser(name: string): Promise<StoredUser | null>;
  listUsers(): Promise<StoredUser[]>;
  putUser(user: StoredUser): Promise<void>;
  /** Resolves true when a user was removed. */
  removeUser(name: string): Promise<boolean>;
  close(): Promise<void>;
}
