// The public face of the RADIUS codec: everything another module (the server, the CLI, tests,
// plugins) may import from "tally/radius". Pure functions over Buffers; the only I/O is the
// dictionary loader reading files.

export {
  AcctStatusType,
  Attr,
  ErrorCause,
  MAX_ATTRIBUTE_VALUE_LENGTH,
  MAX_PACKET_LENGTH,
  PacketCode,
  isKnownPacketCode,
  packetCodeName,
} from "./constants.ts";
export type { PacketCodeValue } from "./constants.ts";

export {
  decodePacket,
  encodePacket,
  findAttribute,
  findAttributes,
  packetDecodeFailureText,
  readInteger,
  readInteger64,
  readIpv4,
  readIpv6,
  readIpv6Prefix,
  readText,
} from "./packet.ts";
export type { PacketDecodeFailure, PacketDecodeResult, RadiusPacket, RawAttribute } from "./packet.ts";

export {
  accountingRequestAuthenticator,
  chapPasswordMatches,
  chapResponse,
  checkMessageAuthenticator,
  hideTunnelPassword,
  messageAuthenticatorKey,
  hideUserPassword,
  responseAuthenticator,
  unhideTunnelPassword,
  unhideUserPassword,
  verifyAccountingRequest,
  verifyResponse,
} from "./crypto.ts";
export type { MessageAuthenticatorCheck } from "./crypto.ts";

export {
  buildAccessRequest,
  buildAccountingRequest,
  buildResponse,
  buildSignedRequest,
  buildStatusServer,
} from "./message.ts";
export type { AccessRequestOptions, BuildOptions } from "./message.ts";

export { Dictionary } from "./dictionary.ts";
export type { AttributeDataType, AttributeDef, VendorDef } from "./dictionary.ts";

export { decodeAttributes, encodeAttribute } from "./attributes.ts";
export type { DecodeOptions, DecodedAttribute, EncodeOptions } from "./attributes.ts";
