// Which configured client (NAS) a source address belongs to: the first entry whose address
// range holds it, as in FreeRADIUS's clients.conf order. Shared by the RADIUS and TACACS+
// listeners, which look a peer up before doing any cryptography.

import { BlockList, isIPv4 } from "node:net";

/** "::ffff:192.0.2.1" (a dual-stack socket's view of an IPv4 peer) -> "192.0.2.1". */
export function normaliseAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

export interface AddressRange {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

export class AddressTable<T> {
  private readonly entries: { list: BlockList; value: T }[];

  constructor(entries: readonly { range: AddressRange; value: T }[]) {
    this.entries = entries.map(({ range, value }) => {
      const list = new BlockList();
      list.addSubnet(range.address, range.prefix, range.family);
      return { list, value };
    });
  }

  find(address: string): T | undefined {
    const a = normaliseAddress(address);
    const family = isIPv4(a) ? "ipv4" : "ipv6";
    for (const e of this.entries) if (e.list.check(a, family)) return e.value;
    return undefined;
  }
}
