// The 12-octet TACACS+ header (RFC 8907 §4.1) <-> its fields. The header is never obfuscated,
// so this is all a reader can trust before it knows the key is right. decodeHeader never
// throws; encodeHeader throws only when the caller built something that cannot be sent.

import { HEADER_LENGTH, LENGTH_FIELD_OFFSET, MinorVersion, PacketType, TAC_PLUS_MAJOR_VERSION } from "./constants.ts";

export interface TacacsHeader {
  majorVersion: number;
  minorVersion: number;
  type: number;
  seqNo: number;
  flags: number;
  /** uint32, chosen at random by the client for each session. */
  sessionId: number;
  /** Length of the body that follows, not counting the header. */
  length: number;
}

export type HeaderDecodeFailure = "too-short" | "bad-major-version" | "bad-minor-version" | "bad-type";

export type HeaderDecodeResult =
  | { ok: true; header: TacacsHeader }
  | { ok: false; reason: HeaderDecodeFailure; offset: number };

/** A sentence per failure, for logs. */
export const headerDecodeFailureText: Record<HeaderDecodeFailure, string> = {
  "too-short": "fewer octets than the 12-octet TACACS+ header",
  "bad-major-version": "major version is not 0xc (is this TACACS+ at all?)",
  "bad-minor-version": "minor version is neither 0 nor 1",
  "bad-type": "packet type is not authentication, authorization or accounting",
};

const VERSION_OFFSET = 0;
const TYPE_OFFSET = 1;

/**
 * Reads the header at the start of `buf`; octets past the 12th are the caller's business.
 * Offsets in failures: 0 for either version nibble, 1 for the type, and the buffer's length
 * for "too-short". The minor version is checked because §4.1 defines only 0 and 1 and the
 * obfuscation pad covers the version octet: anything else cannot be a packet we can answer.
 */
export function decodeHeader(buf: Buffer): HeaderDecodeResult {
  if (buf.length < HEADER_LENGTH) return { ok: false, reason: "too-short", offset: buf.length };
  const version = buf[VERSION_OFFSET]!;
  const majorVersion = version >> 4;
  const minorVersion = version & 0x0f;
  if (majorVersion !== TAC_PLUS_MAJOR_VERSION) {
    return { ok: false, reason: "bad-major-version", offset: VERSION_OFFSET };
  }
  if (minorVersion !== MinorVersion.Default && minorVersion !== MinorVersion.One) {
    return { ok: false, reason: "bad-minor-version", offset: VERSION_OFFSET };
  }
  const type = buf[TYPE_OFFSET]!;
  if (type !== PacketType.Authentication && type !== PacketType.Authorization && type !== PacketType.Accounting) {
    return { ok: false, reason: "bad-type", offset: TYPE_OFFSET };
  }
  return {
    ok: true,
    header: {
      majorVersion,
      minorVersion,
      type,
      seqNo: buf[2]!,
      flags: buf[3]!,
      sessionId: buf.readUInt32BE(4),
      length: buf.readUInt32BE(LENGTH_FIELD_OFFSET),
    },
  };
}

function checkRange(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new Error(`header ${name} ${value} is outside 0..${max}`);
  }
}

/**
 * Serialises a header exactly as given. Any 4-bit version is accepted (tests send bad ones on
 * purpose); throws when a field does not fit its bits.
 */
export function encodeHeader(h: TacacsHeader): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LENGTH);
  writeHeader(h, out, 0);
  return out;
}

/** encodeHeader into `out` at `offset` (12 octets), for a caller that builds the whole packet. */
export function writeHeader(h: TacacsHeader, out: Buffer, offset: number): void {
  checkRange("majorVersion", h.majorVersion, 0x0f);
  checkRange("minorVersion", h.minorVersion, 0x0f);
  checkRange("type", h.type, 0xff);
  checkRange("seqNo", h.seqNo, 0xff);
  checkRange("flags", h.flags, 0xff);
  checkRange("sessionId", h.sessionId, 0xffffffff);
  checkRange("length", h.length, 0xffffffff);
  out[offset + VERSION_OFFSET] = (h.majorVersion << 4) | h.minorVersion;
  out[offset + TYPE_OFFSET] = h.type;
  out[offset + 2] = h.seqNo;
  out[offset + 3] = h.flags;
  out.writeUInt32BE(h.sessionId, offset + 4);
  out.writeUInt32BE(h.length, offset + LENGTH_FIELD_OFFSET);
}
