// `tally prune`: removes the records received before a date, and the closed or stale sessions
// left without records. Open sessions are never removed. Refuses a date in the future or one
// it cannot read exactly: a lenient parse of a destructive command's date would be a trap.

import type { Command } from "commander";
import { action, printJson, UsageError, withStore, type GlobalOptions } from "./common.ts";

const FORMAT = /^(\d{4})-(\d{2})-(\d{2})(?:T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,3})?)?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d))?$/;

/** YYYY-MM-DD (midnight UTC) or an ISO 8601 time with Z or an offset; a real calendar day. */
export function parseBefore(text: string): number {
  const expected = `--before: expected a date like 2026-11-01 (midnight UTC) or a time like 2026-11-01T12:00:00Z, got "${text}"`;
  const m = FORMAT.exec(text);
  if (m === null) throw new UsageError(expected);
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (calendar.getUTCFullYear() !== year || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) {
    throw new UsageError(`--before: ${m[1]}-${m[2]}-${m[3]} is not a day of the calendar`);
  }
  const ms = Date.parse(m[4] === undefined ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(ms)) throw new UsageError(expected);
  return ms;
}

export function register(program: Command): void {
  program
    .command("prune")
    .description("remove records received before a date, and closed or stale sessions left without records")
    .requiredOption("--before <date>", "YYYY-MM-DD (midnight UTC) or an ISO 8601 time with a zone; must be in the past")
    .option("--json", "print JSON")
    .action(
      action(async (o: { before: string; json?: boolean }) => {
        const before = parseBefore(o.before);
        const iso = new Date(before).toISOString();
        if (before > Date.now()) throw new UsageError(`--before: ${iso} is in the future; prune removes only what is older than a past date`);
        await withStore(program.opts<GlobalOptions>(), async (store) => {
          const removed = await store.prune(before);
          if (o.json) return printJson({ before: iso, ...removed });
          process.stdout.write(
            `removed ${removed.records} record${removed.records === 1 ? "" : "s"} received before ${iso}, and ${removed.sessions} closed or stale session${removed.sessions === 1 ? "" : "s"} left without records\n`,
          );
        });
      }),
    );
}
