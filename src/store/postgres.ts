// The PostgreSQL store: several Tally nodes, one database. Same behaviour as the SQLite store
// (the same test suite runs against both), with what many writers need:
//
// - Every batch is one transaction that first takes, in one sorted order, a transaction-level
//   advisory lock per session key it touches (and per dedup key of records without a session).
//   Two nodes folding records of one session therefore take turns, each reading what the other
//   committed: the session is counted once, a duplicate is found whichever node got the first
//   copy, and no update of the session row is lost. Sorted order means no deadlock between
//   batches; the rare one with an Accounting-On/Off (which locks a NAS's sessions by row) is
//   retried when PostgreSQL reports a deadlock.
// - A batch costs a fixed number of round trips whatever its size: the sessions and possible
//   duplicates are read with one query each, ids are taken from the sequences in one, and rows
//   are written as JSON record sets in three statements.
// - Records are partitioned by the month they were received (`tally prune` drops whole months).
// - Commits wait for the WAL flush (synchronous_commit = on, set on every connection whatever
//   the server's default), so an acknowledged batch survives a crash of the database server.

import { createHash } from "node:crypto";
import pg from "pg";
import type { AccountingRecord, Protocol, StoredRecord } from "../model/record.ts";
import type { Session, SessionState, SessionStatus } from "../model/session.ts";
import { closeForNas, foldRecord, sessionKey, staleState, startsNewSession } from "../model/session.ts";
import { migratePostgres } from "./postgres-migrations.ts";
import { commandListing, listingSql, sessionListing, type Listing } from "./queries.ts";
import { rowToRecord, rowToSession, rowToUser, sessionParams, sessionState, usageTotals } from "./rows.ts";
import type { RecordRow, SessionRow, UsageDayRow, UsageRow, UserRow } from "./rows.ts";
import type { AppendResult, CommandFilter, NasSummary, PruneResult, SessionControl, SessionFilter, Store, StoredUser, TimeRange, Usage } from "./store.ts";

/** Advisory lock held while creating or dropping partitions (any fixed number). */
const PARTITION_LOCK = 0x7a11_0002;
/** Deadlock and serialization failures: the whole batch is retried this many times. */
const MAX_RETRIES = 5;
const RETRYABLE = new Set(["40P01", "40001"]);

// bigint (int8) and numeric come back as strings by default. Tally's integers (ms, octets up to
// 2^53) are safe as numbers.
const typeParsers = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

export interface PostgresOptions {
  /** Connections this node keeps. */
  poolSize?: number;
  /** Called with errors of idle connections (the pool replaces them); default: ignored. */
  onIdleError?: (err: Error) => void;
}

/** 64-bit advisory lock key of a string (as decimal text, for a bigint[] parameter). */
function lockKey(s: string): bigint {
  return createHash("sha1").update(s).digest().readBigInt64BE(0);
}

/** First ms of the UTC month containing `ms`, and of the month after. */
function monthOf(ms: number): { from: number; to: number; name: string } {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  return { from: Date.UTC(y, m, 1), to: Date.UTC(y, m + 1, 1), name: `records_${y}_${String(m + 1).padStart(2, "0")}` };
}

interface Working {
  id: number;
  key: string;
  state: SessionState;
  isNew: boolean;
  dirty: boolean;
}

const SESSION_FOLD_COLUMNS = [
  "user", "status", "started_at", "updated_at", "stopped_at", "input_octets", "output_octets", "input_packets",
  "output_packets", "session_time", "terminate_cause", "framed_address", "client_address", "nas_port",
  "interim_interval", "next_update_due",
];
const SESSION_ALL_COLUMNS = [
  "protocol", "client", "nas", "session_id", ...SESSION_FOLD_COLUMNS, "disconnect", "disconnect_reason", "note",
];
const quote = (c: string) => (c === "user" ? '"user"' : c);

