// Wiring: builds a running Tally from a Config (store, dictionary, users, accounting core,
// listeners) and takes it down again in the right order (listeners first, then the queue,
// then the store) so nothing accepted is left uncommitted.

import type { AddressInfo } from "node:net";
import { AccountingCore } from "../accounting/core.ts";
import { UserDirectory } from "../auth/users.ts";
import { ConfigError, type Config } from "../config/load.ts";
import type { Logger } from "../log.ts";
import { encodeReply } from "../radius/access.ts";
import { ClientTable } from "../radius/clients.ts";
import { Dictionary } from "../radius/dictionary.ts";
import { RadiusServer } from "../radius/server.ts";
import { openStore } from "../store/index.ts";
import { TacacsServer } from "../tacacs/server.ts";
import type { Store } from "../store/store.ts";

export interface RunningTally {
  store: Store;
  accounting: AccountingCore;
  radius: RadiusServer;
  tacacs: TacacsServer | null;
  dictionary: Dictionary;
  addresses: { auth?: AddressInfo; acct?: AddressInfo; tacacs?: { address: string; port: number } };
  stop(): Promise<void>;
}

/** The built-in dictionary plus the config's extra ones; problems are config errors. */
export function loadDictionary(config: Config): Dictionary {
  const dictionary = Dictionary.builtin();
  config.radius.dictionaries.forEach((path, i) => {
    try {
      dictionary.loadFile(path);
    } catch (e) {
      throw new ConfigError(config.file, [`radius.dictionaries[${i}]: ${(e as Error).message}`]);
    }
  });
  return dictionary;
}

/** Every configured user's reply must encode now, not at the first Access-Accept. */
export function checkReplies(config: Config, dictionary: Dictionary): void {
  const problems: string[] = [];
  config.users.forEach((u, i) => {
    try {
      encodeReply(dictionary, u.reply, 0);
    } catch (e) {
      problems.push(`users[${i}].reply: ${(e as Error).message}`);
    }
  });
  if (problems.length > 0) throw new ConfigError(config.file, problems);
}

export async function startTally(config: Config, logger: Logger): Promise<RunningTally> {
  const dictionary = loadDictionary(config);
  for (const w of dictionary.warnings) logger.debug({ warning: w }, "dictionary");
  checkReplies(config, dictionary);
  const store = openStore(config.store);
  const accounting = new AccountingCore(
    store,
    { defaultInterimInterval: config.accounting.defaultInterimInterval, maxBatch: config.accounting.maxBatch },
    (err, size) => logger.error({ err, size }, "store commit failed; records not acknowledged"),
  );
  const users = new UserDirectory(config.users, config.groups, store);
  const radius = new RadiusServer(
    {
      auth: config.radius.auth,
      acct: config.radius.acct,
      receiveBuffer: config.radius.receiveBuffer,
      duplicateWindow: config.radius.duplicateWindow,
      defaultInterimInterval: config.accounting.defaultInterimInterval,
    },
    { clients: new ClientTable(config.clients), dictionary, users, accounting, logger },
  );
  const tacacs =
    config.tacacs.listen === null
      ? null
      : new TacacsServer({ ...config.tacacs, listen: config.tacacs.listen }, { clients: config.clients, users, accounting, logger });
  let addresses: RunningTally["addresses"];
  try {
    addresses = await radius.start();
    if (tacacs) addresses.tacacs = await tacacs.start();
  } catch (e) {
    await radius.stop();
    await tacacs?.stop();
    await store.close();
    throw e;
  }
  return {
    store,
    accounting,
    radius,
    tacacs,
    dictionary,
    addresses,
    async stop() {
      await Promise.all([radius.stop(), tacacs?.stop()]);
      await accounting.close();
      await store.close();
    },
  };
}
