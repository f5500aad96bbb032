// `tally config check`: validate tally.yaml (including dictionaries and reply attributes)
// without starting anything.

import type { Command } from "commander";
import { checkReplies, loadDictionary } from "../server/app.ts";
import { action, readConfig, type GlobalOptions } from "./common.ts";

export function register(program: Command): void {
  program
    .command("config")
    .description("configuration tools")
    .command("check")
    .description("validate the configuration file and exit")
    .action(
      action(() => {
        const config = readConfig(program.opts<GlobalOptions>());
        checkReplies(config, loadDictionary(config));
        process.stdout.write(`${config.file}: ok (${config.clients.length} clients, ${config.users.length} users)\n`);
      }),
    );
}
