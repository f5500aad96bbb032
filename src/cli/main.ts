// The `tally` command line: one file per command, registered here.

import { Command } from "commander";
import { register as registerAudit } from "./audit.ts";
import { register as registerBench } from "./bench.ts";
import { register as registerConfig } from "./config.ts";
import { register as registerDisconnect } from "./disconnect.ts";
import { register as registerExport } from "./export.ts";
import { register as registerImport } from "./import.ts";
import { register as registerMigrate } from "./migrate.ts";
import { register as registerOpenVpn } from "./openvpn.ts";
import { register as registerPlugins } from "./plugins.ts";
import { register as registerPrune } from "./prune.ts";
import { register as registerRadius } from "./radius.ts";
import { register as registerReap } from "./reap.ts";
import { register as registerRecords } from "./records.ts";
import { register as registerServe } from "./serve.ts";
import { register as registerSessions } from "./sessions.ts";
import { register as registerTokens } from "./tokens.ts";
import { register as registerUsage } from "./usage.ts";
import { register as registerUsers } from "./users.ts";

const program = new Command("tally")
  .description("Tally: RADIUS and TACACS+ AAA server with durable accounting")
  .option("-c, --config <path>", "configuration file (default: $TALLY_CONFIG or ./tally.yaml)")
  .showHelpAfterError();

for (const register of [registerServe, registerSessions, registerUsage, registerRecords, registerUsers, registerDisconnect, registerReap, registerPrune, registerAudit, registerImport, registerExport, registerOpenVpn, registerPlugins, registerRadius, registerBench, registerConfig, registerMigrate, registerTokens]) {
  register(program);
}

await program.parseAsync(process.argv);
