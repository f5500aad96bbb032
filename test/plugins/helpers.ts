// Shared helpers for the built-in plugin tests: a capturing log, a PluginSetup, hook contexts and an auth request.

import type {
  AccountingContext,
  AuthenticateRequest,
  PluginContext,
  PluginLogger,
  PluginSetup,
  PluginStoreView,
  Session,
} from "../../src/plugins/api.ts";

/** One line a plugin logged; a line logged without a message has msg "". */
export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  fields: Record<string, unknown>;
  msg: string;
}

/** A PluginLogger that keeps every line in `lines`, in order. */
export function captureLog(): { log: PluginLogger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine["level"]) => (fields: object, msg?: string) => {
    lines.push({ level, fields: fields as Record<string, unknown>, msg: msg ?? "" });
  };
  return { log: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") }, lines };
}

/** A store view for plugins that never ask the store. */
const unusedStore: PluginStoreView = {
  usage: () => Promise.reject(new Error("not used")),
  openSessions: () => Promise.resolve([]),
};

/** A PluginSetup with `options`, a capturing log (its lines returned too) and `store` (by default one that is not used). */
export function setupWith(
  options: Record<string, unknown>,
  store: PluginStoreView = unusedStore,
): { setup: PluginSetup; lines: LogLine[] } {
  const { log, lines } = captureLog();
  return { setup: { options, log, store }, lines };
}

/** The context of a hook other than accounting (authenticate), from the plugin's setup. */
export function pluginContext(setup: PluginSetup): PluginContext {
  return { log: setup.log, store: setup.store, options: setup.options };
}

/** The context of an accounting call: a first delivery, with `session` (by default none). */
export function ctx(setup: PluginSetup, session: Session | null = null): AccountingContext {
  return { ...pluginContext(setup), redelivery: false, session, spooled: false };
}

/** A RADIUS PAP request of `user` from client "lab", NAS "nas-a", whose password is "secret". */
export function authRequest(user: string): AuthenticateRequest {
  return {
    protocol: "radius",
    user,
    method: "pap",
    password: "secret",
    verifyPassword: (c) => c === "secret",
    client: "lab",
    nas: "nas-a",
    clientAddress: null,
    attributes: [],
  };
}
