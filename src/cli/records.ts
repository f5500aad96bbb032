// `tally records`: the accounting records of one session, in the order they were stored.

import type { Command } from "commander";
import { recordToJson } from "../model/record.ts";
import { action, formatTime, parsePositiveInt, printJson, printTable, UsageError, withStore, type GlobalOptions } from "./common.ts";

export function register(program: Command): void {
  program
    .command("records")
    .description("the accounting records of one session")
    .requiredOption("--session <id>", "Tally's session id (the ID column of `tally sessions`)")
    .option("--json", "print JSON")
    .action(
      action(async (o: { session: string; json?: boolean }) => {
        const id = parsePositiveInt("--session", o.session);
        await withStore(program.opts<GlobalOptions>(), async (store) => {
          if ((await store.getSession(id)) === null) throw new UsageError(`--session: no session with id ${id}`);
          const records = await store.listRecords(id);
          if (o.json) {
            return printJson(records.map(recordToJson));
          }
          printTable(
            ["ID", "KIND", "EVENT-TIME", "TIME", "IN", "OUT", "CAUSE"],
            records.map((r) => [r.id, r.kind, formatTime(r.eventTime), r.sessionTime, r.inputOctets, r.outputOctets, r.terminateCause]),
          );
        });
      }),
    );
}
