// What CLI commands share: loading the config and store, printing tables and sizes, and
// turning errors into one clear line and an exit code.

import type { Logger } from "pino";
import { ConfigError, configPath, loadConfig, type Config } from "../config/load.ts";
import { PluginLoadError } from "../plugins/host.ts";
import { openStore } from "../store/index.ts";
import type { Store } from "../store/store.ts";

export interface GlobalOptions {
  config?: string;
}

export class UsageError extends Error {}

export function readConfig(opts: GlobalOptions): Config {
  return loadConfig(configPath(opts.config));
}

export async function withStore<T>(opts: GlobalOptions, fn: (store: Store, config: Config) => Promise<T>): Promise<T> {
  const config = readConfig(opts);
  const store = await openStore(config.store);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printTable(headers: string[], rows: (string | number | null)[][]): void {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null ? "-" : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  for (const r of cells) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()}\n`);
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(s).padStart(2, "0")}s` : `${s}s`;
}

export function formatTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** "2026-11-01" or any ISO 8601 time -> ms; a clear error otherwise. */
export function parseDate(flag: string, text: string): number {
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(ms)) throw new UsageError(`${flag}: expected a date like 2026-11-01 or 2026-11-01T12:00:00Z, got "${text}"`);
  return ms;
}

export function parsePositiveInt(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag}: expected a positive whole number, got "${text}"`);
  return Number(text);
}

/** Runs a command action, printing errors as one readable message and setting the exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      if (e instanceof ConfigError || e instanceof UsageError || e instanceof PluginLoadError) {
        process.stderr.write(`tally: ${e.message}\n`);
        process.exitCode = 2;
      } else {
        process.stderr.write(`tally: ${(e as Error).stack ?? String(e)}\n`);
        process.exitCode = 1;
      }
    }
  };
}

/** For the long-running commands: resolves on the first SIGINT or SIGTERM, logging which. */
export function untilStopSignal(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      logger.info({ signal }, "stopping");
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
