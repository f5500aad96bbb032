// `tally sessions`: list sessions from the store, newest first.

import type { Command } from "commander";
import type { SessionStatus } from "../model/session.ts";
import { sessionToJson } from "../model/session.ts";
import { action, formatBytes, formatDuration, formatTime, parsePositiveInt, printJson, printTable, UsageError, withStore, type GlobalOptions } from "./common.ts";

const statuses: SessionStatus[] = ["open", "closed", "stale"];

export function register(program: Command): void {
  program
    .command("sessions")
    .description("list sessions, newest first")
    .option("--open", "only open sessions (same as --status open)")
    .option("--status <status>", "open, closed or stale")
    .option("--user <name>", "only this user's sessions")
    .option("--nas <nas>", "only sessions of this NAS (NAS-Identifier or address)")
    .option("--limit <n>", "at most this many", "1000")
    .option("--json", "print JSON")
    .action(
      action(async (o: { open?: boolean; status?: string; user?: string; nas?: string; limit: string; json?: boolean }) => {
        const status = o.open ? "open" : o.status;
        if (status !== undefined && !statuses.includes(status as SessionStatus)) {
          throw new UsageError(`--status: expected one of ${statuses.join(", ")}, got "${status}"`);
        }
        const limit = parsePositiveInt("--limit", o.limit);
        await withStore(program.opts<GlobalOptions>(), async (store) => {
          const sessions = await store.listSessions({ status: status as SessionStatus | undefined, user: o.user, nas: o.nas, limit });
          if (o.json) return printJson(sessions.map(sessionToJson));
          printTable(
            ["ID", "USER", "NAS", "SESSION-ID", "STATUS", "STARTED", "TIME", "IN", "OUT", "CAUSE"],
            sessions.map((s) => [
              s.id,
              s.user,
              s.nas,
              s.sessionId,
              s.status,
              formatTime(s.startedAt),
              formatDuration(s.sessionTime),
              formatBytes(s.inputOctets),
              formatBytes(s.outputOctets),
              s.terminateCause,
            ]),
          );
          // What a transport knows that no record says (e.g. OpenVPN gives no byte counts).
          for (const s of sessions) if (s.note !== null) process.stdout.write(`session ${s.id}: ${s.note}\n`);
        });
      }),
    );
}
