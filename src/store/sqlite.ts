// The embedded store: one SQLite file in WAL mode with synchronous=FULL, so a batch of records
// is on disk (and survives a power cut) when appendRecords resolves. better-sqlite3 is
// synchronous; each method does its work before returning an already-settled promise.

import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { AccountingRecord, Protocol, StoredRecord } from "../model/record.ts";
import type { Session, SessionState, SessionStatus } from "../model/session.ts";
import { closeForNas, foldRecord, sessionKey, staleState, startsNewSession } from "../model/session.ts";
import { migrate } from "./migrations.ts";
import { attributesJson } from "./record-transfer.ts";
import { commandListing, listingSql, sessionListing, type Listing } from "./queries.ts";
import { rowToRecord, rowToSession, rowToUser, sessionParams, sessionState, usageTotals } from "./rows.ts";
import type { RecordRow, SessionRow, UsageDayRow, UsageRow, UserRow } from "./rows.ts";
import type { AppendResult, CommandFilter, NasSummary, PruneResult, SessionControl, SessionFilter, Store, StoredUser, TimeRange, Usage, UsageDay } from "./store.ts";

/** How long a writer waits for another connection's lock before failing (ms). */
const BUSY_TIMEOUT_MS = 5000;

interface CachedSession {
  id: number;
  state: SessionState;
}

/** Open sessions kept in memory for the accounting path (the most recently active ones). */
const OPEN_SESSION_CACHE = 50_000;

/** Rows (by id) `prune` looks at per transaction. */
const PRUNE_WINDOW = 10_000;

export class SqliteStore implements Store {
  readonly #db: Database.Database;
  /** Prepared statements of the filtered queries, by their SQL. */
  readonly #queryCache = new Map<string, Database.Statement>();

  readonly #insertRecord: Database.Statement;
  readonly #findDuplicateInSession: Database.Statement;
  readonly #findDuplicateUnattached: Database.Statement;
  readonly #findDuplicateUnderKey: Database.Statement;
  readonly #findEarlierSession: Database.Statement;
  readonly #findSessionByKey: Database.Statement;
  readonly #insertSession: Database.Statement;
  readonly #updateSession: Database.Statement;
  readonly #foldSession: Database.Statement;
  readonly #foldInterim: Database.Statement;
  readonly #openSessionsOfNas: Database.Statement;
  readonly #getSession: Database.Statement;
  readonly #listRecords: Database.Statement;
  readonly #usageTotal: Database.Statement;
  readonly #usageDays: Database.Statement;
  readonly #usageHours: Database.Statement;
  readonly #getUser: Database.Statement;
  readonly #listUsers: Database.Statement;
  readonly #putUser: Database.Statement;
  readonly #removeUser: Database.Statement;
  readonly #appendTx: (records: readonly AccountingRecord[], defaultInterimInterval: number | null) => AppendResult[];
  /**
   * The latest open session per session key, as committed: saves a read per record on the
   * accounting path. This connection is the only writer of what it caches; a commit by any
   * other connection (seen through PRAGMA data_version) empties it.
   */
  readonly #openSessions = new Map<string, CachedSession>();
  #dataVersion = -1;

  /** Schema versions this open applied (`tally migrate` reports them). */
  migrationsApplied: readonly number[] = [];

