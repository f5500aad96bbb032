// MD4 message digest (RFC 1320) in pure TypeScript, for MS-CHAP's NT password hash.
// OpenSSL 3 moved MD4 to its "legacy" provider, so `createHash("md4")` usually throws on
// Node 20; MS-CHAP only ever hashes short inputs, so a small, obviously-correct
// implementation is all that is needed. MD4 is broken as a general hash: use it only where
// a protocol demands it.

const INIT = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476] as const;
const ROUND2 = 0x5a827999;
const ROUND3 = 0x6ed9eba1;

/** Message-word order and per-step rotations for each of the three rounds (RFC 1320 §3.4). */
const ORDER2 = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15] as const;
const ORDER3 = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15] as const;
const SHIFT1 = [3, 7, 11, 19] as const;
const SHIFT2 = [3, 5, 9, 13] as const;
const SHIFT3 = [3, 9, 11, 15] as const;

function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n));
}

/** Pads per RFC 1320 §3.1–3.2: a 1 bit, zeros to 56 mod 64 bytes, then the bit length (LE, 64 bits). */
function pad(data: Uint8Array): Buffer {
  const padded = Buffer.alloc((((data.length + 8) >> 6) + 1) * 64);
  padded.set(data);
  padded[data.length] = 0x80;
  const bits = data.length * 8;
  padded.writeUInt32LE(bits >>> 0, padded.length - 8);
  padded.writeUInt32LE(Math.floor(bits / 0x100000000), padded.length - 4);
  return padded;
}

/** MD4 digest (16 bytes) of `data`. */
export function md4(data: Uint8Array): Buffer {
  const msg = pad(data);
  const state: number[] = [...INIT];
  const x = new Array<number>(16);
  for (let block = 0; block < msg.length; block += 64) {
    for (let i = 0; i < 16; i++) x[i] = msg.readInt32LE(block + i * 4);
    let [a, b, c, d] = state as [number, number, number, number];
    for (let i = 0; i < 16; i++) {
      // Round 1: F(x,y,z) = xy v (not x)z, words in order.
      const t = rotl((a + ((b & c) | (~b & d)) + x[i]!) | 0, SHIFT1[i & 3]!);
      [a, b, c, d] = [d, t, b, c];
    }
    for (let i = 0; i < 16; i++) {
      // Round 2: G(x,y,z) = majority, plus the sqrt(2) constant.
      const g = (b & c) | (b & d) | (c & d);
      const t = rotl((a + g + x[ORDER2[i]!]! + ROUND2) | 0, SHIFT2[i & 3]!);
      [a, b, c, d] = [d, t, b, c];
    }
    for (let i = 0; i < 16; i++) {
      // Round 3: H(x,y,z) = parity, plus the sqrt(3) constant.
      const t = rotl((a + (b ^ c ^ d) + x[ORDER3[i]!]! + ROUND3) | 0, SHIFT3[i & 3]!);
      [a, b, c, d] = [d, t, b, c];
    }
    state[0] = (state[0]! + a) | 0;
    state[1] = (state[1]! + b) | 0;
    state[2] = (state[2]! + c) | 0;
    state[3] = (state[3]! + d) | 0;
  }
  const out = Buffer.alloc(16);
  state.forEach((word, i) => out.writeInt32LE(word, i * 4));
  return out;
}
