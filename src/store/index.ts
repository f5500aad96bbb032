// Chooses and opens the store named by the configuration: SQLite (one file, the default) or
// PostgreSQL (several nodes, one database).

import type { StoreConfig } from "../config/load.ts";
import { PostgresStore, redactUrl } from "./postgres.ts";
import { SqliteStore } from "./sqlite.ts";
import type { Store } from "./store.ts";
import { WorkerStore } from "./worker-store.ts";

export type { AppendResult, SessionFilter, Store, StoredUser, Usage, UsageDay } from "./store.ts";
export { PostgresStore } from "./postgres.ts";
export { SqliteStore } from "./sqlite.ts";
export { WorkerStore } from "./worker-store.ts";

/** Where the store is, for logs: the file, or the URL without its password. */
export function describeStore(config: StoreConfig): string {
  return "sqlite" in config ? config.sqlite : redactUrl(config.postgres);
}

export async function openStore(config: StoreConfig): Promise<Store> {
  if ("sqlite" in config) return SqliteStore.open(config.sqlite);
  return PostgresStore.open(config.postgres, { poolSize: config.poolSize });
}

/**
 * The store for a long-running server: the same SQLite store on a worker thread, so that
 * statements and commits never hold up the sockets (see worker-store.ts). CLI commands,
 * which do one thing and exit, use openStore.
 */
export async function openServerStore(config: StoreConfig): Promise<Store> {
  if ("sqlite" in config) return WorkerStore.open(config.sqlite);
  return openStore(config);
}
