// How attribute values sit on the wire, where the decoder (attribute-decode.ts) and the
// encoder (attribute-encode.ts) must agree: the size of each fixed-size data type, which
// types are containers rather than values, and the Vendor-Specific format of a vendor the
// dictionary does not know.

import type { AttributeDataType, VendorDef } from "./dictionary.ts";

/** RFC 2865 §5.26: the format of Vendor-Specific when the vendor is not in the dictionary. */
export const DEFAULT_VENDOR: Omit<VendorDef, "name" | "id"> = { typeSize: 1, lengthSize: 1, continuation: false };
/** WiMAX-style continuation octet: the value goes on in the next Vendor-Specific. */
export const WIMAX_MORE = 0x80;

export const FIXED_SIZE: Partial<Record<AttributeDataType, number>> = {
  ipaddr: 4,
  ipv6addr: 16,
  integer: 4,
  integer64: 8,
  date: 4,
  byte: 1,
  short: 2,
  signed: 4,
  ether: 6,
  ifid: 8,
  ipv4prefix: 6,
};

export const CONTAINER_TYPES: ReadonlySet<AttributeDataType> = new Set<AttributeDataType>([
  "tlv", "vsa", "extended", "long-extended", "evs",
]);
