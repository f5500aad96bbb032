// Chooses and opens the store named by the configuration. Only SQLite exists today;
// a PostgreSQL variant will be selected here too.

import { SqliteStore } from "./sqlite.ts";
import type { Store } from "./store.ts";
import { WorkerStore } from "./worker-store.ts";

export type { AppendResult, SessionFilter, Store, StoredUser, Usage, UsageDay } from "./store.ts";
export { SqliteStore } from "./sqlite.ts";
export { WorkerStore } from "./worker-store.ts";

export function openStore(config: { sqlite: string }): Store {
  return SqliteStore.open(config.sqlite);
}

/**
 * The store for a long-running server: the same SQLite store on a worker thread, so that
 * statements and commits never hold up the sockets (see worker-store.ts). CLI commands,
 * which do one thing and exit, use openStore.
 */
export function openServerStore(config: { sqlite: string }): Promise<Store> {
  return WorkerStore.open(config.sqlite);
}
