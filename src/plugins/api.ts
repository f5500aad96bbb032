// The plugin API: what an operator's TypeScript module implements and receives. This file is
// the contract published as "tally/plugin"; it imports only types, so a plugin can
// `import type { PluginFactory } from "tally/plugin"` without pulling in the server.
//
// A plugin module's default export is a factory: Tally calls it once per load with the
// plugin's `options` from tally.yaml and returns hooks. Every hook may be async and is called
// with a time limit; a hook that throws, rejects or times out counts as `error` for that call.

import type { AccountingRecord, Protocol, RecordAttribute } from "../model/record.ts";
import type { Session } from "../model/session.ts";
import type { Usage } from "../store/store.ts";

export type { AccountingRecord, Protocol, RecordAttribute, Session, Usage };

/** A minimal structured logger (pino's shape): fields first, message second. */
export interface PluginLogger {
  debug(fields: object, msg?: string): void;
  info(fields: object, msg?: string): void;
  warn(fields: object, msg?: string): void;
  error(fields: object, msg?: string): void;
}

/** Read-only views of the store that plugins commonly need. */
export interface PluginStoreView {
  /** A user's usage from the records at or after `since` (ms since the epoch; null: all time). */
  usage(user: string, since: number | null): Promise<Usage>;
  /** The user's sessions that are open now. */
  openSessions(user: string): Promise<Session[]>;
}

export interface PluginContext {
  /** A logger whose lines carry the plugin's name. */
  log: PluginLogger;
  store: PluginStoreView;
  /** The plugin's `options` from tally.yaml. */
  options: Readonly<Record<string, unknown>>;
}

// ---- accounting ------------------------------------------------------------------------

export interface AccountingContext extends PluginContext {
  /**
   * True when this record was already stored and shown to plugins before: the NAS resent it
   * because an earlier call answered `error` (or the acknowledgement was lost).
   */
  redelivery: boolean;
  /**
   * The session after this record was folded in; null for Accounting-On/Off and command
   * records, and for a spooled record.
   */
  session: Readonly<Session> | null;
  /**
   * True when the store was unreachable and the record was kept in the local spool journal
   * instead (store.spool): it is durable and goes into the store, in order, once the store
   * returns. Its session is not known (`session` is null) and the store may still be
   * unreachable: a plugin that needs the store should answer `ok` (an `error` withholds the
   * acknowledgement, so the NAS resends until the store is back). A disconnect or interval
   * cannot be applied to a spooled record's session and is not carried out.
   */
  spooled: boolean;
}

export interface AccountingDecision {
  /**
   * ok: acknowledge as usual. error: do not acknowledge (RADIUS: no Accounting-Response, so
   * the NAS retries; TACACS+: ERROR); the record stays stored exactly once. disconnect: end the
   * user's session (meaningful on an interim update; ignored with a warning on start/stop).
   */
  status: "ok" | "error" | "disconnect";
  /** Seconds until the next interim update for this session; 0 stops updates. */
  interimInterval?: number;
  reason?: string;
}

// ---- authentication --------------------------------------------------------------------

export interface AuthenticateRequest {
  protocol: Protocol;
  user: string;
  /** How the password was proven: PAP/ASCII give the cleartext; CHAP and MS-CHAP do not. */
  method: "pap" | "chap" | "mschap" | "mschapv2" | "ascii" | "enable";
  /** The cleartext password, when the method carries one (PAP, ASCII, enable). */
  password: string | null;
  /** Checks a candidate password against what the user proved (works for every method). */
  verifyPassword(candidate: string): boolean;
  /** The configured client (NAS) name, and the NAS's own identity where the protocol has one. */
  client: string;
  nas: string | null;
  /** The user's own address (Calling-Station-Id, rem_addr, OpenVPN's real address). */
  clientAddress: string | null;
  /** Every attribute of the request, in display form (the password attributes left out). */
  attributes: readonly RecordAttribute[];
}

export type ReplyAttributes = Record<string, string | number>;

export type AuthenticateDecision =
  /** Accept now; later plugins and the built-in users are not asked. */
  | { status: "accept"; reply?: ReplyAttributes; interimInterval?: number; reason?: string }
  /** Reject now. */
  | { status: "reject"; reason?: string }
  /** No opinion: ask the next plugin, then the built-in users; `reply` is added if accepted. */
  | { status: "next"; reply?: ReplyAttributes; interimInterval?: number };

// ---- authorization (TACACS+ commands and services) -------------------------------------

export interface AuthorizeRequest {
  protocol: Protocol;
  user: string;
  client: string;
  service: string;
  /** "show ip route" for command authorization; null when a service starts. */
  command: string | null;
  args: readonly { name: string; value: string; mandatory: boolean }[];
}

export type AuthorizeDecision =
  | { status: "permit"; args?: Record<string, string>; reason?: string }
  | { status: "deny"; reason?: string }
  | { status: "next" };

// ---- the plugin ------------------------------------------------------------------------

export interface Plugin {
  /** Shown in logs, metrics and `tally plugins list`. */
  name: string;
  version?: string;
  authenticate?(request: AuthenticateRequest, context: PluginContext): AuthenticateDecision | Promise<AuthenticateDecision>;
  authorize?(request: AuthorizeRequest, context: PluginContext): AuthorizeDecision | Promise<AuthorizeDecision>;
  /** Called for every accounting record once it is durably stored (or spooled: see AccountingContext.spooled). */
  accounting?(record: Readonly<AccountingRecord>, context: AccountingContext): AccountingDecision | Promise<AccountingDecision>;
  /** Called once when a session closes (Stop, Accounting-On/Off, or the reaper: then status is "stale"). */
  sessionClosed?(session: Readonly<Session>, context: PluginContext): void | Promise<void>;
  /**
   * What the plugin knows about a user, as JSON, for the HTTP API and the dashboard's user page
   * (the quota: its limits and what is used). Null when it has nothing to say about this user.
   */
  userStatus?(user: string, context: PluginContext): Record<string, unknown> | null | Promise<Record<string, unknown> | null>;
  /** Called when the plugin is unloaded (shutdown or reload). */
  close?(): void | Promise<void>;
}

export interface PluginSetup {
  /** The plugin's `options` from tally.yaml, as written. */
  options: Readonly<Record<string, unknown>>;
  /** The folder of tally.yaml: resolve relative paths in options against it. */
  baseDir?: string;
  log: PluginLogger;
  store: PluginStoreView;
}

export type PluginFactory = (setup: PluginSetup) => Plugin | Promise<Plugin>;

/** Identity helper that gives a factory its types: `export default definePlugin((setup) => ({ ... }))`. */
export function definePlugin(factory: PluginFactory): PluginFactory {
  return factory;
}
