// Body obfuscation (RFC 8907 §4.5): the body is XORed with a pad of chained MD5 digests keyed
// by the shared secret and the header's session_id, version and seq_no. XOR is its own
// inverse, so one function both hides and reveals a body. This is obfuscation, not
// encryption: it hides nothing from an attacker who knows some plaintext (§10).

import type { TacacsHeader } from "./header.ts";
import { md5Into } from "./md5.ts";

const MD5_LENGTH = 16;

type PadHeader = Pick<TacacsHeader, "sessionId" | "majorVersion" | "minorVersion" | "seqNo">;

/**
 * What each digest hashes: session_id, key, version, seq_no, then the previous digest, which
 * md5Into writes in place. Reused across calls (everything here is synchronous); grown for a
 * longer key.
 */
let input = new Uint8Array(64);

/**
 * Returns a new Buffer: `body` XOR pseudo_pad, where pseudo_pad is
 * MD5_1 = MD5{session_id, key, version, seq_no}, MD5_n = MD5{session_id, key, version,
 * seq_no, MD5_n-1}, concatenated and cut to the body's length. session_id is in network
 * order; version is the header's whole first octet (major << 4 | minor).
 */
export function obfuscate(body: Uint8Array, header: PadHeader, key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(body.length);
  obfuscateInto(body, header, key, out, 0);
  return out;
}

/** obfuscate, written to `out` from `outOffset` instead of a new Buffer (`out` may be `body`). */
export function obfuscateInto(body: Uint8Array, header: PadHeader, key: Uint8Array, out: Uint8Array, outOffset: number): void {
  const n = 4 + key.length + 2;
  if (input.length < n + MD5_LENGTH) input = new Uint8Array(n + MD5_LENGTH);
  const sessionId = header.sessionId >>> 0;
  input[0] = sessionId >>> 24;
  input[1] = (sessionId >>> 16) & 0xff;
  input[2] = (sessionId >>> 8) & 0xff;
  input[3] = sessionId & 0xff;
  input.set(key, 4);
  input[4 + key.length] = ((header.majorVersion & 0x0f) << 4) | (header.minorVersion & 0x0f);
  input[5 + key.length] = header.seqNo & 0xff;

  for (let offset = 0; offset < body.length; offset += MD5_LENGTH) {
    md5Into(input, offset === 0 ? n : n + MD5_LENGTH, input, n);
    const end = Math.min(offset + MD5_LENGTH, body.length);
    for (let i = offset; i < end; i++) out[outOffset + i] = body[i]! ^ input[n + i - offset]!;
  }
}
