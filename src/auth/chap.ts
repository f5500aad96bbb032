// CHAP (RFC 1994) response check, shared by the TACACS+ server and anyone else who receives
// an id, a challenge and a response: MD5(id || password || challenge).

import { createHash, timingSafeEqual } from "node:crypto";

export function chapMatches(id: number, challenge: Buffer, response: Buffer, password: Buffer): boolean {
  if (response.length !== 16) return false;
  const expected = createHash("md5").update(Buffer.from([id])).update(password).update(challenge).digest();
  return timingSafeEqual(expected, response);
}
