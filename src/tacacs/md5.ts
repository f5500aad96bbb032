// MD5 (RFC 1321) in JavaScript, for the obfuscation pad (obfuscation.ts): one digest per 16
// octets of every body, each over twenty-odd octets. node:crypto costs a Hash object and a call
// into C++ per digest, several times the hashing of so short a message (about 2.8 µs a digest
// against 0.3 µs here, with the steps written out; 0.65 µs as a loop over tables). MD5 is what RFC 8907 section 4.5 prescribes, not a choice of ours; nothing
// else should use this: node:crypto is the right tool for anything long or security-relevant.

/** The chaining state between blocks. */
const H = new Int32Array(4);
/** The message's last, partial block and its padding: at most two blocks. */
const tail = new Uint8Array(128);

const word = (m: Uint8Array, p: number): number => m[p]! | (m[p + 1]! << 8) | (m[p + 2]! << 16) | (m[p + 3]! << 24);

/**
 * One 64-octet block at `at` into H (RFC 1321 section 3.4): the 64 steps written out, each
 * a = b + ((a + F(b, c, d) + X[k] + T[i]) <<< s), with T[i] as an int32.
 */
function compress(block: Uint8Array, at: number): void {
  const w0 = word(block, at);
  const w1 = word(block, at + 4);
  const w2 = word(block, at + 8);
  const w3 = word(block, at + 12);
  const w4 = word(block, at + 16);
  const w5 = word(block, at + 20);
  const w6 = word(block, at + 24);
  const w7 = word(block, at + 28);
  const w8 = word(block, at + 32);
  const w9 = word(block, at + 36);
  const w10 = word(block, at + 40);
  const w11 = word(block, at + 44);
  const w12 = word(block, at + 48);
  const w13 = word(block, at + 52);
  const w14 = word(block, at + 56);
  const w15 = word(block, at + 60);
  let a = H[0]!;
  let b = H[1]!;
  let c = H[2]!;
  let d = H[3]!;
  let x: number;
  x = (a + ((b & c) | (~b & d)) + w0 + -680876936) | 0;
  a = (b + ((x << 7) | (x >>> 25))) | 0;
  x = (d + ((a & b) | (~a & c)) + w1 + -389564586) | 0;
  d = (a + ((x << 12) | (x >>> 20))) | 0;
  x = (c + ((d & a) | (~d & b)) + w2 + 606105819) | 0;
  c = (d + ((x << 17) | (x >>> 15))) | 0;
  x = (b + ((c & d) | (~c & a)) + w3 + -1044525330) | 0;
  b = (c + ((x << 22) | (x >>> 10))) | 0;
  x = (a + ((b & c) | (~b & d)) + w4 + -176418897) | 0;
  a = (b + ((x << 7) | (x >>> 25))) | 0;
  x = (d + ((a & b) | (~a & c)) + w5 + 1200080426) | 0;
  d = (a + ((x << 12) | (x >>> 20))) | 0;
  x = (c + ((d & a) | (~d & b)) + w6 + -1473231341) | 0;
  c = (d + ((x << 17) | (x >>> 15))) | 0;
  x = (b + ((c & d) | (~c & a)) + w7 + -45705983) | 0;
  b = (c + ((x << 22) | (x >>> 10))) | 0;
  x = (a + ((b & c) | (~b & d)) + w8 + 1770035416) | 0;
  a = (b + ((x << 7) | (x >>> 25))) | 0;
  x = (d + ((a & b) | (~a & c)) + w9 + -1958414417) | 0;
  d = (a + ((x << 12) | (x >>> 20))) | 0;
  x = (c + ((d & a) | (~d & b)) + w10 + -42063) | 0;
  c = (d + ((x << 17) | (x >>> 15))) | 0;
  x = (b + ((c & d) | (~c & a)) + w11 + -1990404162) | 0;
  b = (c + ((x << 22) | (x >>> 10))) | 0;
  x = (a + ((b & c) | (~b & d)) + w12 + 1804603682) | 0;
  a = (b + ((x << 7) | (x >>> 25))) | 0;
  x = (d + ((a & b) | (~a & c)) + w13 + -40341101) | 0;
  d = (a + ((x << 12) | (x >>> 20))) | 0;
  x = (c + ((d & a) | (~d & b)) + w14 + -1502002290) | 0;
  c = (d + ((x << 17) | (x >>> 15))) | 0;
  x = (b + ((c & d) | (~c & a)) + w15 + 1236535329) | 0;
  b = (c + ((x << 22) | (x >>> 10))) | 0;
  x = (a + ((b & d) | (c & ~d)) + w1 + -165796510) | 0;
  a = (b + ((x << 5) | (x >>> 27))) | 0;
  x = (d + ((a & c) | (b & ~c)) + w6 + -1069501632) | 0;
  d = (a + ((x << 9) | (x >>> 23))) | 0;
  x = (c + ((d & b) | (a & ~b)) + w11 + 643717713) | 0;
  c = (d + ((x << 14) | (x >>> 18))) | 0;
  x = (b + ((c & a) | (d & ~a)) + w0 + -373897302) | 0;
  b = (c + ((x << 20) | (x >>> 12))) | 0;
  x = (a + ((b & d) | (c & ~d)) + w5 + -701558691) | 0;
  a = (b + ((x << 5) | (x >>> 27))) | 0;
  x = (d + ((a & c) | (b & ~c)) + w10 + 38016083) | 0;
  d = (a + ((x << 9) | (x >>> 23))) | 0;
  x = (c + ((d & b) | (a & ~b)) + w15 + -660478335) | 0;
  c = (d + ((x << 14) | (x >>> 18))) | 0;
  x = (b + ((c & a) | (d & ~a)) + w4 + -405537848) | 0;
  b = (c + ((x << 20) | (x >>> 12))) | 0;
  x = (a + ((b & d) | (c & ~d)) + w9 + 568446438) | 0;
  a = (b + ((x << 5) | (x >>> 27))) | 0;
  x = (d + ((a & c) | (b & ~c)) + w14 + -1019803690) | 0;
  d = (a + ((x << 9) | (x >>> 23))) | 0;
  x = (c + ((d & b) | (a & ~b)) + w3 + -187363961) | 0;
  c = (d + ((x << 14) | (x >>> 18))) | 0;
  x = (b + ((c & a) | (d & ~a)) + w8 + 1163531501) | 0;
  b = (c + ((x << 20) | (x >>> 12))) | 0;
  x = (a + ((b & d) | (c & ~d)) + w13 + -1444681467) | 0;
  a = (b + ((x << 5) | (x >>> 27))) | 0;
  x = (d + ((a & c) | (b & ~c)) + w2 + -51403784) | 0;
  d = (a + ((x << 9) | (x >>> 23))) | 0;
  x = (c + ((d & b) | (a & ~b)) + w7 + 1735328473) | 0;
  c = (d + ((x << 14) | (x >>> 18))) | 0;
  x = (b + ((c & a) | (d & ~a)) + w12 + -1926607734) | 0;
  b = (c + ((x << 20) | (x >>> 12))) | 0;
  x = (a + (b ^ c ^ d) + w5 + -378558) | 0;
  a = (b + ((x << 4) | (x >>> 28))) | 0;
  x = (d + (a ^ b ^ c) + w8 + -2022574463) | 0;
  d = (a + ((x << 11) | (x >>> 21))) | 0;
  x = (c + (d ^ a ^ b) + w11 + 1839030562) | 0;
  c = (d + ((x << 16) | (x >>> 16))) | 0;
  x = (b + (c ^ d ^ a) + w14 + -35309556) | 0;
  b = (c + ((x << 23) | (x >>> 9))) | 0;
  x = (a + (b ^ c ^ d) + w1 + -1530992060) | 0;
  a = (b + ((x << 4) | (x >>> 28))) | 0;
  x = (d + (a ^ b ^ c) + w4 + 1272893353) | 0;
  d = (a + ((x << 11) | (x >>> 21))) | 0;
  x = (c + (d ^ a ^ b) + w7 + -155497632) | 0;
  c = (d + ((x << 16) | (x >>> 16))) | 0;
  x = (b + (c ^ d ^ a) + w10 + -1094730640) | 0;
  b = (c + ((x << 23) | (x >>> 9))) | 0;
  x = (a + (b ^ c ^ d) + w13 + 681279174) | 0;
  a = (b + ((x << 4) | (x >>> 28))) | 0;
  x = (d + (a ^ b ^ c) + w0 + -358537222) | 0;
  d = (a + ((x << 11) | (x >>> 21))) | 0;
  x = (c + (d ^ a ^ b) + w3 + -722521979) | 0;
  c = (d + ((x << 16) | (x >>> 16))) | 0;
  x = (b + (c ^ d ^ a) + w6 + 76029189) | 0;
  b = (c + ((x << 23) | (x >>> 9))) | 0;
  x = (a + (b ^ c ^ d) + w9 + -640364487) | 0;
  a = (b + ((x << 4) | (x >>> 28))) | 0;
  x = (d + (a ^ b ^ c) + w12 + -421815835) | 0;
  d = (a + ((x << 11) | (x >>> 21))) | 0;
  x = (c + (d ^ a ^ b) + w15 + 530742520) | 0;
  c = (d + ((x << 16) | (x >>> 16))) | 0;
  x = (b + (c ^ d ^ a) + w2 + -995338651) | 0;
  b = (c + ((x << 23) | (x >>> 9))) | 0;
  x = (a + (c ^ (b | ~d)) + w0 + -198630844) | 0;
  a = (b + ((x << 6) | (x >>> 26))) | 0;
  x = (d + (b ^ (a | ~c)) + w7 + 1126891415) | 0;
  d = (a + ((x << 10) | (x >>> 22))) | 0;
  x = (c + (a ^ (d | ~b)) + w14 + -1416354905) | 0;
  c = (d + ((x << 15) | (x >>> 17))) | 0;
  x = (b + (d ^ (c | ~a)) + w5 + -57434055) | 0;
  b = (c + ((x << 21) | (x >>> 11))) | 0;
  x = (a + (c ^ (b | ~d)) + w12 + 1700485571) | 0;
  a = (b + ((x << 6) | (x >>> 26))) | 0;
  x = (d + (b ^ (a | ~c)) + w3 + -1894986606) | 0;
  d = (a + ((x << 10) | (x >>> 22))) | 0;
  x = (c + (a ^ (d | ~b)) + w10 + -1051523) | 0;
  c = (d + ((x << 15) | (x >>> 17))) | 0;
  x = (b + (d ^ (c | ~a)) + w1 + -2054922799) | 0;
  b = (c + ((x << 21) | (x >>> 11))) | 0;
  x = (a + (c ^ (b | ~d)) + w8 + 1873313359) | 0;
  a = (b + ((x << 6) | (x >>> 26))) | 0;
  x = (d + (b ^ (a | ~c)) + w15 + -30611744) | 0;
  d = (a + ((x << 10) | (x >>> 22))) | 0;
  x = (c + (a ^ (d | ~b)) + w6 + -1560198380) | 0;
  c = (d + ((x << 15) | (x >>> 17))) | 0;
  x = (b + (d ^ (c | ~a)) + w13 + 1309151649) | 0;
  b = (c + ((x << 21) | (x >>> 11))) | 0;
  x = (a + (c ^ (b | ~d)) + w4 + -145523070) | 0;
  a = (b + ((x << 6) | (x >>> 26))) | 0;
  x = (d + (b ^ (a | ~c)) + w11 + -1120210379) | 0;
  d = (a + ((x << 10) | (x >>> 22))) | 0;
  x = (c + (a ^ (d | ~b)) + w2 + 718787259) | 0;
  c = (d + ((x << 15) | (x >>> 17))) | 0;
  x = (b + (d ^ (c | ~a)) + w9 + -343485551) | 0;
  b = (c + ((x << 21) | (x >>> 11))) | 0;
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
  // Loops rather than set(subarray) and fill: no view object per digest, and rest < 64.
  for (let i = 0; i < rest; i++) tail[i] = message[whole + i]!;
  tail[rest] = 0x80;
  const end = rest < 56 ? 64 : 128;
  for (let i = rest + 1; i < end - 8; i++) tail[i] = 0;
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
