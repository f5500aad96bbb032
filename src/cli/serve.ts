// `tally serve`: run the servers until SIGINT/SIGTERM. Writes an example config first when
// none exists, so a fresh install starts with one command.

import type { Command } from "commander";
import { configPath, loadConfig, writeExampleConfigIfMissing } from "../config/load.ts";
import { createLogger } from "../log.ts";
import { startTally } from "../server/app.ts";
import { describeStore } from "../store/index.ts";
import { action, untilStopSignal, type GlobalOptions } from "./common.ts";

export function register(program: Command): void {
  program
    .command("serve")
    .description("run the RADIUS and TACACS+ servers (writes an example tally.yaml first if none exists)")
    .action(
      action(async () => {
        const opts = program.opts<GlobalOptions>();
        const path = configPath(opts.config);
        if (writeExampleConfigIfMissing(path)) process.stderr.write(`tally: wrote an example configuration to ${path}\n`);
        const config = loadConfig(path);
        const logger = createLogger(config.log.level);
        const tally = await startTally(config, logger);
        logger.info({ config: path, store: describeStore(config.store) }, "Tally is running");
        // SIGHUP: reload clients, users, groups, dictionaries and plugins; on any error keep
        // the running set and say why.
        const onHangup = () => {
          tally.reload().catch((err: unknown) => logger.error({ error: (err as Error).message }, "reload failed; keeping the running configuration"));
        };
        process.on("SIGHUP", onHangup);
        await untilStopSignal(logger);
        process.off("SIGHUP", onHangup);
        await tally.stop();
        logger.info({ radius: tally.radius.counters, tacacs: tally.tacacs?.counters, accounting: tally.accounting.stats }, "stopped");
      }),
    );
}
