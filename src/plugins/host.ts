// The plugin host: loads the configured plugins in order, calls their hooks with a time limit,
// and combines their answers. A plugin that throws, rejects or times out yields `error` for
// that call (logged and counted); nothing a plugin does can stop the server. Records of one
// session reach the plugins one at a time in arrival order; different sessions run
// concurrently.

import { pathToFileURL } from "node:url";
import type { Logger } from "pino";
import type { PluginConfig } from "../config/load.ts";
import type { PluginMetrics } from "../metrics/sink.ts";
import type { AccountingRecord } from "../model/record.ts";
import type { Session } from "../model/session.ts";
import type {
  AccountingDecision,
  AuthenticateDecision,
  AuthenticateRequest,
  AuthorizeDecision,
  AuthorizeRequest,
  Plugin,
  PluginContext,
  PluginFactory,
  PluginStoreView,
  ReplyAttributes,
} from "./api.ts";

/** The plugins that ship with Tally, by the name used in `module:`. */
export const BUILTIN_PLUGINS: Record<string, URL> = {
  quota: new URL("./builtin/quota.ts", import.meta.url),
  "simultaneous-use": new URL("./builtin/simultaneous-use.ts", import.meta.url),
  "http-forward": new URL("./builtin/http-forward.ts", import.meta.url),
  "detail-file": new URL("./builtin/detail-file.ts", import.meta.url),
  "seed-demo": new URL("./builtin/seed-demo.ts", import.meta.url),
};

const HOOKS = ["authenticate", "authorize", "accounting", "sessionClosed", "userStatus", "close"] as const;
type Hook = (typeof HOOKS)[number];

export class PluginLoadError extends Error {
  override name = "PluginLoadError";
}

export interface HookStats {
  calls: number;
  errors: number;
  timeouts: number;
}

export interface LoadedPlugin {
  name: string;
  version: string | null;
  module: string;
  hooks: Hook[];
  timeoutMs: number;
  stats: Record<Hook, HookStats>;
}

interface Entry {
  info: LoadedPlugin;
  plugin: Plugin;
  context: PluginContext;
}

type CallResult<T> = { ok: true; value: T } | { ok: false; why: "threw" | "timeout"; message: string };

export interface CombinedAccounting {
  status: AccountingDecision["status"];
  interimInterval?: number;
  reason?: string;
}

export interface CombinedAuthentication {
  /** "next" when every plugin passed: the built-in users decide, with `reply` added. */
  status: "accept" | "reject" | "next";
  reply: ReplyAttributes;
  interimInterval?: number;
  reason?: string;
}

/** Each load gets a fresh module URL so a reload sees a changed plugin file. */
let loadGeneration = 0;

export class PluginHost {
  /** The tail of each session's chain of accounting calls, so they run in arrival order. */
  private readonly chains = new Map<string, Promise<unknown>>();

  private constructor(
    private readonly entries: Entry[],
    private readonly logger: Logger,
    private readonly metrics: PluginMetrics | null,
  ) {}

  static empty(logger: Logger): PluginHost {
    return new PluginHost([], logger, null);
  }

  /** Loads every plugin or none: the first failure throws naming the plugin and why. */
  static async load(configs: readonly PluginConfig[], store: PluginStoreView, logger: Logger, metrics: PluginMetrics | null = null): Promise<PluginHost> {
    const generation = ++loadGeneration;
    const entries: Entry[] = [];
    try {
      for (const [i, config] of configs.entries()) entries.push(await loadOne(config, i, generation, store, logger));
    } catch (e) {
      await Promise.allSettled(entries.map((e) => e.plugin.close?.()));
      throw e;
    }
    const names = new Set<string>();
    for (const e of entries) {
      if (names.has(e.info.name)) {
        throw new PluginLoadError(`two plugins are named "${e.info.name}"; names must be unique (give one a "name:" in tally.yaml)`);
      }
      names.add(e.info.name);
    }
    return new PluginHost(entries, logger, metrics);
  }

  list(): LoadedPlugin[] {
    return this.entries.map((e) => e.info);
  }

  get size(): number {
    return this.entries.length;
  }

  /** True when some plugin has an accounting hook (otherwise every record is simply ok). */
  get hasAccounting(): boolean {
    return this.entries.some((e) => e.plugin.accounting !== undefined);
  }

