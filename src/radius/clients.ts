// The NAS table: which source addresses may talk to Tally and with which secret. Looked up
// before any cryptography so packets from unknown sources cost almost nothing.

import { BlockList, isIPv4 } from "node:net";
import type { ClientConfig } from "../config/load.ts";

export interface RadiusClient {
  name: string;
  secret: Buffer;
  requireMessageAuthenticator: boolean;
}

/** "::ffff:192.0.2.1" (a dual-stack socket's view of an IPv4 peer) -> "192.0.2.1". */
export function normaliseAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

export class ClientTable {
  private readonly entries: { list: BlockList; client: RadiusClient }[];

  constructor(clients: readonly ClientConfig[]) {
    this.entries = clients.map((c) => {
      const list = new BlockList();
      list.addSubnet(c.address.address, c.address.prefix, c.address.family);
      return { list, client: { name: c.name, secret: c.secret, requireMessageAuthenticator: c.requireMessageAuthenticator } };
    });
  }

  /** The first configured client whose address range holds `address`, as in FreeRADIUS's clients.conf order. */
  find(address: string): RadiusClient | undefined {
    const a = normaliseAddress(address);
    const family = isIPv4(a) ? "ipv4" : "ipv6";
    for (const e of this.entries) if (e.list.check(a, family)) return e.client;
    return undefined;
  }
}