/** A stored copy of a record (by dedup key) in any session under `key`: the earlier sessions of a reused id included. */
async function storedUnderKey(c: pg.PoolClient, key: string, dedupKey: string): Promise<{ id: number; session_pk: number } | undefined> {
  const { rows } = await c.query<{ id: number; session_pk: number }>(
    `SELECT r.id, r.session_pk FROM sessions s JOIN records r ON r.session_pk = s.id
      WHERE s.session_key = $1 AND r.dedup_key = $2 LIMIT 1`,
    [key, dedupKey],
  );
  return rows[0];
}

export class PostgresStore implements Store {
  readonly #pool: pg.Pool;
  /** Months whose partition is known to exist (first ms of the month). */
  readonly #months = new Set<number>();
  /**
   * Resolves when the latest batch has taken its locks. Batches of this node take their locks
   * in the order they were submitted, so two batches in flight with records of one session
   * fold them in arrival order (the later waits for the earlier's commit).
   */
  #lockTurn: Promise<void> = Promise.resolve();

  /** Schema versions this open applied (`tally migrate` reports them). */
  migrationsApplied: readonly number[] = [];

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Connects, migrates and makes the partitions of this month and the next. */
  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      types: typeParsers,
      connectionTimeoutMillis: 5000,
      // A database behind a network that drops packets (instead of refusing) must still be
      // found unreachable within seconds, so that the spool takes over: TCP keepalive for idle
      // connections, and a bound on every query (far above any batch's real time).
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      query_timeout: 30_000,
      application_name: "tally",
    });
    // An idle connection that breaks (the server restarted) must not take the process down.
    pool.on("error", (err) => options.onIdleError?.(err));
    pool.on("connect", (client) => {
      client.query("SET synchronous_commit = on").catch(() => undefined);
    });
    const store = new PostgresStore(pool);
    try {
      const client = await pool.connect();
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken ??= err;
      };
      client.on("error", onError);
      try {
        store.migrationsApplied = await migratePostgres(client);
      } finally {
        client.off("error", onError);
        client.release(broken);
      }
      const now = Date.now();
      await store.#ensurePartitions([now, monthOf(now).to]);
    } catch (err) {
      await pool.end();
      throw openError(url, err as Error);
    }
    return store;
  }

  /** A server setting as this store's connections see it (diagnostics and tests). */
  async setting(name: string): Promise<string> {
    const { rows } = await this.#pool.query<{ value: string }>("SELECT current_setting($1) AS value", [name]);
    return rows[0]!.value;
  }

  /** Runs `fn` in a transaction on one connection; retries on deadlock / serialization failure. */
  async #transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    // The pool listens for errors only on idle clients. A connection that dies while checked
    // out (the server stopped or restarted) emits 'error' too; unheard, that event would be
    // an uncaught exception and take the process down. The query in progress rejects anyway.
    const onError = (err: Error) => {
      broken ??= err;
    };
    client.on("error", onError);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await client.query("BEGIN");
          const result = await fn(client);
          await client.query("COMMIT");
          return result;
        } catch (err) {
          try {
            await client.query("ROLLBACK");
          } catch (e) {
            broken = e as Error;
          }
          const code = (err as { code?: string }).code;
          if (broken === undefined && code !== undefined && RETRYABLE.has(code) && attempt < MAX_RETRIES) continue;
          throw err;
        }
      }
    } finally {
      client.off("error", onError);
      // A connection whose ROLLBACK failed (or that died) is in an unknown state: the pool closes it.
      client.release(broken);
    }
  }

  async #ensurePartitions(times: readonly number[]): Promise<void> {
    const missing = new Map<number, ReturnType<typeof monthOf>>();
    for (const t of times) {
      const m = monthOf(t);
      if (!this.#months.has(m.from)) missing.set(m.from, m);
    }
    if (missing.size === 0) return;
    await this.#transaction(async (c) => {
      // Serialized across nodes: two CREATE ... IF NOT EXISTS at once can still collide.
      await c.query("SELECT pg_advisory_xact_lock($1)", [PARTITION_LOCK]);
      for (const m of missing.values()) {
        await c.query(`CREATE TABLE IF NOT EXISTS ${m.name} PARTITION OF records FOR VALUES FROM (${m.from}) TO (${m.to})`);
      }
    });
    for (const from of missing.keys()) this.#months.add(from);
  }

  async appendRecords(records: readonly AccountingRecord[], defaultInterimInterval: number | null): Promise<AppendResult[]> {
    if (records.length === 0) return [];
    const previous = this.#lockTurn;
    let locked!: () => void;
    this.#lockTurn = new Promise((resolve) => (locked = resolve));
    try {
      await this.#ensurePartitions(records.map((r) => r.receivedAt));
      return await this.#transaction((c) => this.#append(c, records, defaultInterimInterval, previous, locked));
    } finally {
      locked();
    }
  }

  async #append(
    c: pg.PoolClient,
    records: readonly AccountingRecord[],
    defaultInterimInterval: number | null,
    previousLocked: Promise<void>,
    locked: () => void,
  ): Promise<AppendResult[]> {
    const attached = (r: AccountingRecord) => r.kind !== "on" && r.kind !== "off" && r.command === null && r.sessionId !== null && r.sessionId !== undefined;
    const keyOf = records.map((r) => (attached(r) ? sessionKey(r) : null));

    // 1. Locks, in one global order.
    const locks = new Set<bigint>();
    records.forEach((r, i) => locks.add(lockKey(keyOf[i] ?? `u:${r.dedupKey}`)));
    const sorted = [...locks].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
    await previousLocked;
    await c.query("SELECT tally_lock_keys($1::bigint[])", [sorted]);
    locked();

    // 2. The latest session of every key, locked against the reaper, On/Off and control changes.
    const keys = [...new Set(keyOf.filter((k): k is string => k !== null))];
    const working = new Map<number, Working>();
    const latestByKey = new Map<string, number>();
    if (keys.length > 0) {
      const { rows } = await c.query<SessionRow>(
        `SELECT * FROM sessions WHERE id IN (SELECT max(id) FROM sessions WHERE session_key = ANY($1::text[]) GROUP BY session_key) FOR UPDATE`,
        [keys],
      );
      for (const row of rows) {
        working.set(row.id, { id: row.id, key: row.session_key, state: sessionState(rowToSession(row)), isNew: false, dirty: false });
        latestByKey.set(row.session_key, row.id);
      }
    }

    // 3. Stored copies of these records, in their sessions and among unattached ones.
    const stored = new Map<string, { id: number; sessionPk: number | null }>();
    const pairPks: number[] = [];
    const pairKeys: string[] = [];
    const unattachedKeys: string[] = [];
    records.forEach((r, i) => {
      const key = keyOf[i] ?? null;
      if (key === null) unattachedKeys.push(r.dedupKey);
      else {
        const pk = latestByKey.get(key);
        if (pk !== undefined) {
          pairPks.push(pk);
          pairKeys.push(r.dedupKey);
        }
      }
    });
    if (pairPks.length > 0) {
      const { rows } = await c.query<{ id: number; session_pk: number; dedup_key: string }>(
        `SELECT r.id, r.session_pk, r.dedup_key FROM records r
           JOIN unnest($1::bigint[], $2::text[]) AS p(session_pk, dedup_key)
             ON r.session_pk = p.session_pk AND r.dedup_key = p.dedup_key`,
        [pairPks, pairKeys],
      );
      for (const r of rows) stored.set(`${r.session_pk}\n${r.dedup_key}`, { id: r.id, sessionPk: r.session_pk });
    }
    if (unattachedKeys.length > 0) {
      const { rows } = await c.query<{ id: number; dedup_key: string }>(
        "SELECT id, dedup_key FROM records WHERE session_pk IS NULL AND dedup_key = ANY($1::text[])",
        [unattachedKeys],
      );
      for (const r of rows) stored.set(`\n${r.dedup_key}`, { id: r.id, sessionPk: null });
    }

    // 4. Ids: one per record, and one per record that may start a session (unused ones are gaps).
    const mayStart = records.filter((r, i) => {
      const key = keyOf[i] ?? null;
      if (key === null) return false;
      const pk = latestByKey.get(key);
      return pk === undefined || r.kind === "start";
    }).length;
    const { rows: idRows } = await c.query<{ r: number[]; s: number[] | null }>(
      `SELECT (SELECT array_agg(nextval('records_id_seq')) FROM generate_series(1, $1::int)) AS r,
              (SELECT array_agg(nextval('sessions_id_seq')) FROM generate_series(1, $2::int)) AS s`,
      [records.length, mayStart],
    );
    const recordIds = (idRows[0]!.r ?? []).map(Number);
    const sessionIds = (idRows[0]!.s ?? []).map(Number);
    let nextRecord = 0;
    let nextSession = 0;

    // 5. Fold, in order, in memory.
    const recordRows: Record<string, unknown>[] = [];
    const results: AppendResult[] = [];
    const link0 = { sessionPk: null, deltaIn: 0, deltaOut: 0, deltaTime: 0 };
    const addRecord = (r: AccountingRecord, link: { sessionPk: number | null; deltaIn: number; deltaOut: number; deltaTime: number }): number => {
      const id = recordIds[nextRecord++]!;
      recordRows.push(recordRow(id, r, link));
      stored.set(`${link.sessionPk ?? ""}\n${r.dedupKey}`, { id, sessionPk: link.sessionPk });
      return id;
    };
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const key: string | null = keyOf[i] ?? null;
      if (key === null) {
        const dup = stored.get(`\n${r.dedupKey}`);
        if (dup !== undefined) {
          results.push({ recordId: dup.id, sessionPk: null, duplicate: true });
          continue;
        }
        const recordId = addRecord(r, link0);
        if (r.kind === "on" || r.kind === "off") {
          const closed = await this.#closeForNas(c, r, working, latestByKey);
          results.push({ recordId, sessionPk: null, duplicate: false, closedSessionPks: closed });
        } else {
          results.push({ recordId, sessionPk: null, duplicate: false });
        }
        continue;
      }

      const latestId = latestByKey.get(key);
      const latest = latestId === undefined ? undefined : working.get(latestId);
      let row = latest;
      if (latest !== undefined && startsNewSession(latest.state, r)) {
        // A Start under the key of a session that has ended: a reused Acct-Session-Id, which
        // starts a new session, unless this very record is stored under the key already (in this
        // batch or before). Then it is a replay and must not open a session again.
        const inBatch = stored.get(`${latest.id}\n${r.dedupKey}`);
        const copy = inBatch !== undefined ? { id: inBatch.id, session_pk: latest.id } : await storedUnderKey(c, key, r.dedupKey);
        if (copy !== undefined) {
          results.push({ recordId: copy.id, sessionPk: copy.session_pk, duplicate: true });
          continue;
        }
        row = undefined;
      }
      // A record older than the latest session under its key may belong to an earlier session (a
      // NAS that reused the session id): a late copy of one of its records, or a late record of
      // it that never arrived before. Either way it is that session's, not the new one's.
      if (latest !== undefined && r.eventTime < latest.state.startedAt) {
        const copy = await storedUnderKey(c, key, r.dedupKey);
        if (copy !== undefined) {
          results.push({ recordId: copy.id, sessionPk: copy.session_pk, duplicate: true });
          continue;
        }
        if (r.kind !== "start") {
          const { rows: owners } = await c.query<SessionRow>(
            "SELECT * FROM sessions WHERE session_key = $1 AND id < $2 AND started_at <= $3 ORDER BY id DESC LIMIT 1 FOR UPDATE",
            [key, latest.id, r.eventTime],
          );
          const owner = owners[0];
          if (owner !== undefined) {
            row = working.get(owner.id) ?? { id: owner.id, key, state: sessionState(rowToSession(owner)), isNew: false, dirty: false };
            working.set(owner.id, row);
          }
        }
      }
      if (row !== undefined) {
        const dup = stored.get(`${row.id}\n${r.dedupKey}`);
        if (dup !== undefined) {
          results.push({ recordId: dup.id, sessionPk: row.id, duplicate: true });
          continue;
        }
      }
      const current = row?.state ?? null;
      const next = foldRecord(current, r, defaultInterimInterval);
      let entry = row;
      if (entry === undefined) {
        const id = sessionIds[nextSession++];
        if (id === undefined) throw new Error("postgres: more new sessions in a batch than ids taken for them");
        entry = { id, key, state: next, isNew: true, dirty: true };
        working.set(id, entry);
        latestByKey.set(key, id);
      } else if (next !== current) {
        entry.state = next;
        entry.dirty = true;
      }
      const recordId = addRecord(r, {
        sessionPk: entry.id,
        deltaIn: next.inputOctets - (current?.inputOctets ?? 0),
        deltaOut: next.outputOctets - (current?.outputOctets ?? 0),
        deltaTime: next.sessionTime - (current?.sessionTime ?? 0),
      });
      results.push({ recordId, sessionPk: entry.id, duplicate: false });
    }

    // 6. Write: new sessions, records, changed sessions.
    const fresh = [...working.values()].filter((w) => w.isNew);
    const changed = [...working.values()].filter((w) => !w.isNew && w.dirty);
    if (fresh.length > 0) {
      const cols = ["id", "session_key", ...SESSION_ALL_COLUMNS].map(quote).join(", ");
      await c.query(`INSERT INTO sessions (${cols}) SELECT ${cols} FROM json_populate_recordset(NULL::sessions, $1::json)`, [
        JSON.stringify(fresh.map((w) => ({ id: w.id, session_key: w.key, ...sessionParams(w.state) }))),
      ]);
    }
    if (recordRows.length > 0) {
      await c.query("INSERT INTO records SELECT * FROM json_populate_recordset(NULL::records, $1::json)", [JSON.stringify(recordRows)]);
    }
    if (changed.length > 0) {
      const set = SESSION_FOLD_COLUMNS.map((col) => `${quote(col)} = v.${quote(col)}`).join(", ");
      await c.query(`UPDATE sessions s SET ${set} FROM json_populate_recordset(NULL::sessions, $1::json) v WHERE s.id = v.id`, [
        JSON.stringify(changed.map((w) => ({ id: w.id, ...sessionParams(w.state) }))),
      ]);
    }
    return results;
  }

  /** Accounting-On/Off: closes the NAS's open sessions, stored and new in this batch. */
  async #closeForNas(c: pg.PoolClient, r: AccountingRecord, working: Map<number, Working>, latestByKey: Map<string, number>): Promise<number[]> {
    const { rows } = await c.query<SessionRow>(
      "SELECT * FROM sessions WHERE nas = $1 AND protocol = $2 AND status = 'open' ORDER BY id FOR UPDATE",
      [r.nas, r.protocol],
    );
    for (const row of rows) {
      if (working.has(row.id)) continue;
      working.set(row.id, { id: row.id, key: row.session_key, state: sessionState(rowToSession(row)), isNew: false, dirty: false });
      if (!latestByKey.has(row.session_key)) latestByKey.set(row.session_key, row.id);
    }
    const closed: number[] = [];
    for (const w of [...working.values()].sort((a, b) => a.id - b.id)) {
      if (w.state.nas !== r.nas || w.state.protocol !== r.protocol) continue;
      const next = closeForNas(w.state, r);
      if (next === w.state) continue;
      w.state = next;
      w.dirty = true;
      closed.push(w.id);
    }
    return closed;
  }

  async updateSessionControl(id: number, control: SessionControl): Promise<Session | null> {
    return this.#transaction(async (c) => {
      const { rows } = await c.query<SessionRow>("SELECT * FROM sessions WHERE id = $1 FOR UPDATE", [id]);
      if (rows[0] === undefined) return null;
      const s = rowToSession(rows[0]);
      if (control.interimInterval !== undefined) {
        s.interimInterval = control.interimInterval;
        s.nextUpdateDue = control.interimInterval > 0 && s.status === "open" ? s.updatedAt + control.interimInterval * 1000 : null;
      }
      if (control.disconnect !== undefined) s.disconnect = control.disconnect;
      if (control.disconnectReason !== undefined) s.disconnectReason = control.disconnectReason;
      if (control.note !== undefined) s.note = control.note;
      await this.#writeSession(c, s);
      return s;
    });
  }

  async #writeSession(c: pg.PoolClient, s: Session): Promise<void> {
    const params = sessionParams(sessionState(s)) as Record<string, unknown>;
    const set = SESSION_ALL_COLUMNS.map((col, i) => `${quote(col)} = $${i + 2}`).join(", ");
    await c.query(`UPDATE sessions SET ${set} WHERE id = $1`, [s.id, ...SESSION_ALL_COLUMNS.map((col) => params[col])]);
  }

  async reapOverdue(now: number, graceMs: number, since?: number): Promise<Session[]> {
    return this.#transaction(async (c) => {
      // SKIP LOCKED: a session locked right now is being folded (it is not silent) or reaped by
      // another node. Silence counts from `since` at the earliest (see Store.reapOverdue).
      const { rows } = await c.query<SessionRow>(
        `SELECT * FROM sessions
          WHERE status = 'open' AND next_update_due < $1
            AND next_update_due + interim_interval * 1000::bigint + $2 < $3
            AND ($4::bigint IS NULL OR $4 + 2 * interim_interval * 1000::bigint + $2 < $3)
          ORDER BY id FOR UPDATE SKIP LOCKED`,
        [now - graceMs, graceMs, now, since ?? null],
      );
      const reaped: Session[] = [];
      for (const row of rows) {
        const s = rowToSession(row);
        const change = staleState(s, now);
        const { rowCount } = await c.query(
          `UPDATE sessions SET status = $2, stopped_at = $3, terminate_cause = $4, next_update_due = $5, note = $6
            WHERE id = $1 AND status = 'open'`,
          [s.id, change.status, change.stoppedAt, change.terminateCause, change.nextUpdateDue, change.note],
        );
        if (rowCount === 0) continue;
        reaped.push({ ...s, ...change });
      }
      return reaped;
    });
  }

  async #list<Row extends pg.QueryResultRow>(listing: Listing): Promise<Row[]> {
    const { sql, params } = listingSql(listing, (n) => `$${n}`);
    return (await this.#pool.query<Row>(sql, params)).rows;
  }

  async listCommands(filter: CommandFilter = {}): Promise<StoredRecord[]> {
    return (await this.#list<RecordRow>(commandListing(filter))).map(rowToRecord);
  }

  async listSessions(filter: SessionFilter = {}): Promise<Session[]> {
    return (await this.#list<SessionRow>(sessionListing(filter))).map(rowToSession);
  }

  async countSessions(status: SessionStatus): Promise<number> {
    const { rows } = await this.#pool.query<{ n: number }>("SELECT COUNT(*)::int AS n FROM sessions WHERE status = $1", [status]);
    return rows[0]!.n;
  }

  async getSession(id: number): Promise<Session | null> {
    const { rows } = await this.#pool.query<SessionRow>("SELECT * FROM sessions WHERE id = $1", [id]);
    return rows[0] === undefined ? null : rowToSession(rows[0]);
  }

  async listRecords(sessionPk: number): Promise<StoredRecord[]> {
    const { rows } = await this.#pool.query<RecordRow>("SELECT * FROM records WHERE session_pk = $1 ORDER BY id", [sessionPk]);
    return rows.map(rowToRecord);
  }

  async usage(user: string, since: number | null, bucket: "day" | "hour" = "day"): Promise<Usage> {
    // Usage counts what each record added to its session, by the day (UTC) it happened.
    const from = `FROM sessions s JOIN records r ON r.session_pk = s.id WHERE s."user" = $1 AND ($2::bigint IS NULL OR r.event_time >= $2)`;
    const sums = `COUNT(DISTINCT r.session_pk)::int AS sessions, SUM(r.delta_input_octets)::bigint AS input_octets,
      SUM(r.delta_output_octets)::bigint AS output_octets, SUM(r.delta_session_time)::bigint AS session_time`;
    const total = await this.#pool.query<UsageRow>(`SELECT ${sums} ${from}`, [user, since]);
    const days = await this.#pool.query<UsageDayRow>(
      `SELECT to_char(to_timestamp(r.event_time / 1000.0) AT TIME ZONE 'UTC', '${bucket === "hour" ? 'YYYY-MM-DD"T"HH24' : "YYYY-MM-DD"}') AS day, ${sums} ${from}
        GROUP BY day ORDER BY day`,
      [user, since],
    );
    return { user, since, ...usageTotals(total.rows[0]), days: days.rows.map((d) => ({ day: d.day, ...usageTotals(d) })) };
  }

  async listNas(): Promise<NasSummary[]> {
    const { rows } = await this.#pool.query<{ nas: string; protocol: Protocol; open: number; total: number; last: number }>(
      `SELECT nas, protocol, (COUNT(*) FILTER (WHERE status = 'open'))::int AS open, COUNT(*)::int AS total, MAX(updated_at) AS last
         FROM sessions GROUP BY nas, protocol ORDER BY nas, protocol`,
    );
    return rows.map((r) => ({ nas: r.nas, protocol: r.protocol, openSessions: r.open, sessions: r.total, lastSeen: r.last }));
  }

  async exportRecords(range: TimeRange, afterId: number, limit: number): Promise<StoredRecord[]> {
    const { rows } = await this.#pool.query<RecordRow>(
      `SELECT * FROM records
        WHERE id > $1 AND ($2::bigint IS NULL OR received_at >= $2) AND ($3::bigint IS NULL OR received_at < $3)
        ORDER BY id LIMIT $4`,
      [afterId, range.since ?? null, range.until ?? null, limit],
    );
    return rows.map(rowToRecord);
  }

  async exportSessions(range: TimeRange, afterId: number, limit: number): Promise<Session[]> {
    const { rows } = await this.#pool.query<SessionRow>(
      `SELECT * FROM sessions
        WHERE id > $1 AND ($2::bigint IS NULL OR updated_at >= $2) AND ($3::bigint IS NULL OR started_at < $3)
        ORDER BY id LIMIT $4`,
      [afterId, range.since ?? null, range.until ?? null, limit],
    );
    return rows.map(rowToSession);
  }

  /** Drops the months wholly before `before`, deletes the older rows of the month it falls in. */
  async prune(before: number): Promise<PruneResult> {
    const dropped: number[] = [];
    const result = await this.#transaction(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock($1)", [PARTITION_LOCK]);
      const { rows: parts } = await c.query<{ name: string; bound: string }>(
        `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'records'::regclass`,
      );
      let records = 0;
      for (const p of parts) {
        const m = /FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)/.exec(p.bound);
        if (m === null) continue;
        const [from, to] = [Number(m[1]), Number(m[2])];
        if (to <= before) {
          const { rows } = await c.query<{ n: number }>(`SELECT count(*) AS n FROM ${pg.escapeIdentifier(p.name)}`);
          records += rows[0]!.n;
          await c.query(`DROP TABLE ${pg.escapeIdentifier(p.name)}`);
          dropped.push(from);
        } else if (from < before) {
          records += (await c.query(`DELETE FROM ${pg.escapeIdentifier(p.name)} WHERE received_at < $1`, [before])).rowCount ?? 0;
        }
      }
      const sessions =
        (
          await c.query(
            `DELETE FROM sessions s
              WHERE s.status <> 'open' AND s.updated_at < $1
                AND NOT EXISTS (SELECT 1 FROM records r WHERE r.session_pk = s.id)`,
            [before],
          )
        ).rowCount ?? 0;
      return { records, sessions };
    });
    for (const from of dropped) this.#months.delete(from);
    return result;
  }

  async getUser(name: string): Promise<StoredUser | null> {
    const { rows } = await this.#pool.query<UserRow>("SELECT * FROM users WHERE name = $1", [name]);
    return rows[0] === undefined ? null : rowToUser(rows[0]);
  }

  async listUsers(): Promise<StoredUser[]> {
    return (await this.#pool.query<UserRow>("SELECT * FROM users ORDER BY name")).rows.map(rowToUser);
  }

  async putUser(user: StoredUser): Promise<void> {
    const pw = user.password;
    const cleartext = "cleartext" in pw ? pw.cleartext : null;
    const scrypt = "scrypt" in pw ? pw.scrypt : null;
    if ((cleartext === null) === (scrypt === null)) {
      throw new Error(`putUser ${user.name}: exactly one of cleartext or scrypt password is required`);
    }
    await this.#pool.query(
      `INSERT INTO users (name, password_cleartext, password_scrypt, reply, groups, created_at, updated_at)
       VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $6)
       ON CONFLICT (name) DO UPDATE SET
         password_cleartext = excluded.password_cleartext, password_scrypt = excluded.password_scrypt,
         reply = excluded.reply, groups = excluded.groups, updated_at = excluded.updated_at`,
      [user.name, cleartext, scrypt, JSON.stringify(user.reply ?? {}), JSON.stringify(user.groups ?? []), Date.now()],
    );
  }

  async removeUser(name: string): Promise<boolean> {
    return ((await this.#pool.query("DELETE FROM users WHERE name = $1", [name])).rowCount ?? 0) > 0;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/** A connection URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return "postgres (unparsable URL)";
  }
}

/**
 * The error of a failed open, saying which store (without its password). The driver's own error
 * is the cause, and its code (ECONNREFUSED, a SQLSTATE) is kept for whoever classifies it.
 */
function openError(url: string, err: Error): Error {
  if (err.name === "MigrationError") return err;
  const wrapped = new Error(`postgres store at ${redactUrl(url)}: ${err.message}`, { cause: err }) as Error & { code?: string };
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") wrapped.code = code;
  return wrapped;
}

/** A record as a row of `records`, keyed by column (for json_populate_recordset). */
function recordRow(id: number, r: AccountingRecord, link: { sessionPk: number | null; deltaIn: number; deltaOut: number; deltaTime: number }) {
  return {
    id,
    dedup_key: r.dedupKey,
    session_pk: link.sessionPk,
    protocol: r.protocol,
    kind: r.kind,
    received_at: r.receivedAt,
    event_time: r.eventTime,
    client: r.client,
    nas: r.nas,
    user: r.user ?? null,
    session_id: r.sessionId ?? null,
    input_octets: r.inputOctets ?? null,
    output_octets: r.outputOctets ?? null,
    input_packets: r.inputPackets ?? null,
    output_packets: r.outputPackets ?? null,
    session_time: r.sessionTime ?? null,
    terminate_cause: r.terminateCause ?? null,
    framed_address: r.framedAddress ?? null,
    client_address: r.clientAddress ?? null,
    nas_port: r.nasPort ?? null,
    command: r.command ?? null,
    attributes: r.attributes ?? [],
    delta_input_octets: link.deltaIn,
    delta_output_octets: link.deltaOut,
    delta_session_time: link.deltaTime,
  };
}
