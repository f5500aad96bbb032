// The RADIUS view of the NAS table: clients that have a RADIUS secret.

import { AddressTable, canonicalAddress } from "../auth/address-table.ts";
import type { ClientConfig } from "../config/load.ts";
import type { BlastRadiusSetting } from "./blastradius.ts";

export { canonicalAddress, normaliseAddress } from "../auth/address-table.ts";

export interface RadiusClient {
  name: string;
  secret: Buffer;
  requireMessageAuthenticator: BlastRadiusSetting;
  limitProxyState: BlastRadiusSetting;
  /** The NAS names (a record's `nas`) this client may send accounting for; null: any. */
  nas: ReadonlySet<string> | null;
}

/** The `nas` list as a set, addresses in one spelling (compared with canonicalAddress of a record's NAS). */
export function allowedNas(config: ClientConfig): ReadonlySet<string> | null {
  return config.nas === null ? null : new Set(config.nas.map(canonicalAddress));
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
