// Chooses and opens the store named by the configuration: SQLite (one file, the default) or
// PostgreSQL (several nodes, one database).

import type { Logger } from "pino";
import type { StoreConfig } from "../config/load.ts";
import { PostgresStore, redactUrl } from "./postgres.ts";
import { SpoolingStore } from "./spooling-store.ts";
import { SqliteStore } from "./sqlite.ts";
import type { Store } from "./store.ts";
import { WorkerStore } from "./worker-store.ts";

export type { AppendResult, SessionFilter, Store, StoredUser, Usage, UsageDay } from "./store.ts";
export { PostgresStore } from "./postgres.ts";
export { SqliteStore } from "./sqlite.ts";
export { WorkerStore } from "./worker-store.ts";
export { SpoolingStore } from "./spooling-store.ts";
export { isStoreUnavailable } from "./unavailable.ts";

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
 * statements and commits never hold up the sockets (see worker-store.ts); PostgreSQL behind
 * the spool (spooling-store.ts) when `spool` is on, so that records are still acknowledged,
 * from a local journal, while the database is unreachable. With the spool on, a database
 * unreachable at start-up is waited for (logged, retried); with it off, that is an error.
 * The caller replays what the journal holds (SpoolingStore.replay) before serving. CLI
 * commands, which do one thing and exit, use openStore.
 */
export async function openServerStore(config: StoreConfig, logger?: Logger): Promise<Store> {
  if ("sqlite" in config) return WorkerStore.open(config.sqlite);
  if (!config.spool) return openStore(config);
  // Replay calls in flight as accounting batches are (app.ts): within the pool, at most four.
  const replayInFlight = Math.max(1, Math.min(4, config.poolSize - 1));
  return SpoolingStore.open(() => openStore(config), config.journal, { logger, replayInFlight });
}
