// The RADIUS shared-secret cryptography: Request/Response Authenticators (RFC 2865 §3,
// RFC 2866 §3, RFC 5176 §2.3), Message-Authenticator (RFC 3579 §3.2, RFC 5176 §3.3,
// RFC 5997), User-Password and Tunnel-Password hiding (RFC 2865 §5.2, RFC 2868 §3.5) and CHAP
// (RFC 2865 §5.3). Inputs are whole datagrams as Buffers; only octets up to the packet's
// Length field count, so a datagram with trailing padding verifies like the bare packet.
// Verifiers return false/"invalid" on malformed input; they never throw on wire data.

import { createHmac, hash, randomBytes, timingSafeEqual } from "node:crypto";
import {
  AUTHENTICATOR_LENGTH,
  Attr,
  HEADER_LENGTH,
  MAX_PACKET_LENGTH,
  MAX_USER_PASSWORD_LENGTH,
  MESSAGE_AUTHENTICATOR_LENGTH,
  PacketCode,
  RANDOM_AUTHENTICATOR_CODES,
  SIGNED_REQUEST_CODES,
  packetCodeName,
} from "./constants.ts";

const AUTH_OFFSET = 4;
const ZERO_AUTHENTICATOR = Buffer.alloc(AUTHENTICATOR_LENGTH);
/** MD5 output, and so the block size of both password-hiding schemes. */
const BLOCK = 16;
/** RFC 2868 §3.5: a value of 3 + 16k octets fits 253 when the hidden part is at most 240. */
const MAX_TUNNEL_PASSWORD_LENGTH = 239;

/** One-shot: Buffer.concat and crypto.hash cost less than a Hash object fed part by part. */
function md5(...parts: Buffer[]): Buffer {
  return hash("md5", parts.length === 1 ? parts[0]! : Buffer.concat(parts), "buffer");
}

