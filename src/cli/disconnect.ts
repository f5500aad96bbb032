// `tally disconnect`: cut a session (or every open session of a user) off on its NAS, with the
// client's configured action (RFC 5176 Disconnect-Request by default), and print the outcome.

import type { Command } from "commander";
import { createLogger } from "../log.ts";
import { Disconnector } from "../disconnect/disconnector.ts";
import type { Session } from "../model/session.ts";
import { loadDictionary } from "../server/app.ts";
import { action, parsePositiveInt, printJson, printTable, UsageError, withStore, type GlobalOptions } from "./common.ts";

export function register(program: Command): void {
  program
    .command("disconnect [sessionId]")
    .description("cut a session (Tally's session id) or every open session of --user off on its NAS")
    .option("--user <name>", "every open session of this user")
    .option("--reason <text>", "recorded on the session")
    .option("--json", "print JSON")
    .action(
      action(async (sessionId: string | undefined, o: { user?: string; reason?: string; json?: boolean }) => {
        if ((sessionId === undefined) === (o.user === undefined)) throw new UsageError("give a session id or --user, not both");
        await withStore(program.opts<GlobalOptions>(), async (store, config) => {
          let sessions: Session[];
          if (sessionId !== undefined) {
            const s = await store.getSession(parsePositiveInt("session id", sessionId));
            if (s === null) throw new UsageError(`no session with id ${sessionId}`);
            if (s.status !== "open") throw new UsageError(`session ${sessionId} is ${s.status}, not open`);
            sessions = [s];
          } else {
            sessions = await store.listSessions({ user: o.user, status: "open" });
            if (sessions.length === 0) throw new UsageError(`user ${o.user} has no open session`);
          }
          const disconnector = new Disconnector(config.clients, store, loadDictionary(config), createLogger("warn"));
          const results = [];
          for (const s of sessions) {
            const outcome = await disconnector.disconnect(s, o.reason ?? "tally disconnect");
            results.push({ id: s.id, user: s.user, nas: s.nas, sessionId: s.sessionId, ...outcome });
          }
          if (o.json) printJson(results);
          else printTable(["ID", "USER", "NAS", "SESSION-ID", "OUTCOME", "DETAIL"], results.map((r) => [r.id, r.user, r.nas, r.sessionId, r.state, r.detail]));
          if (results.some((r) => r.state !== "acknowledged")) process.exitCode = 1;
        });
      }),
    );
}
