// MD5 (RFC 1321) in JavaScript, for the obfuscation pad (obfuscation.ts): one digest per 16
// octets of every body, each over twenty-odd octets. node:crypto costs a Hash object and a call
// into C++ per digest, several times the hashing of so short a message (about 2.5 µs against
// 0.5 µs here). MD5 is what RFC 8907 section 4.5 prescribes, not a choice of ours; nothing
// else should use this: node:crypto is the right tool for anything long or security-relevant.

/** Per-step additive constants: floor(abs(sin(i + 1)) * 2^32). */
const K = Int32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);
/** Per-step left rotations: four per round, repeating. */
const R = Uint8Array.from([7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]);

/** The block being compressed, as 16 little-endian words. */
const W = new Int32Array(16);
/** The chaining state between blocks. */
const H = new Int32Array(4);
/** The message's last, partial block and its padding: at most two blocks. */
const tail = new Uint8Array(128);

function compress(block: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++) {
    const p = at + 4 * i;
    W[i] = block[p]! | (block[p + 1]! << 8) | (block[p + 2]! << 16) | (block[p + 3]! << 24);
  }
  let a = H[0]!;
  let b = H[1]!;
  let c = H[2]!;
  let d = H[3]!;
  for (let i = 0; i < 64; i++) {
    let f: number;
    let g: number;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) & 15;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) & 15;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) & 15;
    }
    const x = (a + f + K[i]! + W[g]!) | 0;
    const s = R[((i >> 4) << 2) | (i & 3)]!;
    a = d;
    d = c;
    c = b;
    b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
}

/**
 * Writes MD5 of `message[0, length)` to `out[outOffset, outOffset + 16)`. `out` may be
 * `message` itself, even overlapping the input: the digest is written after the input is read.
 */
export function md5Into(message: Uint8Array, length: number, out: Uint8Array, outOffset: number): void {
  H[0] = 0x67452301;
  H[1] = 0xefcdab89 | 0;
  H[2] = 0x98badcfe | 0;
  H[3] = 0x10325476;
  const whole = length & ~63;
  for (let at = 0; at < whole; at += 64) compress(message, at);
  // The rest, 0x80, zeros, and the length in bits as 64 bits little-endian: one or two blocks.
  const rest = length - whole;
  tail.set(message.subarray(whole, length));
  tail[rest] = 0x80;
  const end = rest < 56 ? 64 : 128;
  tail.fill(0, rest + 1, end - 8);
  const bitsLow = (length * 8) >>> 0;
  const bitsHigh = Math.floor(length / 0x20000000) >>> 0;
  for (let i = 0; i < 4; i++) {
    tail[end - 8 + i] = (bitsLow >>> (8 * i)) & 0xff;
    tail[end - 4 + i] = (bitsHigh >>> (8 * i)) & 0xff;
  }
  compress(tail, 0);
  if (end === 128) compress(tail, 64);
  for (let w = 0; w < 4; w++) {
    const h = H[w]!;
    const p = outOffset + 4 * w;
    out[p] = h & 0xff;
    out[p + 1] = (h >>> 8) & 0xff;
    out[p + 2] = (h >>> 16) & 0xff;
    out[p + 3] = (h >>> 24) & 0xff;
  }
}
