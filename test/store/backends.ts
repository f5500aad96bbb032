// The stores the behaviour suites run against: SQLite (a real file) and PostgreSQL (a private
// server started for the test file, a fresh database per test), and what a test may look at
// beyond the Store interface.

import { PostgresStore } from "../../src/store/postgres.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import type { Store } from "../../src/store/store.ts";
import { WorkerStore } from "../../src/store/worker-store.ts";
import { PostgresServer, postgresUnavailable } from "../support/postgres.ts";
import { tempDir } from "./fixtures.ts";
import type { TempDir } from "./fixtures.ts";

/** What a test needs beyond the Store interface: a look at the tables, a second connection. */
export interface Backdoor {
  /** Runs a query with `?` placeholders (the same SQL text on both backends). */
  all(sql: string, ...params: unknown[]): Promise<Record<string, unknown>[]>;
  countRecords(): Promise<number>;
  /** Another store on the same database, as another process or node would have. */
  openOther(): Promise<Store>;
  /** Another store on the same database that runs concurrently with this one (SQLite: on a worker thread). */
  openOtherThread(): Promise<Store>;
  /** A query giving the storage types of records.input_octets and delta_input_octets (`?` = record id), and what it must return. */
  typesOfOctetsSql: string;
  integerTypes: Record<string, string>;
}

export interface Backend {
  name: string;
  skip: string | false;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  open(): Promise<{ store: Store; db: Backdoor; close(): Promise<void> }>;
}

let tmp: TempDir;
let n = 0;
export const sqlite: Backend = {
  name: "sqlite",
  skip: false,
  async setup() {
    tmp = tempDir();
  },
  async teardown() {
    tmp.cleanup();
  },
  async open() {
    const file = tmp.file(`t${++n}.db`);
    const store = SqliteStore.open(file);
    const db: Backdoor = {
      all: async (sql, ...params) => store.database.prepare(sql).all(...params) as Record<string, unknown>[],
      countRecords: async () => (store.database.prepare("SELECT count(*) AS n FROM records").get() as { n: number }).n,
      openOther: async () => SqliteStore.open(file),
      openOtherThread: async () => WorkerStore.open(file),
      typesOfOctetsSql: "SELECT typeof(input_octets) AS a, typeof(delta_input_octets) AS b FROM records WHERE id = ?",
      integerTypes: { a: "integer", b: "integer" },
    };
    return { store, db, close: () => store.close() };
  },
};

let server: PostgresServer | undefined;
const pgUnavailable = postgresUnavailable();
export const postgres: Backend = {
  name: "postgres",
  skip: pgUnavailable ?? false,
  async setup() {
    server = await PostgresServer.start();
  },
  async teardown() {
    server?.destroy();
  },
  async open() {
    const url = await server!.createDatabase("store");
    const store = await PostgresStore.open(url);
    const others: Store[] = [];
    const db: Backdoor = {
      all: async (sql, ...params) => {
        let i = 0;
        const text = sql.replace(/\?/g, () => `$${++i}`);
        return (await server!.sql(text, new URL(url).pathname.slice(1), params)).rows as Record<string, unknown>[];
      },
      countRecords: async () => Number((await server!.sql("SELECT count(*) AS n FROM records", new URL(url).pathname.slice(1))).rows[0].n),
      openOther: async () => {
        const other = await PostgresStore.open(url);
        others.push(other);
        return other;
      },
      openOtherThread: async () => PostgresStore.open(url),
      typesOfOctetsSql: "SELECT pg_typeof(input_octets)::text AS a, pg_typeof(delta_input_octets)::text AS b FROM records WHERE id = ?",
      integerTypes: { a: "bigint", b: "bigint" },
    };
    return {
      store,
      db,
      close: async () => {
        await store.close();
        await server!.dropDatabase(url);
      },
    };
  },
};


export const BACKENDS: readonly Backend[] = [sqlite, postgres];

/** Runs `fn` with a store of `backend` on a fresh database, closing it afterwards. */
export async function withBackendStore(backend: Backend, fn: (store: Store, db: Backdoor) => Promise<void>): Promise<void> {
  const { store, db, close } = await backend.open();
  try {
    await fn(store, db);
  } finally {
    await close();
  }
}