  private async call<T>(entry: Entry, hook: Hook, run: () => T | Promise<T>): Promise<CallResult<T>> {
    const stats = entry.info.stats[hook];
    stats.calls++;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<CallResult<T>>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, why: "timeout", message: `no answer within ${entry.info.timeoutMs} ms` }), entry.info.timeoutMs);
    });
    const attempt = (async (): Promise<CallResult<T>> => {
      try {
        return { ok: true, value: await run() };
      } catch (e) {
        return { ok: false, why: "threw", message: e instanceof Error ? e.message : String(e) };
      }
    })();
    const result = await Promise.race([attempt, timeout]);
    clearTimeout(timer);
    this.metrics?.pluginCall(entry.info.name, hook, result.ok ? "ok" : result.why === "timeout" ? "timeout" : "error");
    if (!result.ok) {
      if (result.why === "timeout") stats.timeouts++;
      else stats.errors++;
      this.logger.error({ plugin: entry.info.name, hook, why: result.why, error: result.message }, `plugin ${entry.info.name}.${hook} failed`);
    }
    return result;
  }

  /** Plugins in order until one accepts or rejects; a failing plugin rejects (fail closed). */
  async authenticate(request: AuthenticateRequest): Promise<CombinedAuthentication> {
    const reply: ReplyAttributes = {};
    let interimInterval: number | undefined;
    const smaller = (v: number | undefined) => {
      if (v !== undefined && (interimInterval === undefined || v < interimInterval)) interimInterval = v;
    };
    for (const entry of this.entries) {
      const hook = entry.plugin.authenticate;
      if (!hook) continue;
      const r = await this.call<AuthenticateDecision>(entry, "authenticate", () => hook.call(entry.plugin, request, entry.context));
      if (!r.ok) return { status: "reject", reply: {}, reason: `plugin ${entry.info.name} failed: ${r.message}` };
      const d = r.value;
      if (d.status === "reject") return { status: "reject", reply: {}, reason: `${entry.info.name}: ${d.reason ?? "rejected"}` };
      Object.assign(reply, d.reply ?? {});
      smaller(d.interimInterval);
      if (d.status === "accept") return { status: "accept", reply, interimInterval, reason: `${entry.info.name}: ${d.reason ?? "accepted"}` };
    }
    return { status: "next", reply, interimInterval };
  }

  /** Plugins in order until one permits or denies; a failing plugin denies. */
  async authorize(request: AuthorizeRequest): Promise<AuthorizeDecision & { plugin?: string }> {
    for (const entry of this.entries) {
      const hook = entry.plugin.authorize;
      if (!hook) continue;
      const r = await this.call<AuthorizeDecision>(entry, "authorize", () => hook.call(entry.plugin, request, entry.context));
      if (!r.ok) return { status: "deny", reason: `plugin ${entry.info.name} failed: ${r.message}`, plugin: entry.info.name };
      if (r.value.status !== "next") return { ...r.value, plugin: entry.info.name };
    }
    return { status: "next" };
  }

  /**
   * Every plugin with an accounting hook sees the record, in order. Combined: error wins over
   * disconnect wins over ok; the smallest interimInterval wins. `orderKey` serialises the
   * records of one session. `spooled`: the record is in the spool journal, not yet the store.
   */
  accounting(record: AccountingRecord, session: Session | null, redelivery: boolean, orderKey: string, spooled = false): Promise<CombinedAccounting> {
    if (!this.hasAccounting) return Promise.resolve({ status: "ok" });
    const previous = this.chains.get(orderKey) ?? Promise.resolve();
    const run = previous.then(() => this.runAccounting(record, session, redelivery, spooled));
    const tail = run.catch(() => {});
    this.chains.set(orderKey, tail);
    void tail.then(() => {
      if (this.chains.get(orderKey) === tail) this.chains.delete(orderKey);
    });
    return run;
  }

  private async runAccounting(record: AccountingRecord, session: Session | null, redelivery: boolean, spooled: boolean): Promise<CombinedAccounting> {
    const frozenRecord = Object.freeze({ ...record, attributes: Object.freeze(record.attributes.map((a) => Object.freeze({ ...a }))) });
    const frozenSession = session === null ? null : Object.freeze({ ...session });
    let status: CombinedAccounting["status"] = "ok";
    let interimInterval: number | undefined;
    const reasons: string[] = [];
    for (const entry of this.entries) {
      const hook = entry.plugin.accounting;
      if (!hook) continue;
      const context = { ...entry.context, redelivery, session: frozenSession, spooled };
      const r = await this.call<AccountingDecision>(entry, "accounting", () => hook.call(entry.plugin, frozenRecord, context));
      let d: AccountingDecision = r.ok ? r.value : { status: "error", reason: `${r.why}: ${r.message}` };
      if (d.status === "disconnect" && record.kind !== "interim") {
        // A disconnect only means something while the session runs (the seed's rule).
        this.logger.warn({ plugin: entry.info.name, kind: record.kind, sessionId: record.sessionId }, "disconnect ignored: only meaningful on an interim update");
        d = { ...d, status: "ok" };
      }
      if (d.status === "error" || (d.status === "disconnect" && status === "ok")) status = d.status;
      if (d.status !== "ok" && d.reason) reasons.push(`${entry.info.name}: ${d.reason}`);
      if (d.interimInterval !== undefined && Number.isFinite(d.interimInterval) && d.interimInterval >= 0) {
        const v = Math.round(d.interimInterval);
        if (interimInterval === undefined || v < interimInterval) interimInterval = v;
      }
    }
    return { status, interimInterval, reason: reasons.length > 0 ? reasons.join("; ") : undefined };
  }

  async sessionClosed(session: Session): Promise<void> {
    const frozen = Object.freeze({ ...session });
    for (const entry of this.entries) {
      const hook = entry.plugin.sessionClosed;
      if (hook) await this.call(entry, "sessionClosed", () => hook.call(entry.plugin, frozen, entry.context));
    }
  }

  /** What each plugin with a userStatus hook says about `user`, by plugin name (failures and nulls left out). */
  async userStatus(user: string): Promise<Record<string, Record<string, unknown>>> {
    const out: Record<string, Record<string, unknown>> = {};
    for (const entry of this.entries) {
      const hook = entry.plugin.userStatus;
      if (!hook) continue;
      const r = await this.call(entry, "userStatus", () => hook.call(entry.plugin, user, entry.context));
      if (r.ok && r.value !== null && typeof r.value === "object") out[entry.info.name] = r.value;
    }
    return out;
  }

  /** Waits for queued accounting calls, then closes every plugin. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.chains.values()]);
    for (const entry of this.entries) {
      const hook = entry.plugin.close;
      if (hook) await this.call(entry, "close", () => hook.call(entry.plugin));
    }
  }
}

async function loadOne(config: PluginConfig, index: number, generation: number, store: PluginStoreView, logger: Logger): Promise<Entry> {
  const where = `plugins[${index}] (${config.module})`;
  let url: string;
  if ("builtin" in config.resolved) {
    const builtin = BUILTIN_PLUGINS[config.resolved.builtin];
    if (!builtin) {
      throw new PluginLoadError(`${where}: no built-in plugin of that name (built-ins: ${Object.keys(BUILTIN_PLUGINS).join(", ")}; a file path must start with ./ or /)`);
    }
    url = builtin.href;
  } else {
    url = `${pathToFileURL(config.resolved.path).href}?load=${generation}`;
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (e) {
    throw new PluginLoadError(`${where}: cannot load the module: ${(e as Error).message.split("\n")[0]}`);
  }
  if (typeof mod.default !== "function") throw new PluginLoadError(`${where}: the module's default export must be a plugin factory function`);
  const factory = mod.default as PluginFactory;
  const log = logger.child({ plugin: config.module });
  let plugin: Plugin;
  try {
    plugin = await factory({ options: Object.freeze({ ...config.options }), log, store, baseDir: config.baseDir });
  } catch (e) {
    throw new PluginLoadError(`${where}: ${(e as Error).message}`);
  }
  if (plugin === null || typeof plugin !== "object" || typeof plugin.name !== "string" || plugin.name === "") {
    throw new PluginLoadError(`${where}: the factory must return an object with a non-empty "name"`);
  }
  const hooks = HOOKS.filter((h) => typeof plugin[h] === "function");
  const name = config.name ?? plugin.name;
  const stats = Object.fromEntries(HOOKS.map((h) => [h, { calls: 0, errors: 0, timeouts: 0 }])) as Record<Hook, HookStats>;
  return {
    info: { name, version: plugin.version ?? null, module: config.module, hooks, timeoutMs: config.timeoutMs, stats },
    plugin,
    context: { log: logger.child({ plugin: name }), store, options: Object.freeze({ ...config.options }) },
  };
}