function equalConstantTime(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The packet up to its Length field, or undefined when the header is not sound. */
function framed(raw: Buffer): Buffer | undefined {
  if (raw.length < HEADER_LENGTH) return undefined;
  const length = raw.readUInt16BE(2);
  if (length < HEADER_LENGTH || length > MAX_PACKET_LENGTH || length > raw.length) return undefined;
  return raw.subarray(0, length);
}

function framedOrThrow(raw: Buffer, what: string): Buffer {
  const p = framed(raw);
  if (!p) throw new Error(`${what}: not a well-formed RADIUS packet`);
  return p;
}

function checkAuthenticator(auth: Buffer, what: string): void {
  if (auth.length !== AUTHENTICATOR_LENGTH) {
    throw new Error(`${what}: authenticator must be 16 octets, got ${auth.length}`);
  }
}

/** MD5 over the packet with `auth` in place of its authenticator field, then the secret. */
function md5WithAuthenticator(packet: Buffer, auth: Buffer, secret: Buffer): Buffer {
  return md5(packet.subarray(0, AUTH_OFFSET), auth, packet.subarray(HEADER_LENGTH), secret);
}

/**
 * RFC 2866 §3: MD5(Code + Identifier + Length + 16 zero octets + Attributes + Secret). The
 * same Request Authenticator protects CoA-Request and Disconnect-Request (RFC 5176 §2.3).
 * Whatever the packet's authenticator field holds is ignored.
 */
export function accountingRequestAuthenticator(packetWithAnyAuth: Buffer, secret: Buffer): Buffer {
  const p = framedOrThrow(packetWithAnyAuth, "accountingRequestAuthenticator");
  return md5WithAuthenticator(p, ZERO_AUTHENTICATOR, secret);
}

/** True when `raw`'s Request Authenticator is the RFC 2866 §3 MD5 for `secret`. */
export function verifyAccountingRequest(raw: Buffer, secret: Buffer): boolean {
  const p = framed(raw);
  if (!p) return false;
  const expected = md5WithAuthenticator(p, ZERO_AUTHENTICATOR, secret);
  return equalConstantTime(expected, p.subarray(AUTH_OFFSET, HEADER_LENGTH));
}

/**
 * RFC 2865 §3: MD5(Code + ID + Length + Request Authenticator + Attributes + Secret), the
 * Response Authenticator of any reply (Access-*, Accounting-Response, CoA/Disconnect ACK/NAK).
 */
export function responseAuthenticator(
  responseWithAnyAuth: Buffer,
  requestAuthenticator: Buffer,
  secret: Buffer,
): Buffer {
  checkAuthenticator(requestAuthenticator, "responseAuthenticator");
  const p = framedOrThrow(responseWithAnyAuth, "responseAuthenticator");
  return md5WithAuthenticator(p, requestAuthenticator, secret);
}

/** True when `raw` is a genuine reply to the request that carried `requestAuthenticator`. */
export function verifyResponse(raw: Buffer, requestAuthenticator: Buffer, secret: Buffer): boolean {
  const p = framed(raw);
  if (!p || requestAuthenticator.length !== AUTHENTICATOR_LENGTH) return false;
  const expected = md5WithAuthenticator(p, requestAuthenticator, secret);
  return equalConstantTime(expected, p.subarray(AUTH_OFFSET, HEADER_LENGTH));
}

/** HMAC-MD5 keyed with the secret (RFC 3579 §3.2), over a packet already arranged for it. */
export function hmacMd5(data: Buffer, secret: Buffer): Buffer {
  return createHmac("md5", secret).update(data).digest();
}

export type MessageAuthenticatorCheck = "absent" | "valid" | "invalid";

/** Offsets of the Message-Authenticator attributes, or undefined if the attribute list is broken. */
function messageAuthenticatorOffsets(p: Buffer): number[] | undefined {
  const found: number[] = [];
  let offset = HEADER_LENGTH;
  while (offset < p.length) {
    if (offset + 2 > p.length) return undefined;
    const len = p[offset + 1]!;
    if (len < 2 || offset + len > p.length) return undefined;
    if (p[offset] === Attr.MessageAuthenticator) found.push(offset);
    offset += len;
  }
  return found;
}

/**
 * The value the authenticator field holds while a Message-Authenticator is computed:
 * - Access-Request, Status-Server: the packet's own Request Authenticator (RFC 3579 §3.2);
 * - Accounting-, CoA-, Disconnect-Request: 16 zero octets (RFC 5176 §3.3, RFC 5997 §3);
 * - Accounting-Response: 16 zero octets, except in answer to a Status-Server, where it is the
 *   request's (RFC 5997 §3). No RFC defines the ordinary case; zeros are what FreeRADIUS
 *   signs and verifies (checked against radclient 3.2.1), so that is the interoperable choice;
 * - every other reply (Access-Accept/Reject/Challenge, CoA/Disconnect ACK/NAK): the request's
 *   authenticator (RFC 3579 §3.2, RFC 5176 §3.3).
 * Undefined when a reply's request authenticator is needed but not known.
 */
export function messageAuthenticatorKey(
  packet: Buffer,
  requestAuthenticator?: Buffer,
  requestCode?: number,
): Buffer | undefined {
  const code = packet[0]!;
  if (RANDOM_AUTHENTICATOR_CODES.has(code)) return packet.subarray(AUTH_OFFSET, HEADER_LENGTH);
  if (SIGNED_REQUEST_CODES.has(code)) return ZERO_AUTHENTICATOR;
  if (code === PacketCode.AccountingResponse && requestCode !== PacketCode.StatusServer) return ZERO_AUTHENTICATOR;
  return requestAuthenticator;
}

/**
 * Checks a Message-Authenticator (RFC 3579 §3.2): HMAC-MD5 over the packet with the
 * attribute's value zeroed and the authenticator field set as messageAuthenticatorKey says.
 * For a reply pass the request's authenticator, and for an Accounting-Response to a
 * Status-Server also `requestCode`. "invalid" also covers a packet that does not parse, a
 * second Message-Authenticator and one whose value is not 16 octets. Throws only when a
 * reply is checked without its request's authenticator, which is a mistake in the caller.
 */
export function checkMessageAuthenticator(
  raw: Buffer,
  secret: Buffer,
  requestAuthenticator?: Buffer,
  requestCode?: number,
): MessageAuthenticatorCheck {
  const p = framed(raw);
  if (!p) return "invalid";
  const offsets = messageAuthenticatorOffsets(p);
  if (!offsets) return "invalid";
  if (offsets.length === 0) return "absent";
  const at = offsets[0]!;
  if (offsets.length > 1 || p[at + 1] !== 2 + MESSAGE_AUTHENTICATOR_LENGTH) return "invalid";

  const auth = messageAuthenticatorKey(p, requestAuthenticator, requestCode);
  if (!auth) {
    throw new Error(
      `checkMessageAuthenticator: a ${packetCodeName(p[0]!)} is checked against its request's authenticator; pass requestAuthenticator`,
    );
  }
  checkAuthenticator(auth, "checkMessageAuthenticator");
  const copy = Buffer.from(p);
  auth.copy(copy, AUTH_OFFSET);
  copy.fill(0, at + 2, at + 2 + MESSAGE_AUTHENTICATOR_LENGTH);
  const expected = hmacMd5(copy, secret);
  return equalConstantTime(expected, p.subarray(at + 2, at + 2 + MESSAGE_AUTHENTICATOR_LENGTH))
    ? "valid"
    : "invalid";
}

/** XORs `data` block by block with MD5(secret + previous ciphertext block), starting from `first`. */
function hideBlocks(data: Buffer, secret: Buffer, first: Buffer): Buffer {
  const out = Buffer.alloc(data.length);
  let key = md5(secret, first);
  for (let i = 0; i < data.length; i += BLOCK) {
    for (let j = 0; j < BLOCK; j++) out[i + j] = data[i + j]! ^ key[j]!;
    key = md5(secret, out.subarray(i, i + BLOCK));
  }
  return out;
}

/** The inverse of hideBlocks: the chaining uses the ciphertext, which the receiver has. */
function unhideBlocks(data: Buffer, secret: Buffer, first: Buffer): Buffer {
  const out = Buffer.alloc(data.length);
  let key = md5(secret, first);
  for (let i = 0; i < data.length; i += BLOCK) {
    for (let j = 0; j < BLOCK; j++) out[i + j] = data[i + j]! ^ key[j]!;
    key = md5(secret, data.subarray(i, i + BLOCK));
  }
  return out;
}

function padToBlock(data: Buffer): Buffer {
  const length = Math.max(BLOCK, Math.ceil(data.length / BLOCK) * BLOCK);
  const out = Buffer.alloc(length);
  data.copy(out);
  return out;
}

/**
 * RFC 2865 §5.2: the password NUL-padded to a multiple of 16 (an empty one to 16), each block
 * XORed with MD5(secret + Request Authenticator, then + previous block). Throws past 128 octets.
 */
export function hideUserPassword(password: Buffer, secret: Buffer, authenticator: Buffer): Buffer {
  checkAuthenticator(authenticator, "hideUserPassword");
  if (password.length > MAX_USER_PASSWORD_LENGTH) {
    throw new Error(`User-Password is ${password.length} octets; RFC 2865 allows at most 128`);
  }
  return hideBlocks(padToBlock(password), secret, authenticator);
}

/**
 * The cleartext of a hidden User-Password with its NUL padding removed, or null when the value
 * cannot be one (length 0, above 128 or not a multiple of 16). A wrong secret gives garbage,
 * not null: RFC 2865 has no integrity check on this attribute.
 */
export function unhideUserPassword(hidden: Buffer, secret: Buffer, authenticator: Buffer): Buffer | null {
  if (hidden.length === 0 || hidden.length > MAX_USER_PASSWORD_LENGTH || hidden.length % BLOCK !== 0) {
    return null;
  }
  if (authenticator.length !== AUTHENTICATOR_LENGTH) return null;
  const clear = unhideBlocks(hidden, secret, authenticator);
  let end = clear.length;
  while (end > 0 && clear[end - 1] === 0) end--;
  return clear.subarray(0, end);
}

/**
 * RFC 2868 §3.5: Salt(2) + hidden(length octet + password, zero-padded to 16k), the first key
 * MD5(secret + authenticator + salt). `authenticator` is the Request Authenticator of the
 * request (for a reply: the request it answers). The salt's top bit must be set and the salt
 * must differ per attribute within a packet; by default a random one is drawn. The tag octet
 * is not part of this: the caller places it in front.
 */
export function hideTunnelPassword(
  password: Buffer,
  secret: Buffer,
  authenticator: Buffer,
  salt?: Buffer,
): Buffer {
  checkAuthenticator(authenticator, "hideTunnelPassword");
  if (password.length > MAX_TUNNEL_PASSWORD_LENGTH) {
    throw new Error(`Tunnel-Password is ${password.length} octets; at most ${MAX_TUNNEL_PASSWORD_LENGTH} fit in an attribute`);
  }
  let s: Buffer;
  if (salt) {
    if (salt.length !== 2 || (salt[0]! & 0x80) === 0) {
      throw new Error("hideTunnelPassword: salt must be 2 octets with the high bit of the first set");
    }
    s = salt;
  } else {
    s = randomBytes(2);
    s[0] = s[0]! | 0x80;
  }
  const plain = padToBlock(Buffer.concat([Buffer.from([password.length]), password]));
  return Buffer.concat([s, hideBlocks(plain, secret, Buffer.concat([authenticator, s]))]);
}

/**
 * The password inside a salted value (Salt + hidden part, without any tag octet), or null when
 * the value is not shaped like one or its length octet points past the data.
 */
export function unhideTunnelPassword(hidden: Buffer, secret: Buffer, authenticator: Buffer): Buffer | null {
  if (hidden.length < 2 + BLOCK || (hidden.length - 2) % BLOCK !== 0) return null;
  if (authenticator.length !== AUTHENTICATOR_LENGTH) return null;
  const salt = hidden.subarray(0, 2);
  const clear = unhideBlocks(hidden.subarray(2), secret, Buffer.concat([authenticator, salt]));
  const length = clear[0]!;
  if (length > clear.length - 1) return null;
  return clear.subarray(1, 1 + length);
}

/** RFC 1994 §4.1 via RFC 2865 §5.3: CHAP-Password = CHAP Ident + MD5(Ident + password + challenge). */
export function chapResponse(id: number, password: Buffer, challenge: Buffer): Buffer {
  if (!Number.isInteger(id) || id < 0 || id > 255) throw new Error(`CHAP identifier ${id} is not an octet`);
  const ident = Buffer.from([id]);
  return Buffer.concat([ident, md5(ident, password, challenge)]);
}

/**
 * True when a 17-octet CHAP-Password answers `challenge` (the CHAP-Challenge attribute, or the
 * Request Authenticator when there is none, RFC 2865 §2.2) with `password`.
 */
export function chapPasswordMatches(chapPassword: Buffer, challenge: Buffer, password: Buffer): boolean {
  if (chapPassword.length !== 1 + BLOCK) return false;
  const expected = md5(chapPassword.subarray(0, 1), password, challenge);
  return timingSafeEqual(expected, chapPassword.subarray(1));
}
