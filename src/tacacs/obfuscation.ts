// Body obfuscation (RFC 8907 §4.5): the body is XORed with a pad of chained MD5 digests keyed
// by the shared secret and the header's session_id, version and seq_no. XOR is its own
// inverse, so one function both hides and reveals a body. This is obfuscation, not
// encryption: it hides nothing from an attacker who knows some plaintext (§10).

import { createHash } from "node:crypto";
import type { TacacsHeader } from "./header.ts";

const MD5_LENGTH = 16;

/**
 * Returns a new Buffer: `body` XOR pseudo_pad, where pseudo_pad is
 * MD5_1 = MD5{session_id, key, version, seq_no}, MD5_n = MD5{session_id, key, version,
 * seq_no, MD5_n-1}, concatenated and cut to the body's length. session_id is in network
 * order; version is the header's whole first octet (major << 4 | minor).
 */
export function obfuscate(
  body: Buffer,
  header: Pick<TacacsHeader, "sessionId" | "majorVersion" | "minorVersion" | "seqNo">,
  key: Buffer,
): Buffer {
  const prefix = Buffer.alloc(4 + key.length + 2);
  prefix.writeUInt32BE(header.sessionId >>> 0, 0);
  key.copy(prefix, 4);
  prefix[4 + key.length] = ((header.majorVersion & 0x0f) << 4) | (header.minorVersion & 0x0f);
  prefix[5 + key.length] = header.seqNo & 0xff;

  const out = Buffer.alloc(body.length);
  let previous: Buffer | undefined;
  for (let offset = 0; offset < body.length; offset += MD5_LENGTH) {
    const md5 = createHash("md5").update(prefix);
    if (previous) md5.update(previous);
    previous = md5.digest();
    const end = Math.min(offset + MD5_LENGTH, body.length);
    for (let i = offset; i < end; i++) out[i] = body[i]! ^ previous[i - offset]!;
  }
  return out;
}
