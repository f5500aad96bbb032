// `tally audit`: the command audit trail (TACACS+ command accounting): who ran what, where
// and when, newest first.

import type { Command } from "commander";
import { action, formatTime, parseDate, parsePositiveInt, printJson, printTable, withStore, type GlobalOptions } from "./common.ts";

export function register(program: Command): void {
  program
    .command("audit")
    .description("commands users ran on devices (TACACS+ command accounting), newest first")
    .option("--user <name>", "only this user's commands")
    .option("--nas <nas>", "only commands on this device")
    .option("--since <date>", "from this date (YYYY-MM-DD or ISO 8601)")
    .option("--limit <n>", "at most this many", "1000")
    .option("--json", "print JSON")
    .action(
      action(async (o: { user?: string; nas?: string; since?: string; limit: string; json?: boolean }) => {
        const since = o.since === undefined ? undefined : parseDate("--since", o.since);
        const limit = parsePositiveInt("--limit", o.limit);
        await withStore(program.opts<GlobalOptions>(), async (store) => {
          const records = await store.listCommands({ user: o.user, nas: o.nas, since, limit });
          const privLvl = (r: (typeof records)[number]) => r.attributes.find((a) => a.name === "priv-lvl")?.value ?? null;
          if (o.json) {
            return printJson(
              records.map((r) => ({
                id: r.id,
                time: new Date(r.eventTime).toISOString(),
                protocol: r.protocol,
                client: r.client,
                nas: r.nas,
                user: r.user,
                port: r.nasPort,
                remoteAddress: r.clientAddress,
                command: r.command,
                privLvl: privLvl(r),
                kind: r.kind,
                attributes: r.attributes,
              })),
            );
          }
          printTable(
            ["TIME", "USER", "NAS", "PORT", "FROM", "PRIV", "COMMAND"],
            records.map((r) => [formatTime(r.eventTime), r.user, r.nas, r.nasPort, r.clientAddress, privLvl(r), r.command]),
          );
        });
      }),
    );
}
