// Versioned schema migrations for the PostgreSQL store (the SQLite store has its own list in
// migrations.ts: the dialects differ, the tables and their meaning do not). Append new
// migrations with the next version; never edit one that has shipped. `migratePostgres` runs
// the pending ones in one transaction under an advisory lock, so several nodes starting at
// once migrate the database exactly once.

import type pg from "pg";
import { MigrationError, type Migration } from "./migrations.ts";

/** Any fixed number: the advisory lock every node takes to migrate. */
const MIGRATION_LOCK = 0x7a11_0001;

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "sessions, records by month, users, radacct view",
    sql: `
      CREATE TABLE sessions (
        id                bigserial PRIMARY KEY,
        session_key       text    NOT NULL,
        protocol          text    NOT NULL CHECK (protocol IN ('radius', 'tacacs', 'openvpn')),
        client            text    NOT NULL,
        nas               text    NOT NULL,
        "user"            text,
        session_id        text    NOT NULL,
        status            text    NOT NULL CHECK (status IN ('open', 'closed', 'stale')),
        started_at        bigint  NOT NULL,
        updated_at        bigint  NOT NULL,
        stopped_at        bigint,
        input_octets      bigint  NOT NULL DEFAULT 0,
        output_octets     bigint  NOT NULL DEFAULT 0,
        input_packets     bigint  NOT NULL DEFAULT 0,
        output_packets    bigint  NOT NULL DEFAULT 0,
        session_time      bigint  NOT NULL DEFAULT 0,
        terminate_cause   text,
        framed_address    text,
        client_address    text,
        nas_port          text,
        interim_interval  integer,
        next_update_due   bigint,
        disconnect        text    CHECK (disconnect IN ('requested', 'acknowledged', 'refused', 'unanswered')),
        disconnect_reason text,
        note              text
      );
      CREATE INDEX sessions_key ON sessions (session_key, id);
      CREATE INDEX sessions_updated_at ON sessions (updated_at);
      CREATE INDEX sessions_status_updated_at ON sessions (status, updated_at);
      CREATE INDEX sessions_user ON sessions ("user");
      CREATE INDEX sessions_nas_open ON sessions (nas, protocol) WHERE status = 'open';
      CREATE INDEX sessions_nas_updated_at ON sessions (nas, updated_at);
      CREATE INDEX sessions_next_update_due ON sessions (next_update_due) WHERE status = 'open';

      -- Partitioned by the month Tally received the record (received_at, ms), so that pruning
      -- old months drops whole tables. A unique index on a partitioned table must include the
      -- partition key, so duplicates are not refused by an index: every writer of a session
      -- (or of an unattached record's key) holds a transaction-level advisory lock on that key
      -- while it looks for the duplicate and inserts (see postgres.ts).
      CREATE SEQUENCE records_id_seq AS bigint;
      CREATE TABLE records (
        id                   bigint  NOT NULL DEFAULT nextval('records_id_seq'),
        dedup_key            text    NOT NULL,
        session_pk           bigint,
        protocol             text    NOT NULL CHECK (protocol IN ('radius', 'tacacs', 'openvpn')),
        kind                 text    NOT NULL CHECK (kind IN ('start', 'interim', 'stop', 'on', 'off')),
        received_at          bigint  NOT NULL,
        event_time           bigint  NOT NULL,
        client               text    NOT NULL,
        nas                  text    NOT NULL,
        "user"               text,
        session_id           text,
        input_octets         bigint,
        output_octets        bigint,
        input_packets        bigint,
        output_packets       bigint,
        session_time         bigint,
        terminate_cause      text,
        framed_address       text,
        client_address       text,
        nas_port             text,
        command              text,
        attributes           jsonb   NOT NULL,
        delta_input_octets   bigint  NOT NULL DEFAULT 0,
        delta_output_octets  bigint  NOT NULL DEFAULT 0,
        delta_session_time   bigint  NOT NULL DEFAULT 0,
        PRIMARY KEY (id, received_at)
      ) PARTITION BY RANGE (received_at);
      ALTER SEQUENCE records_id_seq OWNED BY records.id;
      CREATE INDEX records_session_dedup ON records (session_pk, dedup_key);
      CREATE INDEX records_session_pk_event_time ON records (session_pk, event_time);
      CREATE INDEX records_dedup_unattached ON records (dedup_key) WHERE session_pk IS NULL;
      CREATE INDEX records_commands ON records (event_time) WHERE command IS NOT NULL;
      CREATE INDEX records_commands_user ON records ("user", event_time) WHERE command IS NOT NULL;

      CREATE TABLE users (
        name                text    PRIMARY KEY,
        password_cleartext  text,
        password_scrypt     text,
        reply               jsonb   NOT NULL DEFAULT '{}',
        groups              jsonb   NOT NULL DEFAULT '[]',
        created_at          bigint  NOT NULL,
        updated_at          bigint  NOT NULL,
        CHECK ((password_cleartext IS NULL) <> (password_scrypt IS NULL))
      );

      -- Takes the advisory locks of a batch in the order given (the caller sorts them), in one
      -- round trip.
      CREATE FUNCTION tally_lock_keys(keys bigint[]) RETURNS void LANGUAGE plpgsql AS $$
      DECLARE k bigint;
      BEGIN
        FOREACH k IN ARRAY keys LOOP
          PERFORM pg_advisory_xact_lock(k);
        END LOOP;
      END $$;

      CREATE FUNCTION tally_ms(ms bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS
        $$ SELECT to_timestamp(ms / 1000.0) $$;
      CREATE FUNCTION tally_inet(t text) RETURNS inet LANGUAGE plpgsql IMMUTABLE AS $$
      BEGIN
        RETURN t::inet;
      EXCEPTION WHEN others THEN
        RETURN NULL;
      END $$;

      -- FreeRADIUS's radacct (its PostgreSQL schema, 3.2), one row per session, so that
      -- reporting tools written for FreeRADIUS read Tally's sessions unchanged. Tally keeps
      -- what FreeRADIUS keeps in columns Tally has no column for in the records' attributes.
      CREATE VIEW radacct AS
        SELECT
          s.id                                 AS radacctid,
          s.session_id                         AS acctsessionid,
          s.session_key                        AS acctuniqueid,
          s."user"                             AS username,
          NULL::text                           AS realm,
          tally_inet(s.nas)                    AS nasipaddress,
          s.nas                                AS nasidentifier,
          s.nas_port                           AS nasportid,
          NULL::text                           AS nasporttype,
          tally_ms(s.started_at)               AS acctstarttime,
          tally_ms(s.updated_at)               AS acctupdatetime,
          tally_ms(s.stopped_at)               AS acctstoptime,
          s.interim_interval::bigint           AS acctinterval,
          s.session_time                       AS acctsessiontime,
          NULL::text                           AS acctauthentic,
          NULL::text                           AS connectinfo_start,
          NULL::text                           AS connectinfo_stop,
          s.input_octets                       AS acctinputoctets,
          s.output_octets                      AS acctoutputoctets,
          NULL::text                           AS calledstationid,
          s.client_address                     AS callingstationid,
          COALESCE(s.terminate_cause, '')      AS acctterminatecause,
          NULL::text                           AS servicetype,
          NULL::text                           AS framedprotocol,
          tally_inet(s.framed_address)         AS framedipaddress,
          NULL::inet                           AS framedipv6address,
          NULL::inet                           AS framedipv6prefix,
          NULL::text                           AS framedinterfaceid,
          NULL::inet                           AS delegatedipv6prefix,
          NULL::text                           AS class,
          s.protocol                           AS protocol,
          s.status                             AS status
        FROM sessions s;
    `,
  },
];

/**
 * Brings the schema up to date; returns the versions applied. Refuses a database written by a
 * newer Tally, or whose history disagrees with ours.
 */
export async function migratePostgres(client: pg.ClientBase, migrations: readonly Migration[] = POSTGRES_MIGRATIONS): Promise<number[]> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version     integer PRIMARY KEY,
      name        text    NOT NULL,
      applied_at  bigint  NOT NULL
    )`);
    const { rows } = await client.query<{ version: number; name: string }>("SELECT version, name FROM schema_migrations ORDER BY version");
    const known = new Map(migrations.map((m) => [m.version, m.name]));
    for (const r of rows) {
      const ours = known.get(r.version);
      if (ours === undefined) throw new MigrationError(`database has schema version ${r.version} ("${r.name}"), unknown to this Tally (newer?)`);
      if (ours !== r.name) throw new MigrationError(`schema version ${r.version} is "${r.name}" in the database but "${ours}" here`);
    }
    const applied = new Set(rows.map((r) => r.version));
    const done: number[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      await client.query(m.sql);
      await client.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [m.version, m.name, Date.now()]);
      done.push(m.version);
    }
    await client.query("COMMIT");
    return done;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}
