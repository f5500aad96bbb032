// The RADIUS view of the NAS table: clients that have a RADIUS secret.

import { isIPv6 } from "node:net";
import { AddressTable } from "../auth/address-table.ts";
import type { ClientConfig } from "../config/load.ts";
import type { BlastRadiusSetting } from "./blastradius.ts";

export { normaliseAddress } from "../auth/address-table.ts";

export interface RadiusClient {
  name: string;
  secret: Buffer;
  requireMessageAuthenticator: BlastRadiusSetting;
  limitProxyState: BlastRadiusSetting;
  /** The NAS names (a record's `nas`) this client may send accounting for; null: any. */
  nas: ReadonlySet<string> | null;
}

/** The `nas` list as a set, with IPv6 addresses in one spelling. */
export function allowedNas(config: ClientConfig): ReadonlySet<string> | null {
  return config.nas === null ? null : new Set(config.nas.map(nasName));
}

/** A NAS name as records carry it: an IPv6 address in its shortest form, anything else as is. */
export function nasName(name: string): string {
  return isIPv6(name) ? new URL(`http://[${name}]/`).hostname.slice(1, -1) : name;
}

export class ClientTable extends AddressTable<RadiusClient> {
  constructor(clients: readonly ClientConfig[]) {
    super(
      clients.flatMap((c) =>
        c.secret === null
          ? []
          : [
              {
                range: c.address,
                value: { name: c.name, secret: c.secret, requireMessageAuthenticator: c.requireMessageAuthenticator, limitProxyState: c.limitProxyState, nas: allowedNas(c) },
              },
            ],
      ),
    );
  }
}
