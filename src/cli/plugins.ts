// `tally plugins list` and `tally plugin test`: see which plugins a config loads, and run one
// hook of one plugin on a record from a file (for plugin authors).

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import type { PluginConfig } from "../config/load.ts";
import { createLogger } from "../log.ts";
import type { AccountingRecord } from "../model/record.ts";
import type { AuthenticateRequest } from "../plugins/api.ts";
import { PluginHost } from "../plugins/host.ts";
import { storeView } from "../plugins/store-view.ts";
import { SqliteStore } from "../store/sqlite.ts";
import type { Store } from "../store/store.ts";
import { action, printJson, printTable, UsageError, withStore, type GlobalOptions } from "./common.ts";

function readJson(flag: string, path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`${flag}: cannot read JSON from ${path}: ${(e as Error).message}`);
  }
}

const time = (v: unknown, fallback: number) => (typeof v === "number" ? v : typeof v === "string" ? Date.parse(v) : fallback);

/** A record from a file: any AccountingRecord fields, the rest defaulted; times as ms or ISO. */
export function recordFromJson(j: Record<string, unknown>): AccountingRecord {
  const now = Date.now();
  const n = (k: string) => (typeof j[k] === "number" ? (j[k] as number) : null);
  const s = (k: string) => (typeof j[k] === "string" ? (j[k] as string) : null);
  return {
    protocol: (s("protocol") as AccountingRecord["protocol"]) ?? "radius",
    kind: (s("kind") as AccountingRecord["kind"]) ?? "interim",
    receivedAt: time(j.receivedAt, now),
    eventTime: time(j.eventTime, now),
    client: s("client") ?? "test",
    nas: s("nas") ?? "test-nas",
    user: s("user"),
    sessionId: s("sessionId"),
    inputOctets: n("inputOctets"),
    outputOctets: n("outputOctets"),
    inputPackets: n("inputPackets"),
    outputPackets: n("outputPackets"),
    sessionTime: n("sessionTime"),
    terminateCause: s("terminateCause"),
    framedAddress: s("framedAddress"),
    clientAddress: s("clientAddress"),
    nasPort: s("nasPort"),
    command: s("command"),
    attributes: Array.isArray(j.attributes) ? (j.attributes as AccountingRecord["attributes"]) : [],
    dedupKey: s("dedupKey") ?? `plugin-test-${now}`,
  };
}

export function register(program: Command): void {
  program
    .command("plugins")
    .description("plugin tools")
    .command("list")
    .description("load the config's plugins (as `serve` would) and list them")
    .option("--json", "print JSON")
    .action(
      action(async (o: { json?: boolean }) => {
        await withStore(program.opts<GlobalOptions>(), async (store, config) => {
          const host = await PluginHost.load(config.plugins, storeView(store), createLogger("warn"));
          try {
            const list = host.list();
            if (o.json) return printJson(list.map(({ stats: _stats, ...rest }) => rest));
            printTable(
              ["NAME", "VERSION", "MODULE", "HOOKS", "TIMEOUT"],
              list.map((p) => [p.name, p.version, p.module, p.hooks.join(","), `${p.timeoutMs / 1000}s`]),
            );
          } finally {
            await host.close();
          }
        });
      }),
    );

  program
    .command("plugin")
    .description("plugin author tools")
    .command("test <module>")
    .description("run one hook of a plugin (built-in name or path) on a record or request from a JSON file, against a throw-away store")
    .option("--record <file>", "accounting: an AccountingRecord as JSON (missing fields get defaults)")
    .option("--request <file>", "authenticate: { user, password, method? } as JSON")
    .option("--options <json>", "the plugin's options, as JSON", "{}")
    .option("--redelivery", "accounting: call as a redelivery")
    .action(
      action(async (module: string, o: { record?: string; request?: string; options: string; redelivery?: boolean }) => {
        if ((o.record === undefined) === (o.request === undefined)) throw new UsageError("give exactly one of --record or --request");
        let options: Record<string, unknown>;
        try {
          options = JSON.parse(o.options) as Record<string, unknown>;
        } catch (e) {
          throw new UsageError(`--options: expected JSON: ${(e as Error).message}`);
        }
        const isPath = module.startsWith(".") || module.startsWith("/");
        const plugin: PluginConfig = {
          module,
          resolved: isPath ? { path: resolve(module) } : { builtin: module },
          options,
          timeoutMs: 10_000,
          baseDir: process.cwd(),
        };
        // A throw-away store: the record is folded into it first, as the server does before
        // plugins see a record, so usage and context.session include it. Nothing touches the
        // real store.
        const store: Store = SqliteStore.open(":memory:");
        const logger = createLogger("info");
        try {
          const host = await PluginHost.load([plugin], storeView(store), logger);
          try {
            if (o.record !== undefined) {
              const record = recordFromJson(readJson("--record", o.record));
              const [stored] = await store.appendRecords([record], null);
              const session = stored?.sessionPk ? await store.getSession(stored.sessionPk) : null;
              printJson(await host.accounting(record, session, o.redelivery ?? false, "test"));
            } else {
              const j = readJson("--request", o.request!);
              const password = typeof j.password === "string" ? j.password : null;
              const request: AuthenticateRequest = {
                protocol: "radius",
                user: String(j.user ?? ""),
                method: (j.method as AuthenticateRequest["method"]) ?? "pap",
                password,
                verifyPassword: (candidate) => candidate === password,
                client: "test",
                nas: null,
                clientAddress: null,
                attributes: [],
              };
              printJson(await host.authenticate(request));
            }
          } finally {
            await host.close();
          }
        } finally {
          await store.close();
        }
      }),
    );
}
