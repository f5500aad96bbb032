// The RADIUS packet frame (RFC 2865 §3 and §5): a datagram <-> code, identifier,
// authenticator and the list of top-level attributes as raw type/value pairs. Nothing here
// knows what an attribute means (that is attributes.ts with a dictionary) or checks any
// authenticator (crypto.ts). decodePacket never throws; encodePacket throws only when the
// caller built something that cannot be sent.

import {
  AUTHENTICATOR_LENGTH,
  HEADER_LENGTH,
  MAX_ATTRIBUTE_VALUE_LENGTH,
  MAX_PACKET_LENGTH,
  isKnownPacketCode,
} from "./constants.ts";

export { readInteger, readInteger64, readIpv4, readIpv6, readIpv6Prefix, readText } from "./values.ts";

/** One top-level attribute as on the wire: its type and its value without the 2-octet header. */
export interface RawAttribute {
  type: number;
  value: Buffer;
}

export interface RadiusPacket {
  code: number;
  identifier: number;
  /** The 16-octet Request or Response Authenticator, exactly as received or to be sent. */
  authenticator: Buffer;
  /** In wire order; repeated types stay separate entries. */
  attributes: RawAttribute[];
}

export type PacketDecodeFailure =
  | "too-short"
  | "length-too-short"
  | "length-too-long"
  | "length-exceeds-datagram"
  | "attribute-truncated"
  | "attribute-length-invalid"
  | "unknown-code";

export type PacketDecodeResult =
  | { ok: true; packet: RadiusPacket }
  | { ok: false; reason: PacketDecodeFailure; offset: number };

/** A sentence per failure, for logs ("dropped packet from 10.0.0.1: <text> at offset 57"). */
export const packetDecodeFailureText: Record<PacketDecodeFailure, string> = {
  "too-short": "datagram is shorter than the 20-octet RADIUS header",
  "length-too-short": "Length field is below the 20-octet minimum",
  "length-too-long": "Length field is above the 4096-octet maximum",
  "length-exceeds-datagram": "Length field is larger than the datagram received",
  "attribute-truncated": "attribute runs past the end of the packet",
  "attribute-length-invalid": "attribute Length octet is below 2",
  "unknown-code": "packet Code is not a known RADIUS code",
};

const LENGTH_OFFSET = 2;

/**
 * Splits a datagram into a packet (RFC 2865 §3). Offsets in failures are those of the field
 * at fault: 0 for the Code, 2 for the Length, an attribute's first octet for attribute
 * problems, and the datagram's length for "too-short". Octets past Length are padding and
 * ignored, as §3 requires. Every Buffer in the result is a copy, so the caller may reuse
 * the datagram.
 */
export function decodePacket(datagram: Buffer): PacketDecodeResult {
  if (datagram.length < HEADER_LENGTH) {
    return { ok: false, reason: "too-short", offset: datagram.length };
  }
  const length = datagram.readUInt16BE(LENGTH_OFFSET);
  if (length < HEADER_LENGTH) return { ok: false, reason: "length-too-short", offset: LENGTH_OFFSET };
  if (length > MAX_PACKET_LENGTH) return { ok: false, reason: "length-too-long", offset: LENGTH_OFFSET };
  if (length > datagram.length) {
    return { ok: false, reason: "length-exceeds-datagram", offset: LENGTH_OFFSET };
  }
  const code = datagram[0]!;
  if (!isKnownPacketCode(code)) return { ok: false, reason: "unknown-code", offset: 0 };

  const attributes: RawAttribute[] = [];
  let offset = HEADER_LENGTH;
  while (offset < length) {
    if (offset + 2 > length) return { ok: false, reason: "attribute-truncated", offset };
    const attrLength = datagram[offset + 1]!;
    if (attrLength < 2) return { ok: false, reason: "attribute-length-invalid", offset };
    if (offset + attrLength > length) return { ok: false, reason: "attribute-truncated", offset };
    attributes.push({
      type: datagram[offset]!,
      value: Buffer.from(datagram.subarray(offset + 2, offset + attrLength)),
    });
    offset += attrLength;
  }
  return {
    ok: true,
    packet: {
      code,
      identifier: datagram[1]!,
      authenticator: Buffer.from(datagram.subarray(4, HEADER_LENGTH)),
      attributes,
    },
  };
}

function isOctet(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 255;
}

/**
 * Serialises a packet exactly as given: no authenticator is computed (message.ts does that).
 * Throws on what cannot be sent: a field out of range, a value over 253 octets, or a packet
 * over 4096 octets.
 */
export function encodePacket(p: RadiusPacket): Buffer {
  if (!isOctet(p.code)) throw new Error(`packet code ${p.code} is not an octet`);
  if (!isOctet(p.identifier)) throw new Error(`packet identifier ${p.identifier} is not an octet`);
  if (p.authenticator.length !== AUTHENTICATOR_LENGTH) {
    throw new Error(`packet authenticator must be 16 octets, got ${p.authenticator.length}`);
  }
  let length = HEADER_LENGTH;
  for (const attr of p.attributes) {
    if (!isOctet(attr.type)) throw new Error(`attribute type ${attr.type} is not an octet`);
    if (attr.value.length > MAX_ATTRIBUTE_VALUE_LENGTH) {
      throw new Error(
        `attribute ${attr.type} value is ${attr.value.length} octets, more than the ${MAX_ATTRIBUTE_VALUE_LENGTH} one attribute can hold`,
      );
    }
    length += 2 + attr.value.length;
  }
  if (length > MAX_PACKET_LENGTH) {
    throw new Error(`packet would be ${length} octets, more than the ${MAX_PACKET_LENGTH} RADIUS allows`);
  }
  const out = Buffer.alloc(length);
  out[0] = p.code;
  out[1] = p.identifier;
  out.writeUInt16BE(length, LENGTH_OFFSET);
  p.authenticator.copy(out, 4);
  let offset = HEADER_LENGTH;
  for (const attr of p.attributes) {
    out[offset] = attr.type;
    out[offset + 1] = attr.value.length + 2;
    attr.value.copy(out, offset + 2);
    offset += attr.value.length + 2;
  }
  return out;
}

/** The value of the first attribute of `type`, or undefined. */
export function findAttribute(p: RadiusPacket, type: number): Buffer | undefined {
  return p.attributes.find((a) => a.type === type)?.value;
}

/** The values of every attribute of `type`, in packet order. */
export function findAttributes(p: RadiusPacket, type: number): Buffer[] {
  return p.attributes.filter((a) => a.type === type).map((a) => a.value);
}
