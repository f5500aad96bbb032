// MS-CHAP v1 (RFC 2433) and v2 (RFC 2759) as pure functions over Buffers: password hashes,
// the 24-byte challenge responses, server-side verification, the v2 authenticator response
// ("S=..."), and the RFC 3079 MPPE master/session keys that RADIUS later sends as
// MS-MPPE-Send-Key / MS-MPPE-Recv-Key. No I/O and no RADIUS attribute parsing live here.
//
// MD4 and DES come from the local pure implementations (md4.ts, des.ts) on every runtime:
// OpenSSL 3 only has them in its legacy provider, and one code path everywhere means the
// path exercised by the tests is the one that runs in production.
//
// Generators throw RangeError on wrongly sized inputs (a programming error); the verify
// functions take wire data and return false instead of throwing.

import { createHash, timingSafeEqual } from "node:crypto";
import { desEncrypt } from "./des.ts";
import { md4 } from "./md4.ts";

/** RFC 2759 §8.7 Magic1: "Magic server to client signing constant". */
const AUTH_MAGIC1 = Buffer.from("Magic server to client signing constant", "ascii");
/** RFC 2759 §8.7 Magic2: "Pad to make it do more than one iteration". */
const AUTH_MAGIC2 = Buffer.from("Pad to make it do more than one iteration", "ascii");
/** RFC 3079 §3.4 GetMasterKey Magic1. */
const MPPE_MASTER_MAGIC = Buffer.from("This is the MPPE Master Key", "ascii");
/** RFC 3079 §3.4 Magic2 / Magic3, picked by direction and side. */
const MPPE_CLIENT_SEND_MAGIC = Buffer.from(
  "On the client side, this is the send key; on the server side, it is the receive key.",
  "ascii",
);
const MPPE_CLIENT_RECV_MAGIC = Buffer.from(
  "On the client side, this is the receive key; on the server side, it is the send key.",
  "ascii",
);
const SHS_PAD1 = Buffer.alloc(40, 0x00);
const SHS_PAD2 = Buffer.alloc(40, 0xf2);
/** RFC 2433 A.3 DesHash known text. */
const LM_MAGIC = Buffer.from("KGS!@#$%", "ascii");

function sha1(...parts: Uint8Array[]): Buffer {
  const h = createHash("sha1");
  for (const part of parts) h.update(part);
  return h.digest();
}

function requireLength(name: string, value: Uint8Array, length: number): void {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new RangeError(`${name} must be ${length} bytes`);
  }
}

function isBytes(value: unknown, length: number): value is Uint8Array {
  return value instanceof Uint8Array && value.length === length;
}

/** Constant-time equality of two equally sized byte strings (lengths are public). */
function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** RFC 2759 §8.3 NtPasswordHash: MD4 of the UTF-16LE password, no terminator (16 bytes). */
export function ntPasswordHash(password: string): Buffer {
  return md4(Buffer.from(password, "utf16le"));
}

/** RFC 2759 §8.4 HashNtPasswordHash: MD4 of the 16-byte NT hash. */
export function hashNtPasswordHash(passwordHash: Buffer): Buffer {
  requireLength("passwordHash", passwordHash, 16);
  return md4(passwordHash);
}

/**
 * RFC 2433 A.2 LmPasswordHash (16 bytes). The password is an "OEM" string of at most 14
 * characters: ASCII letters are upper-cased, each character is taken as one Latin-1 byte,
 * and the result is cut or zero-padded to 14 bytes. Non-ASCII passwords depend on the
 * client's code page, so LM is only worth sending, never worth trusting.
 */
export function lmPasswordHash(password: string): Buffer {
  const upper = password.replace(/[a-z]/g, (ch) => ch.toUpperCase());
  const oem = Buffer.alloc(14);
  Buffer.from(upper, "latin1").copy(oem, 0, 0, 14);
  return Buffer.concat([desEncrypt(LM_MAGIC, oem.subarray(0, 7)), desEncrypt(LM_MAGIC, oem.subarray(7, 14))]);
}

/**
 * RFC 2433 A.7 / RFC 2759 §8.5 ChallengeResponse: the 16-byte hash zero-padded to 21 bytes
 * gives three 7-byte DES keys, each encrypting the 8-byte challenge (24 bytes out).
 */
export function challengeResponse(challenge: Buffer, passwordHash: Buffer): Buffer {
  requireLength("challenge", challenge, 8);
  requireLength("passwordHash", passwordHash, 16);
  const z = Buffer.alloc(21);
  z.set(passwordHash);
  return Buffer.concat([
    desEncrypt(challenge, z.subarray(0, 7)),
    desEncrypt(challenge, z.subarray(7, 14)),
    desEncrypt(challenge, z.subarray(14, 21)),
  ]);
}

/** RFC 2433 A.5 NtChallengeResponse and A.1 LmChallengeResponse for an 8-byte challenge. */
export function mschapV1Response(challenge: Buffer, password: string): { ntResponse: Buffer; lmResponse: Buffer } {
  return {
    ntResponse: challengeResponse(challenge, ntPasswordHash(password)),
    lmResponse: challengeResponse(challenge, lmPasswordHash(password)),
  };
}

