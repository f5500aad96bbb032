// `tally openvpn`: the OpenVPN connector on its own, as a RADIUS NAS in front of a stock
// OpenVPN server, for running beside a remote Tally or another RADIUS server. Each
// `openvpn:` entry with a `radius:` section is run (or only the one --name picks).

import type { Command } from "commander";
import { createLogger } from "../log.ts";
import { OpenVpnConnector } from "../openvpn/connector.ts";
import { DynamicAuthorizationServer, RadiusBackend } from "../openvpn/radius-backend.ts";
import { loadDictionary } from "../server/app.ts";
import { action, untilStopSignal, readConfig, UsageError, type GlobalOptions } from "./common.ts";

export function register(program: Command): void {
  program
    .command("openvpn")
    .description("run the OpenVPN connector alone, against a RADIUS server (each openvpn entry with a radius: section)")
    .option("--name <name>", "only this openvpn entry")
    .action(
      action(async (o: { name?: string }) => {
        const config = readConfig(program.opts<GlobalOptions>());
        const entries = config.openvpn.filter((e) => (o.name === undefined || e.name === o.name) && e.radius);
        if (entries.length === 0) {
          throw new UsageError(
            o.name === undefined
              ? `${config.file}: no openvpn entry has a radius: section (where tally openvpn authenticates and accounts)`
              : `${config.file}: no openvpn entry named ${o.name} with a radius: section`,
          );
        }
        const logger = createLogger(config.log.level);
        const dictionary = loadDictionary(config);
        const running: { connector: OpenVpnConnector; das: DynamicAuthorizationServer }[] = [];
        for (const entry of entries) {
          const radius = entry.radius!;
          const connector = new OpenVpnConnector(entry, new RadiusBackend(radius, dictionary), logger);
          const das = new DynamicAuthorizationServer(radius, dictionary, connector, logger);
          const listening = await das.start();
          if (listening) logger.info({ openvpn: entry.name, address: `${listening.host}:${listening.port}` }, "dynamic authorization listening");
          connector.start();
          running.push({ connector, das });
        }
        logger.info({ config: config.file, openvpn: entries.map((e) => e.name) }, "tally openvpn is running");
        await untilStopSignal(logger);
        for (const r of running) {
          r.connector.stop();
          r.das.stop();
        }
        logger.info("stopped");
      }),
    );
}
