// `tally reap`: one run of the reaper that `tally serve` runs every accounting.reapInterval
// seconds: closes as stale the open sessions whose updates stopped (last update + interval x 2
// + grace has passed), tells the config's plugins as the server would, and prints them.
// `--dry-run` prints what it would close and changes nothing.

import type { Command } from "commander";
import { createLogger } from "../log.ts";
import { isOverdue, sessionToJson, type Session } from "../model/session.ts";
import { PluginHost } from "../plugins/host.ts";
import { storeView } from "../plugins/store-view.ts";
import { action, formatDuration, formatTime, parsePositiveInt, printJson, printTable, withStore, type GlobalOptions } from "./common.ts";

export function register(program: Command): void {
  program
    .command("reap")
    .description("close as stale the open sessions whose updates stopped (one run of the reaper)")
    .option("--dry-run", "only list the sessions it would close; change nothing")
    .option("--grace <seconds>", "seconds beyond two interim intervals (default: accounting.staleGrace)")
    .option("--json", "print JSON (the sessions, as `tally sessions --json`)")
    .action(
      action(async (o: { dryRun?: boolean; grace?: string; json?: boolean }) => {
        const grace = o.grace === undefined ? undefined : parsePositiveInt("--grace", o.grace);
        await withStore(program.opts<GlobalOptions>(), async (store, config) => {
          const graceMs = (grace ?? config.accounting.staleGrace) * 1000;
          const now = Date.now();
          let sessions: Session[];
          if (o.dryRun) {
            const open = await store.listSessions({ status: "open", limit: Number.MAX_SAFE_INTEGER });
            sessions = open.filter((s) => isOverdue(s, now, graceMs)).sort((a, b) => a.id - b.id);
          } else {
            // Loaded before anything changes: if a plugin cannot load, nothing is reaped unannounced.
            const plugins = await PluginHost.load(config.plugins, storeView(store), createLogger("warn"));
            try {
              sessions = await store.reapOverdue(now, graceMs);
              for (const s of sessions) await plugins.sessionClosed(s);
            } finally {
              await plugins.close();
            }
          }
          if (o.json) return printJson(sessions.map(sessionToJson));
          if (sessions.length > 0) {
            printTable(
              ["ID", "USER", "NAS", "SESSION-ID", "LAST-UPDATE", "INTERVAL", "SILENT"],
              sessions.map((s) => [
                s.id,
                s.user,
                s.nas,
                s.sessionId,
                formatTime(s.updatedAt),
                `${s.interimInterval}s`,
                formatDuration(Math.round((now - s.updatedAt) / 1000)),
              ]),
            );
          }
          const n = `${sessions.length} session${sessions.length === 1 ? "" : "s"}`;
          const rule = `no update for interval x 2 + ${graceMs / 1000} s`;
          process.stdout.write(o.dryRun ? `would close ${n} as stale (${rule}); dry run, nothing changed\n` : `closed ${n} as stale (${rule})\n`);
        });
      }),
    );
}
