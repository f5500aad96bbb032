// `tally migrate`: brings the store's schema up to date and says what it did. `tally serve`
// does the same when it starts; this is for doing it first, on purpose (before starting several
// nodes of a new version, say), and for seeing which version a database is at.

import type { Command } from "commander";
import { describeStore, openStore } from "../store/index.ts";
import { POSTGRES_MIGRATIONS } from "../store/postgres-migrations.ts";
import { MIGRATIONS } from "../store/migrations.ts";
import { action, printJson, readConfig, type GlobalOptions } from "./common.ts";

export function register(program: Command): void {
  program
    .command("migrate")
    .description("apply the store's pending schema migrations (tally serve also does at start)")
    .option("--json", "print JSON")
    .action(
      action(async (o: { json?: boolean }) => {
        const config = readConfig(program.opts<GlobalOptions>());
        const store = await openStore(config.store);
        try {
          const applied = "migrationsApplied" in store ? (store.migrationsApplied as readonly number[]) : [];
          const list = "sqlite" in config.store ? MIGRATIONS : POSTGRES_MIGRATIONS;
          const version = list[list.length - 1]!.version;
          const where = describeStore(config.store);
          if (o.json) printJson({ store: where, version, applied });
          else if (applied.length === 0) process.stdout.write(`${where}: schema up to date (version ${version})\n`);
          else process.stdout.write(`${where}: applied ${applied.map((v) => `${v} (${list.find((m) => m.version === v)!.name})`).join(", ")}; now at version ${version}\n`);
        } finally {
          await store.close();
        }
      }),
    );
}
