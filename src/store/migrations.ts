// Versioned schema migrations for the SQLite store. Append new migrations to the end of
// `MIGRATIONS` with the next version number; never edit one that has shipped.
// `migrate` applies the pending ones in a single transaction when the store opens, and records
// each in `schema_migrations`, so opening an up-to-date database changes nothing.

import type Database from "better-sqlite3";

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "sessions, records, users",
    sql: `
      CREATE TABLE sessions (
        id                INTEGER PRIMARY KEY AUTOINCREMENT,
        session_key       TEXT    NOT NULL,
        protocol          TEXT    NOT NULL CHECK (protocol IN ('radius', 'tacacs', 'openvpn')),
        client            TEXT    NOT NULL,
        nas               TEXT    NOT NULL,
        user              TEXT,
        session_id        TEXT    NOT NULL,
        status            TEXT    NOT NULL CHECK (status IN ('open', 'closed', 'stale')),
        started_at        INTEGER NOT NULL,
        updated_at        INTEGER NOT NULL,
        stopped_at        INTEGER,
        input_octets      INTEGER NOT NULL DEFAULT 0,
        output_octets     INTEGER NOT NULL DEFAULT 0,
        input_packets     INTEGER NOT NULL DEFAULT 0,
        output_packets    INTEGER NOT NULL DEFAULT 0,
        session_time      INTEGER NOT NULL DEFAULT 0,
        terminate_cause   TEXT,
        framed_address    TEXT,
        client_address    TEXT,
        nas_port          TEXT,
        interim_interval  INTEGER,
        next_update_due   INTEGER,
        disconnect        TEXT    CHECK (disconnect IN ('requested', 'acknowledged', 'refused', 'unanswered')),
        disconnect_reason TEXT
      ) STRICT;

      -- Folding finds the latest session of a key (a NAS may reuse a key after a reboot).
      CREATE INDEX sessions_key ON sessions (session_key, id);
      -- listSessions: newest first, optionally by status or user.
      CREATE INDEX sessions_updated_at ON sessions (updated_at);
      CREATE INDEX sessions_status_updated_at ON sessions (status, updated_at);
      CREATE INDEX sessions_user_updated_at ON sessions (user, updated_at);
      -- Accounting-On/Off closes the open sessions of one NAS; also listSessions by nas.
      CREATE INDEX sessions_nas_open ON sessions (nas, protocol) WHERE status = 'open';
      CREATE INDEX sessions_nas_updated_at ON sessions (nas, updated_at);
      -- The reaper looks for open sessions whose next update is overdue.
      CREATE INDEX sessions_next_update_due ON sessions (next_update_due) WHERE status = 'open';

      CREATE TABLE records (
        id                   INTEGER PRIMARY KEY AUTOINCREMENT,
        dedup_key            TEXT    NOT NULL UNIQUE,
        session_pk           INTEGER REFERENCES sessions (id),
        protocol             TEXT    NOT NULL CHECK (protocol IN ('radius', 'tacacs', 'openvpn')),
        kind                 TEXT    NOT NULL CHECK (kind IN ('start', 'interim', 'stop', 'on', 'off')),
        received_at          INTEGER NOT NULL,
        event_time           INTEGER NOT NULL,
        client               TEXT    NOT NULL,
        nas                  TEXT    NOT NULL,
        user                 TEXT,
        session_id           TEXT,
        input_octets         INTEGER,
        output_octets        INTEGER,
        input_packets        INTEGER,
        output_packets       INTEGER,
        session_time         INTEGER,
        terminate_cause      TEXT,
        framed_address       TEXT,
        client_address       TEXT,
        nas_port             TEXT,
        command              TEXT,
        attributes           TEXT    NOT NULL CHECK (json_valid(attributes)),
        -- What folding this record added to its session's totals (0 when it changed nothing):
        -- summing them by day of event_time attributes usage to the day it happened.
        delta_input_octets   INTEGER NOT NULL DEFAULT 0,
        delta_output_octets  INTEGER NOT NULL DEFAULT 0,
        delta_session_time   INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      -- listRecords, usage (a session's records within a time range) and the foreign key.
      CREATE INDEX records_session_pk_event_time ON records (session_pk, event_time);
      -- The command audit trail (TACACS+ command accounting), newest first, by user.
      CREATE INDEX records_commands ON records (event_time) WHERE command IS NOT NULL;
      CREATE INDEX records_commands_user ON records (user, event_time) WHERE command IS NOT NULL;

      CREATE TABLE users (
        name                TEXT    PRIMARY KEY,
        password_cleartext  TEXT,
        password_scrypt     TEXT,
        reply               TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(reply)),
        groups              TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(groups)),
        created_at          INTEGER NOT NULL,
        updated_at          INTEGER NOT NULL,
        CHECK ((password_cleartext IS NULL) <> (password_scrypt IS NULL))
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: "session note",
    // What a transport knows about a session that no record says, e.g. that OpenVPN gives no
    // per-client byte counts for it (data-channel offload).
    sql: "ALTER TABLE sessions ADD COLUMN note TEXT;",
  },
  {
    version: 3,
    name: "sessions by user without updated_at",
    // (user, updated_at) moved its entry on every update of a session, to a page as random as
    // the user, one more page for each commit to write. (user) stays put when a session is
    // updated; a user's sessions are few enough to sort.
    sql: `
      DROP INDEX sessions_user_updated_at;
      CREATE INDEX sessions_user ON sessions (user);
    `,
  },
  {
    version: 4,
    name: "records deduplicated per session",
    // A table-wide UNIQUE (dedup_key) on hash keys put every new record's entry on a random
    // page: half of the pages each commit wrote (BENCHMARKS.md). A record's duplicate always
    // belongs to a session under the same session key, so uniqueness per session is enough;
    // entries then sit next to their session's others. Records without a session (On/Off,
    // commands) stay unique among themselves. SQLite cannot drop a column constraint, so the
    // table is rebuilt (ids kept).
    sql: `
      CREATE TABLE records_new (
        id                   INTEGER PRIMARY KEY AUTOINCREMENT,
        dedup_key            TEXT    NOT NULL,
        session_pk           INTEGER REFERENCES sessions (id),
        protocol             TEXT    NOT NULL CHECK (protocol IN ('radius', 'tacacs', 'openvpn')),
        kind                 TEXT    NOT NULL CHECK (kind IN ('start', 'interim', 'stop', 'on', 'off')),
        received_at          INTEGER NOT NULL,
        event_time           INTEGER NOT NULL,
        client               TEXT    NOT NULL,
        nas                  TEXT    NOT NULL,
        user                 TEXT,
        session_id           TEXT,
        input_octets         INTEGER,
        output_octets        INTEGER,
        input_packets        INTEGER,
        output_packets       INTEGER,
        session_time         INTEGER,
        terminate_cause      TEXT,
        framed_address       TEXT,
        client_address       TEXT,
        nas_port             TEXT,
        command              TEXT,
        attributes           TEXT    NOT NULL CHECK (json_valid(attributes)),
        delta_input_octets   INTEGER NOT NULL DEFAULT 0,
        delta_output_octets  INTEGER NOT NULL DEFAULT 0,
        delta_session_time   INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      INSERT INTO records_new SELECT
        id, dedup_key, session_pk, protocol, kind, received_at, event_time, client, nas, user,
        session_id, input_octets, output_octets, input_packets, output_packets, session_time,
        terminate_cause, framed_address, client_address, nas_port, command, attributes,
        delta_input_octets, delta_output_octets, delta_session_time
      FROM records;
      DROP TABLE records;
      ALTER TABLE records_new RENAME TO records;

      CREATE UNIQUE INDEX records_dedup_session ON records (session_pk, dedup_key) WHERE session_pk IS NOT NULL;
      CREATE UNIQUE INDEX records_dedup_unattached ON records (dedup_key) WHERE session_pk IS NULL;
      CREATE INDEX records_session_pk_event_time ON records (session_pk, event_time);
      CREATE INDEX records_commands ON records (event_time) WHERE command IS NOT NULL;
      CREATE INDEX records_commands_user ON records (user, event_time) WHERE command IS NOT NULL;
    `,
  },
];

/** Thrown when the database was written by a newer Tally or its history disagrees with ours. */
export class MigrationError extends Error {
  override name = "MigrationError";
}

/**
 * Brings the schema up to date. Runs in one IMMEDIATE transaction so two processes opening
 * the same file cannot both migrate it. Returns the versions it applied (empty when none).
 */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  for (let i = 1; i < migrations.length; i++) {
    const prev = migrations[i - 1];
    const cur = migrations[i];
    if (prev !== undefined && cur !== undefined && cur.version <= prev.version) {
      throw new MigrationError(`migrations out of order: ${cur.version} after ${prev.version}`);
    }
  }
  const run = db.transaction((): number[] => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version     INTEGER PRIMARY KEY,
      name        TEXT    NOT NULL,
      applied_at  INTEGER NOT NULL
    ) STRICT`);
    const rows = db.prepare("SELECT version, name FROM schema_migrations ORDER BY version").all() as {
      version: number;
      name: string;
    }[];
    const applied = new Map(rows.map((r) => [r.version, r.name]));
    const known = new Map(migrations.map((m) => [m.version, m.name]));
    for (const [version, name] of applied) {
      const ours = known.get(version);
      if (ours === undefined) {
        throw new MigrationError(`database has schema version ${version} ("${name}"), unknown to this Tally (newer?)`);
      }
      if (ours !== name) {
        throw new MigrationError(`schema version ${version} is "${name}" in the database but "${ours}" here`);
      }
    }
    const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
    const done: number[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
      done.push(m.version);
    }
    return done;
  });
  return run.immediate();
}
