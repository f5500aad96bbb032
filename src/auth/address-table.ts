// Which configured client (NAS) a source address belongs to: the first entry whose address
// range holds it, as in FreeRADIUS's clients.conf order. Shared by the RADIUS and TACACS+
// listeners, which look a peer up before doing any cryptography.

import { BlockList, isIPv4, isIPv6 } from "node:net";

/** "::ffff:192.0.2.1" (a dual-stack socket's view of an IPv4 peer) -> "192.0.2.1". */
export function normaliseAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/**
 * One spelling per address, for comparing addresses written by different hands (a config, a
 * certificate's SAN, a NAS-IP-Address): IPv6 in its shortest lower-case form (OpenSSL prints
 * "2001:DB8:0:0:0:0:0:1"), an IPv4-mapped address as IPv4; anything else as it is.
 */
export function canonicalAddress(address: string): string {
  const a = normaliseAddress(address);
  return isIPv6(a) ? new URL(`http://[${a}]/`).hostname.slice(1, -1) : a;
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
