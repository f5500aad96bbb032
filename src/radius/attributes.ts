// Attribute values through the dictionary: raw wire attributes -> named display values
// (decodeAttributes, for logs and accounting records) and a name + value -> wire attributes
// (encodeAttribute, for configured reply attributes). Handles Vendor-Specific (RFC 2865
// §5.26), tags (RFC 2868 §3.1), TLVs, and the RFC 6929 extended and long-extended formats
// including Extended-Vendor-Specific. Decoding never throws: what cannot be read is shown as
// "0x" + hex. Encoding throws a readable error, because a bad value there is configuration.
//
// The work is split by direction: attribute-decode.ts and attribute-encode.ts, sharing the
// wire facts in attribute-format.ts. This module keeps the one import path for both.

export { decodeAttributes } from "./attribute-decode.ts";
export type { DecodeOptions, DecodedAttribute } from "./attribute-decode.ts";
export { encodeAttribute } from "./attribute-encode.ts";
export type { EncodeOptions } from "./attribute-encode.ts";
