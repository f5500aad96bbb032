// Chooses and opens the store named by the configuration. Only SQLite exists today;
// a PostgreSQL variant will be selected here too.

import { SqliteStore } from "./sqlite.ts";
import type { Store } from "./store.ts";

export type { AppendResult, SessionFilter, Store, StoredUser, Usage, UsageDay } from "./store.ts";
export { SqliteStore } from "./sqlite.ts";

export function openStore(config: { sqlite: string }): Store {
  return SqliteStore.open(config.sqlite);
}
