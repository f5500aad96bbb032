// The RADIUS view of the NAS table: clients that have a RADIUS secret.

import { AddressTable } from "../auth/address-table.ts";
import type { ClientConfig } from "../config/load.ts";
import type { BlastRadiusSetting } from "./blastradius.ts";

export { normaliseAddress } from "../auth/address-table.ts";

export interface RadiusClient {
  name: string;
  secret: Buffer;
  requireMessageAuthenticator: BlastRadiusSetting;
  limitProxyState: BlastRadiusSetting;
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
                value: { name: c.name, secret: c.secret, requireMessageAuthenticator: c.requireMessageAuthenticator, limitProxyState: c.limitProxyState },
              },
            ],
      ),
    );
  }
}