/**
 * Server-side MS-CHAPv1 check of the NT-Response (the response a peer sends with the
 * "use NT" flag set). False for a wrong password or a challenge/response of the wrong size.
 */
export function verifyMschapV1(challenge: Buffer, ntResponse: Buffer, password: string): boolean {
  if (!isBytes(challenge, 8) || !isBytes(ntResponse, 24) || typeof password !== "string") return false;
  return bytesEqual(challengeResponse(challenge, ntPasswordHash(password)), ntResponse);
}

/**
 * The user name as RFC 2759 §8.2 hashes it: "DOMAIN\user" becomes "user" (everything up to
 * and including the first backslash is dropped); other names are unchanged.
 */
export function stripDomain(userName: string): string {
  const slash = userName.indexOf("\\");
  return slash === -1 ? userName : userName.slice(slash + 1);
}

/**
 * RFC 2759 §8.2 ChallengeHash: first 8 bytes of SHA-1(PeerChallenge | AuthenticatorChallenge
 * | UserName). The name is hashed as UTF-8 bytes with any "DOMAIN\" prefix removed.
 */
export function mschapV2ChallengeHash(peerChallenge: Buffer, authenticatorChallenge: Buffer, userName: string): Buffer {
  requireLength("peerChallenge", peerChallenge, 16);
  requireLength("authenticatorChallenge", authenticatorChallenge, 16);
  return sha1(peerChallenge, authenticatorChallenge, Buffer.from(stripDomain(userName), "utf8")).subarray(0, 8);
}

/** RFC 2759 §8.1 GenerateNTResponse (24 bytes). */
export function mschapV2NtResponse(
  authenticatorChallenge: Buffer,
  peerChallenge: Buffer,
  userName: string,
  password: string,
): Buffer {
  const challenge = mschapV2ChallengeHash(peerChallenge, authenticatorChallenge, userName);
  return challengeResponse(challenge, ntPasswordHash(password));
}

/** Server-side MS-CHAPv2 check of a peer's NT-Response; false on mismatch or bad sizes. */
export function verifyMschapV2(
  authenticatorChallenge: Buffer,
  peerChallenge: Buffer,
  userName: string,
  ntResponse: Buffer,
  password: string,
): boolean {
  if (!isBytes(authenticatorChallenge, 16) || !isBytes(peerChallenge, 16) || !isBytes(ntResponse, 24)) return false;
  if (typeof userName !== "string" || typeof password !== "string") return false;
  const expected = mschapV2NtResponse(authenticatorChallenge, peerChallenge, userName, password);
  return bytesEqual(expected, ntResponse);
}

/**
 * RFC 2759 §8.7 GenerateAuthenticatorResponse: "S=" followed by 40 upper-case hex digits,
 * which the server returns in its Success packet (MS-CHAP2-Success) so the peer can
 * authenticate the server.
 */
export function mschapV2AuthenticatorResponse(
  password: string,
  ntResponse: Buffer,
  peerChallenge: Buffer,
  authenticatorChallenge: Buffer,
  userName: string,
): string {
  requireLength("ntResponse", ntResponse, 24);
  const passwordHashHash = hashNtPasswordHash(ntPasswordHash(password));
  const digest = sha1(passwordHashHash, ntResponse, AUTH_MAGIC1);
  const challenge = mschapV2ChallengeHash(peerChallenge, authenticatorChallenge, userName);
  return `S=${sha1(digest, challenge, AUTH_MAGIC2).toString("hex").toUpperCase()}`;
}

/** MPPE keys for one MS-CHAPv2 authentication, all 16 bytes (128-bit keys). */
export interface MppeKeys {
  /** RFC 3079 §3.4 GetMasterKey. */
  masterKey: Buffer;
  /** The server's (authenticator's) send key: RADIUS MS-MPPE-Send-Key. */
  sendKey: Buffer;
  /** The server's (authenticator's) receive key: RADIUS MS-MPPE-Recv-Key. */
  receiveKey: Buffer;
}

/** RFC 3079 §3.4 GetAsymmetricStartKey for a 128-bit key. */
function asymmetricStartKey(masterKey: Buffer, isSend: boolean, isServer: boolean): Buffer {
  // Magic2 is the client's send key and the server's receive key; Magic3 the reverse.
  const magic = isSend === isServer ? MPPE_CLIENT_RECV_MAGIC : MPPE_CLIENT_SEND_MAGIC;
  return sha1(masterKey, SHS_PAD1, magic, SHS_PAD2).subarray(0, 16);
}

/**
 * RFC 3079 §3.3–3.4 128-bit MPPE keys from the password and the peer's 24-byte NT-Response,
 * from the server's side (so `sendKey` is what the NAS encrypts with).
 */
export function mppeMasterKeys(password: string, ntResponse: Buffer): MppeKeys {
  requireLength("ntResponse", ntResponse, 24);
  const passwordHashHash = hashNtPasswordHash(ntPasswordHash(password));
  const masterKey = sha1(passwordHashHash, ntResponse, MPPE_MASTER_MAGIC).subarray(0, 16);
  return {
    masterKey,
    sendKey: asymmetricStartKey(masterKey, true, true),
    receiveKey: asymmetricStartKey(masterKey, false, true),
  };
}
