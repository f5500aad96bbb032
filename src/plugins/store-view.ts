// The read-only slice of the store a plugin may query (PluginStoreView).

import type { Store } from "../store/store.ts";
import type { PluginStoreView } from "./api.ts";

export function storeView(store: Store): PluginStoreView {
  return {
    usage: (user, since) => store.usage(user, since),
    openSessions: (user) => store.listSessions({ user, status: "open" }),
  };
}