  private constructor(db: Database.Database) {
    this.#db = db;
    this.#insertRecord = db.prepare(`
      INSERT INTO records (
        dedup_key, protocol, kind, received_at, event_time, client, nas, user, session_id,
        input_octets, output_octets, input_packets, output_packets, session_time,
        terminate_cause, framed_address, client_address, nas_port, command, attributes,
        session_pk, delta_input_octets, delta_output_octets, delta_session_time
      ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO NOTHING`);
    // A record's duplicate is in a session under the same key (records_dedup_session), or
    // among the records without a session (records_dedup_unattached).
    this.#findDuplicateInSession = db.prepare("SELECT id FROM records WHERE session_pk = ? AND dedup_key = ?").pluck();
    this.#findDuplicateUnattached = db.prepare("SELECT id FROM records WHERE session_pk IS NULL AND dedup_key = ?").pluck();
    this.#findDuplicateUnderKey = db.prepare(`
      SELECT r.id, r.session_pk FROM sessions s JOIN records r ON r.session_pk = s.id
       WHERE s.session_key = ? AND r.dedup_key = ?`);
    this.#findEarlierSession = db.prepare(
      "SELECT * FROM sessions WHERE session_key = ? AND id < ? AND started_at <= ? ORDER BY id DESC LIMIT 1",
    );
    this.#findSessionByKey = db.prepare("SELECT * FROM sessions WHERE session_key = ? ORDER BY id DESC LIMIT 1");
    this.#insertSession = db.prepare(`
      INSERT INTO sessions (
        session_key, protocol, client, nas, user, session_id, status, started_at, updated_at,
        stopped_at, input_octets, output_octets, input_packets, output_packets, session_time,
        terminate_cause, framed_address, client_address, nas_port, interim_interval, next_update_due,
        disconnect, disconnect_reason, note
      ) VALUES (
        @session_key, @protocol, @client, @nas, @user, @session_id, @status, @started_at, @updated_at,
        @stopped_at, @input_octets, @output_octets, @input_packets, @output_packets, @session_time,
        @terminate_cause, @framed_address, @client_address, @nas_port, @interim_interval, @next_update_due,
        @disconnect, @disconnect_reason, @note
      )`);
    this.#updateSession = db.prepare(`
      UPDATE sessions SET
        protocol = @protocol, client = @client, nas = @nas, user = @user, session_id = @session_id,
        status = @status, started_at = @started_at, updated_at = @updated_at, stopped_at = @stopped_at,
        input_octets = @input_octets, output_octets = @output_octets,
        input_packets = @input_packets, output_packets = @output_packets, session_time = @session_time,
        terminate_cause = @terminate_cause, framed_address = @framed_address,
        client_address = @client_address, nas_port = @nas_port,
        interim_interval = @interim_interval, next_update_due = @next_update_due,
        disconnect = @disconnect, disconnect_reason = @disconnect_reason, note = @note
      WHERE id = @id`);
    // What folding a record changes (not the session's identity, disconnect state or note),
    // with positional parameters: the accounting path runs this once per record. Not `user`:
    // SQLite rewrites the index entries of every column an UPDATE assigns, changed or not, and
    // a user is set once (the rare record that brings it takes the full update).
    this.#foldSession = db.prepare(`
      UPDATE sessions SET
        status = ?, started_at = ?, updated_at = ?, stopped_at = ?,
        input_octets = ?, output_octets = ?, input_packets = ?, output_packets = ?, session_time = ?,
        terminate_cause = ?, framed_address = ?, client_address = ?, nas_port = ?,
        interim_interval = ?, next_update_due = ?
      WHERE id = ?`);
    // An interim update of an open session: what it changes, without status, start, stop and
    // terminate cause. Not assigning status spares the indexes whose WHERE reads it
    // (sessions_nas_open): 3 µs of 6.6 per update with 256 sessions, 6.6 of 17.6 with 100,000.
    this.#foldInterim = db.prepare(`
      UPDATE sessions SET
        updated_at = ?, input_octets = ?, output_octets = ?, input_packets = ?, output_packets = ?, session_time = ?,
        framed_address = ?, client_address = ?, nas_port = ?, interim_interval = ?, next_update_due = ?
      WHERE id = ?`);
    this.#openSessionsOfNas = db.prepare(
      "SELECT * FROM sessions WHERE nas = ? AND protocol = ? AND status = 'open' ORDER BY id",
    );
    this.#getSession = db.prepare("SELECT * FROM sessions WHERE id = ?");
    this.#listRecords = db.prepare("SELECT * FROM records WHERE session_pk = ? ORDER BY id");
    // Usage counts what each record added to its session, by the day (UTC) it happened.
    const usageFrom = `
        FROM sessions s JOIN records r ON r.session_pk = s.id
       WHERE s.user = @user AND (@since IS NULL OR r.event_time >= @since)`;
    const usageSums = `
      COUNT(DISTINCT r.session_pk) AS sessions,
      SUM(r.delta_input_octets) AS input_octets,
      SUM(r.delta_output_octets) AS output_octets,
      SUM(r.delta_session_time) AS session_time`;
    this.#usageTotal = db.prepare(`SELECT ${usageSums} ${usageFrom}`);
    this.#usageDays = db.prepare(`
      SELECT strftime('%Y-%m-%d', r.event_time / 1000, 'unixepoch') AS day, ${usageSums} ${usageFrom}
       GROUP BY day ORDER BY day`);
    this.#usageHours = db.prepare(`
      SELECT strftime('%Y-%m-%dT%H', r.event_time / 1000, 'unixepoch') AS day, ${usageSums} ${usageFrom}
       GROUP BY day ORDER BY day`);
    this.#getUser = db.prepare("SELECT * FROM users WHERE name = ?");
    this.#listUsers = db.prepare("SELECT * FROM users ORDER BY name");
    this.#putUser = db.prepare(`
      INSERT INTO users (name, password_cleartext, password_scrypt, reply, groups, created_at, updated_at)
      VALUES (@name, @password_cleartext, @password_scrypt, @reply, @groups, @now, @now)
      ON CONFLICT (name) DO UPDATE SET
        password_cleartext = excluded.password_cleartext,
        password_scrypt = excluded.password_scrypt,
        reply = excluded.reply,
        groups = excluded.groups,
        updated_at = excluded.updated_at`);
    this.#removeUser = db.prepare("DELETE FROM users WHERE name = ?");

    const dataVersion = db.prepare("PRAGMA data_version").pluck();
    const tx = db.transaction((records: readonly AccountingRecord[], interval: number | null) => {
      // Another connection (another process: `tally disconnect`, a second node) committed since
      // our last look: what the cache holds may be stale.
      const version = dataVersion.get() as number;
      if (version !== this.#dataVersion) {
        this.#openSessions.clear();
        this.#dataVersion = version;
      }
      return records.map((r) => this.#appendOne(r, interval));
    });
    // IMMEDIATE: take the write lock up front, so a concurrent writer makes us wait
    // (busy_timeout) instead of failing on a read-to-write lock upgrade.
    this.#appendTx = (records, interval) => {
      try {
        return tx.immediate(records, interval);
      } catch (err) {
        // Rolled back: the cache may hold states that were never committed.
        this.#openSessions.clear();
        throw err;
      }
    };
  }

  /** Opens (creating file and directories if needed) and migrates the database at `file`. */
  static open(file: string): SqliteStore {
    const inMemory = file === ":memory:" || file === "";
    if (!inMemory) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const db = new Database(file);
    try {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      const mode = db.pragma("journal_mode = WAL", { simple: true });
      if (!inMemory && String(mode).toLowerCase() !== "wal") {
        throw new Error(`sqlite: could not enable WAL on ${file} (journal_mode is ${String(mode)})`);
      }
      // FULL: in WAL mode, every commit fsyncs the WAL, so an acknowledged batch survives
      // a power cut (NORMAL only survives a process crash).
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      const applied = migrate(db);
      const store = new SqliteStore(db);
      store.migrationsApplied = applied;
      return store;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** The underlying connection (tests and diagnostics; not part of the Store interface). */
  get database(): Database.Database {
    return this.#db;
  }

  /** Inserts a record unless its dedupKey is stored already; its id, or null for a duplicate. */
  #insertRecordRow(r: AccountingRecord, link: { sessionPk: number | null; deltaIn: number; deltaOut: number; deltaTime: number }): number | null {
    // Positional, in the column order of the statement: once per record on the accounting path.
    // Without RETURNING (SQLite gathers RETURNING rows in a temporary table, 2.5 µs of 12 per
    // insert): no change is the conflict, a duplicate; otherwise the new row's id.
    const inserted = this.#insertRecord.run(
      r.dedupKey, r.protocol, r.kind, r.receivedAt, r.eventTime, r.client, r.nas, r.user ?? null, r.sessionId ?? null,
      r.inputOctets ?? null, r.outputOctets ?? null, r.inputPackets ?? null, r.outputPackets ?? null, r.sessionTime ?? null,
      r.terminateCause ?? null, r.framedAddress ?? null, r.clientAddress ?? null, r.nasPort ?? null, r.command ?? null,
      attributesJson(r), link.sessionPk, link.deltaIn, link.deltaOut, link.deltaTime,
    );
    return inserted.changes === 0 ? null : Number(inserted.lastInsertRowid);
  }

  #duplicate(recordId: number | undefined, sessionPk: number | null, r: AccountingRecord): AppendResult {
    if (recordId === undefined) throw new Error(`sqlite: record ${r.dedupKey} neither inserted nor found`);
    return { recordId, sessionPk, duplicate: true };
  }

  /** The latest session under `key`: from the cache of open sessions, else the database. */
  #latestSession(key: string): CachedSession | undefined {
    const cached = this.#openSessions.get(key);
    if (cached !== undefined) return cached;
    const row = this.#findSessionByKey.get(key) as SessionRow | undefined;
    return row === undefined ? undefined : { id: row.id, state: sessionState(rowToSession(row)) };
  }

  /** Keeps open sessions in the cache (bounded, oldest out first) and drops closed ones. */
  #remember(key: string, entry: CachedSession): void {
    this.#openSessions.delete(key);
    if (entry.state.status !== "open") return;
    this.#openSessions.set(key, entry);
    if (this.#openSessions.size > OPEN_SESSION_CACHE) this.#openSessions.delete(this.#openSessions.keys().next().value!);
  }

  #appendOne(r: AccountingRecord, defaultInterimInterval: number | null): AppendResult {
    const unlinked = { sessionPk: null, deltaIn: 0, deltaOut: 0, deltaTime: 0 };
    if (r.kind === "on" || r.kind === "off") {
      const recordId = this.#insertRecordRow(r, unlinked);
      if (recordId === null) return this.#duplicate(this.#findDuplicateUnattached.get(r.dedupKey) as number | undefined, null, r);
      const open = this.#openSessionsOfNas.all(r.nas, r.protocol) as SessionRow[];
      const closed: number[] = [];
      for (const row of open) {
        const current = sessionState(rowToSession(row));
        const next = closeForNas(current, r);
        if (next === current) continue;
        this.#updateSession.run({ id: row.id, ...sessionParams(next) });
        this.#openSessions.delete(row.session_key);
        closed.push(row.id);
      }
      return { recordId, sessionPk: null, duplicate: false, closedSessionPks: closed };
    }

    // Command records are the audit trail, not session state; a session record without a
    // session id cannot be folded. Both are kept, unattached.
    if (r.command !== null || r.sessionId === null || r.sessionId === undefined) {
      const recordId = this.#insertRecordRow(r, unlinked);
      if (recordId === null) return this.#duplicate(this.#findDuplicateUnattached.get(r.dedupKey) as number | undefined, null, r);
      return { recordId, sessionPk: null, duplicate: false };
    }

    const key = sessionKey(r);
    const latest = this.#latestSession(key);
    let row = latest;
    if (latest !== undefined && startsNewSession(latest.state, r)) {
      // A Start under the key of a session that has ended: a reused Acct-Session-Id, which starts
      // a new session, unless this very record is stored under the key already. Then it is a
      // replay (an attacker's, or a NAS's very late copy) and must not open a session again.
      const copy = this.#findDuplicateUnderKey.get(key, r.dedupKey) as { id: number; session_pk: number } | undefined;
      if (copy !== undefined) return this.#duplicate(copy.id, copy.session_pk, r);
      row = undefined;
    }
    // A record older than the latest session under its key may belong to an earlier session (a
    // NAS that reused the session id): a late copy of one of its records, or a late record of
    // it that never arrived before. Either way it is that session's, not the new one's.
    let earlierSession = false;
    if (latest !== undefined && r.eventTime < latest.state.startedAt) {
      const earlier = this.#findDuplicateUnderKey.get(key, r.dedupKey) as { id: number; session_pk: number } | undefined;
      if (earlier !== undefined) return this.#duplicate(earlier.id, earlier.session_pk, r);
      const owner = r.kind === "start" ? undefined : (this.#findEarlierSession.get(key, latest.id, r.eventTime) as SessionRow | undefined);
      if (owner !== undefined) {
        row = { id: owner.id, state: sessionState(rowToSession(owner)) };
        earlierSession = true;
      }
    }
    const current = row === undefined ? null : row.state;
    // Folding is pure: computed first, applied only once the record proves not a duplicate.
    const next = foldRecord(current, r, defaultInterimInterval);
    // A new session is stored first, so its first record goes in already linked to it. (Its
    // duplicate cannot exist yet: a copy would have found this session open under the key.)
    const sessionPk = row?.id ?? Number(this.#insertSession.run({ session_key: key, ...sessionParams(next) }).lastInsertRowid);
    const link = {
      sessionPk,
      deltaIn: next.inputOctets - (current?.inputOctets ?? 0),
      deltaOut: next.outputOctets - (current?.outputOctets ?? 0),
      deltaTime: next.sessionTime - (current?.sessionTime ?? 0),
    };
    const recordId = this.#insertRecordRow(r, link);
    if (recordId === null) {
      if (row === undefined) throw new Error(`sqlite: the first record of a new session (${r.dedupKey}) was taken for a duplicate`);
      return this.#duplicate(this.#findDuplicateInSession.get(sessionPk, r.dedupKey) as number | undefined, sessionPk, r);
    }

    if (row !== undefined) {
      if (next !== current && next.user !== current!.user) {
        this.#updateSession.run({ id: row.id, ...sessionParams(next) });
      } else if (
        next !== current &&
        next.status === current!.status &&
        next.startedAt === current!.startedAt &&
        (next.stoppedAt ?? null) === (current!.stoppedAt ?? null) &&
        (next.terminateCause ?? null) === (current!.terminateCause ?? null)
      ) {
        this.#foldInterim.run(
          next.updatedAt, next.inputOctets, next.outputOctets, next.inputPackets, next.outputPackets, next.sessionTime,
          next.framedAddress ?? null, next.clientAddress ?? null, next.nasPort ?? null,
          next.interimInterval ?? null, next.nextUpdateDue ?? null, row.id,
        );
      } else if (next !== current) {
        this.#foldSession.run(
          next.status, next.startedAt, next.updatedAt, next.stoppedAt ?? null,
          next.inputOctets, next.outputOctets, next.inputPackets, next.outputPackets, next.sessionTime,
          next.terminateCause ?? null, next.framedAddress ?? null, next.clientAddress ?? null, next.nasPort ?? null,
          next.interimInterval ?? null, next.nextUpdateDue ?? null, row.id,
        );
      }
    }
    // The cache holds the latest session of a key, which an earlier one is not.
    if (!earlierSession) this.#remember(key, { id: sessionPk, state: next });
    return { recordId, sessionPk, duplicate: false };
  }

  async appendRecords(records: readonly AccountingRecord[], defaultInterimInterval: number | null): Promise<AppendResult[]> {
    if (records.length === 0) return [];
    // Synchronous: the transaction has committed (and fsynced) when this line returns.
    return this.#appendTx(records, defaultInterimInterval);
  }

  async updateSessionControl(id: number, control: SessionControl): Promise<Session | null> {
    const apply = this.#db.transaction((): Session | null => {
      const row = this.#getSession.get(id) as SessionRow | undefined;
      if (row === undefined) return null;
      const s = rowToSession(row);
      if (control.interimInterval !== undefined) {
        s.interimInterval = control.interimInterval;
        s.nextUpdateDue = control.interimInterval > 0 && s.status === "open" ? s.updatedAt + control.interimInterval * 1000 : null;
      }
      if (control.disconnect !== undefined) s.disconnect = control.disconnect;
      if (control.disconnectReason !== undefined) s.disconnectReason = control.disconnectReason;
      if (control.note !== undefined) s.note = control.note;
      this.#updateSession.run({ id, ...sessionParams(sessionState(s)) });
      const cached = this.#openSessions.get(row.session_key);
      if (cached !== undefined && cached.id === id) this.#remember(row.session_key, { id, state: sessionState(s) });
      return s;
    });
    return apply.immediate();
  }

  /** Runs a listing (queries.ts); each shape of listing is prepared once. */
  #list<Row>(listing: Listing): Row[] {
    const { sql, params } = listingSql(listing, () => "?");
    let stmt = this.#queryCache.get(sql);
    if (stmt === undefined) {
      stmt = this.#db.prepare(sql);
      this.#queryCache.set(sql, stmt);
    }
    return stmt.all(...params) as Row[];
  }

  async reapOverdue(now: number, graceMs: number, since?: number): Promise<Session[]> {
    const reap = this.#db.transaction((): Session[] => {
      // The index on next_update_due narrows to sessions due before now - grace; the second
      // condition adds the one more interval each may still have; the third counts silence from
      // `since` at the earliest.
      const rows = this.#db
        .prepare(
          `SELECT * FROM sessions
            WHERE status = 'open' AND next_update_due < @limit
              AND next_update_due + interim_interval * 1000 + @grace < @now
              AND (@since IS NULL OR @since + 2 * interim_interval * 1000 + @grace < @now)
            ORDER BY id`,
        )
        .all({ limit: now - graceMs, grace: graceMs, now, since: since ?? null }) as SessionRow[];
      // Conditional on status = 'open' although the IMMEDIATE transaction already keeps others
      // out between the SELECT and here: a session is reaped once, whoever else reaps or stops it.
      const close = this.#db.prepare(
        `UPDATE sessions SET status = @status, stopped_at = @stoppedAt, terminate_cause = @terminateCause,
                next_update_due = @nextUpdateDue, note = @note
          WHERE id = @id AND status = 'open'`,
      );
      const reaped: Session[] = [];
      for (const row of rows) {
        const s = rowToSession(row);
        const change = staleState(s, now);
        if (close.run({ id: s.id, ...change }).changes === 0) continue;
        this.#openSessions.delete(row.session_key);
        reaped.push({ ...s, ...change });
      }
      return reaped;
    });
    return reap.immediate();
  }

  async exportRecords(range: TimeRange, afterId: number, limit: number): Promise<StoredRecord[]> {
    const rows = this.#db
      .prepare(
        `SELECT * FROM records
          WHERE id > @afterId AND (@since IS NULL OR received_at >= @since) AND (@until IS NULL OR received_at < @until)
          ORDER BY id LIMIT @limit`,
      )
      .all({ afterId, since: range.since ?? null, until: range.until ?? null, limit }) as RecordRow[];
    return rows.map(rowToRecord);
  }

  async exportSessions(range: TimeRange, afterId: number, limit: number): Promise<Session[]> {
    const rows = this.#db
      .prepare(
        `SELECT * FROM sessions
          WHERE id > @afterId AND (@since IS NULL OR updated_at >= @since) AND (@until IS NULL OR started_at < @until)
          ORDER BY id LIMIT @limit`,
      )
      .all({ afterId, since: range.since ?? null, until: range.until ?? null, limit }) as SessionRow[];
    return rows.map(rowToSession);
  }

  async prune(before: number): Promise<PruneResult> {
    // One transaction per window of ids, not one for everything: a single DELETE of millions of
    // rows holds the write lock for longer than a running server's busy timeout (about 1.5 s
    // per million records here), and its commits would fail meanwhile. Each window is its own
    // durable transaction; a prune cut short is completed by running it again.
    const window = (table: "records" | "sessions", sql: string): number => {
      const { lo, hi } = this.#db.prepare(`SELECT min(id) AS lo, max(id) AS hi FROM ${table}`).get() as { lo: number | null; hi: number | null };
      if (lo === null || hi === null) return 0;
      const del = this.#db.prepare(sql);
      const step = this.#db.transaction((from: number) => del.run({ from, to: from + PRUNE_WINDOW, before }).changes);
      let removed = 0;
      for (let from = lo - 1; from < hi; from += PRUNE_WINDOW) removed += step.immediate(from);
      return removed;
    };
    const records = window("records", "DELETE FROM records WHERE id > @from AND id <= @to AND received_at < @before");
    // After the records, so a session whose last records just went is removed in the same run.
    const sessions = window(
      "sessions",
      `DELETE FROM sessions
        WHERE id > @from AND id <= @to AND status <> 'open' AND updated_at < @before
          AND NOT EXISTS (SELECT 1 FROM records r WHERE r.session_pk = sessions.id)`,
    );
    this.#openSessions.clear();
    return { records, sessions };
  }

  async listCommands(filter: CommandFilter = {}): Promise<StoredRecord[]> {
    return this.#list<RecordRow>(commandListing(filter)).map(rowToRecord);
  }

  async listSessions(filter: SessionFilter = {}): Promise<Session[]> {
    return this.#list<SessionRow>(sessionListing(filter)).map(rowToSession);
  }

  async countSessions(status: SessionStatus): Promise<number> {
    return (this.#db.prepare("SELECT COUNT(*) AS n FROM sessions WHERE status = ?").get(status) as { n: number }).n;
  }

  async getSession(id: number): Promise<Session | null> {
    const row = this.#getSession.get(id) as SessionRow | undefined;
    return row === undefined ? null : rowToSession(row);
  }

  async listRecords(sessionPk: number): Promise<StoredRecord[]> {
    return (this.#listRecords.all(sessionPk) as RecordRow[]).map(rowToRecord);
  }

  async usage(user: string, since: number | null, bucket: "day" | "hour" = "day"): Promise<Usage> {
    const params = { user, since };
    const total = usageTotals(this.#usageTotal.get(params) as UsageRow | undefined);
    const buckets = bucket === "hour" ? this.#usageHours : this.#usageDays;
    const days: UsageDay[] = (buckets.all(params) as UsageDayRow[]).map((d) => ({
      day: d.day,
      ...usageTotals(d),
    }));
    return { user, since, ...total, days };
  }

  async listNas(): Promise<NasSummary[]> {
    const rows = this.#db
      .prepare(
        `SELECT nas, protocol, SUM(status = 'open') AS open, COUNT(*) AS total, MAX(updated_at) AS last
           FROM sessions GROUP BY nas, protocol ORDER BY nas, protocol`,
      )
      .all() as { nas: string; protocol: Protocol; open: number; total: number; last: number }[];
    return rows.map((r) => ({ nas: r.nas, protocol: r.protocol, openSessions: r.open, sessions: r.total, lastSeen: r.last }));
  }

  async getUser(name: string): Promise<StoredUser | null> {
    const row = this.#getUser.get(name) as UserRow | undefined;
    return row === undefined ? null : rowToUser(row);
  }

  async listUsers(): Promise<StoredUser[]> {
    return (this.#listUsers.all() as UserRow[]).map(rowToUser);
  }

  async putUser(user: StoredUser): Promise<void> {
    const pw = user.password;
    const cleartext = "cleartext" in pw ? pw.cleartext : null;
    const scrypt = "scrypt" in pw ? pw.scrypt : null;
    if ((cleartext === null) === (scrypt === null)) {
      throw new Error(`putUser ${user.name}: exactly one of cleartext or scrypt password is required`);
    }
    this.#putUser.run({
      name: user.name,
      password_cleartext: cleartext,
      password_scrypt: scrypt,
      reply: JSON.stringify(user.reply ?? {}),
      groups: JSON.stringify(user.groups ?? []),
      now: Date.now(),
    });
  }

  async removeUser(name: string): Promise<boolean> {
    return this.#removeUser.run(name).changes > 0;
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}
