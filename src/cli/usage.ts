// `tally usage`: a user's totals and per-day usage.

import type { Command } from "commander";
import { action, formatBytes, formatDuration, parseDate, printJson, printTable, withStore, type GlobalOptions } from "./common.ts";

export function register(program: Command): void {
  program
    .command("usage")
    .description("a user's usage: totals and per day (UTC)")
    .requiredOption("--user <name>", "the user")
    .option("--since <date>", "from this date (YYYY-MM-DD or ISO 8601)")
    .option("--json", "print JSON")
    .action(
      action(async (o: { user: string; since?: string; json?: boolean }) => {
        const since = o.since === undefined ? null : parseDate("--since", o.since);
        await withStore(program.opts<GlobalOptions>(), async (store) => {
          const usage = await store.usage(o.user, since);
          if (o.json) return printJson({ ...usage, since: since === null ? null : new Date(since).toISOString() });
          process.stdout.write(
            `${usage.user}: ${usage.sessions} sessions, in ${formatBytes(usage.inputOctets)}, out ${formatBytes(usage.outputOctets)}, time ${formatDuration(usage.sessionTime)}\n`,
          );
          printTable(
            ["DAY", "SESSIONS", "IN", "OUT", "TIME"],
            usage.days.map((d) => [d.day, d.sessions, formatBytes(d.inputOctets), formatBytes(d.outputOctets), formatDuration(d.sessionTime)]),
          );
        });
      }),
    );
}
