// Attribute value formats (RFC 2865 §5, RFC 8044): reading raw value octets into JS values
// and writing JS values back to octets. Readers never throw: a value of the wrong length or
// shape reads as undefined, because wire input is never trusted. Writers return undefined on
// input they cannot represent, and the caller (attributes.ts) turns that into a readable error.

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A 32-bit unsigned integer (RFC 8044 §3.1), or undefined unless exactly 4 octets. */
export function readInteger(buf: Buffer): number | undefined {
  return buf.length === 4 ? buf.readUInt32BE(0) : undefined;
}

/** A 64-bit unsigned integer (RFC 8044 §3.2), or undefined unless exactly 8 octets. */
export function readInteger64(buf: Buffer): bigint | undefined {
  return buf.length === 8 ? buf.readBigUInt64BE(0) : undefined;
}

/** A 32-bit signed integer, or undefined unless exactly 4 octets. */
export function readSigned(buf: Buffer): number | undefined {
  return buf.length === 4 ? buf.readInt32BE(0) : undefined;
}

/**
 * UTF-8 text (RFC 8044 §3.5), or undefined when the octets are not valid UTF-8: callers that
 * must show every value anyway fall back to hex instead of inventing replacement characters.
 */
export function readText(buf: Buffer): string | undefined {
  try {
    return utf8.decode(buf);
  } catch {
    return undefined;
  }
}

/** An IPv4 address as "a.b.c.d", or undefined unless exactly 4 octets. */
export function readIpv4(buf: Buffer): string | undefined {
  if (buf.length !== 4) return undefined;
  return `${buf[0]}.${buf[1]}.${buf[2]}.${buf[3]}`;
}

/** An IPv6 address in RFC 5952 canonical text, or undefined unless exactly 16 octets. */
export function readIpv6(buf: Buffer): string | undefined {
  if (buf.length !== 16) return undefined;
  return formatIpv6(buf);
}

/**
 * An IPv6 prefix (RFC 3162 §2.3, RFC 8044 §3.10): reserved octet, prefix length, then up to 16
 * prefix octets. Read as "addr/len". Fewer prefix octets than the length needs are zero-filled,
 * as senders may omit trailing zero octets.
 */
export function readIpv6Prefix(buf: Buffer): string | undefined {
  if (buf.length < 2 || buf.length > 18) return undefined;
  const bits = buf[1]!;
  if (bits > 128) return undefined;
  const addr = Buffer.alloc(16);
  buf.copy(addr, 0, 2);
  return `${formatIpv6(addr)}/${bits}`;
}

/** An IPv4 prefix (RFC 6572 §3.4, RFC 8044 §3.11): reserved, length, 4 octets. "a.b.c.d/len". */
export function readIpv4Prefix(buf: Buffer): string | undefined {
  if (buf.length !== 6) return undefined;
  const bits = buf[1]!;
  if (bits > 32) return undefined;
  return `${readIpv4(buf.subarray(2))!}/${bits}`;
}

/** An Ethernet address "aa:bb:cc:dd:ee:ff", or undefined unless exactly 6 octets. */
export function readEther(buf: Buffer): string | undefined {
  if (buf.length !== 6) return undefined;
  return [...buf].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

/** An IPv6 interface id (RFC 3162 §2.1) "xxxx:xxxx:xxxx:xxxx", or undefined unless 8 octets. */
export function readIfid(buf: Buffer): string | undefined {
  if (buf.length !== 8) return undefined;
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push(buf.readUInt16BE(i).toString(16).padStart(4, "0"));
  return groups.join(":");
}

/** "0x" followed by lower-case hex: the display form of octets. */
export function hexOf(buf: Buffer): string {
  return `0x${buf.toString("hex")}`;
}

function formatIpv6(addr: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(addr.readUInt16BE(i));
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted quad.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${readIpv4(addr.subarray(12))!}`;
  }
  // RFC 5952 §4.2: shorten the longest run (the first of equal runs) of two or more zero groups.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

// ---- writers ----------------------------------------------------------------------------

/** "a.b.c.d" with each part 0-255 and no leading zeros (which some parsers read as octal). */
export function parseIpv4(text: string): Buffer | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** Any RFC 4291 §2.2 text form (with "::" and a trailing dotted quad); no zone ids. */
export function parseIpv6(text: string): Buffer | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIpv4(piece);
        if (!v4) return undefined;
        out.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined;
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  // A dotted quad may only end the address.
  if (halves.length === 2 && halves[0]!.includes(".")) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    if (head.length !== 8) return undefined;
    groups = head;
  }
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** Splits "addr/len"; a missing "/len" means a host prefix of `maxBits`. */
function splitPrefix(text: string, maxBits: number): { addr: string; bits: number } | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return { addr: text, bits: maxBits };
  const bitsText = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > maxBits) return undefined;
  return { addr: text.slice(0, slash), bits };
}

/** True when no bit at or after position `bits` is set (RFC 8044 §3.10: they MUST be zero). */
function onlyPrefixBits(addr: Buffer, bits: number): boolean {
  for (let i = 0; i < addr.length * 8; i++) {
    if (i >= bits && (addr[i >> 3]! & (0x80 >> (i & 7))) !== 0) return false;
  }
  return true;
}

/**
 * "2001:db8::/64" -> reserved 0, length, and only the octets the prefix needs (RFC 3162 §2.3
 * lets the prefix field be shorter than 16 octets). Undefined if bits past the length are set.
 */
export function parseIpv6Prefix(text: string): Buffer | undefined {
  const parts = splitPrefix(text, 128);
  if (!parts) return undefined;
  const addr = parseIpv6(parts.addr);
  if (!addr || !onlyPrefixBits(addr, parts.bits)) return undefined;
  return Buffer.concat([Buffer.from([0, parts.bits]), addr.subarray(0, Math.ceil(parts.bits / 8))]);
}

/** "10.0.0.0/8" -> reserved 0, length, 4 address octets (RFC 8044 §3.11). */
export function parseIpv4Prefix(text: string): Buffer | undefined {
  const parts = splitPrefix(text, 32);
  if (!parts) return undefined;
  const addr = parseIpv4(parts.addr);
  if (!addr || !onlyPrefixBits(addr, parts.bits)) return undefined;
  return Buffer.concat([Buffer.from([0, parts.bits]), addr]);
}

/** "aa:bb:cc:dd:ee:ff", "aa-bb-cc-dd-ee-ff" or 12 bare hex digits. */
export function parseEther(text: string): Buffer | undefined {
  const bare = /^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(text) ? text.replace(/[:-]/g, "") : text;
  if (!/^[0-9a-fA-F]{12}$/.test(bare)) return undefined;
  return Buffer.from(bare, "hex");
}

/** "xxxx:xxxx:xxxx:xxxx" (each group 1-4 hex digits). */
export function parseIfid(text: string): Buffer | undefined {
  const groups = text.split(":");
  if (groups.length !== 4 || !groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const out = Buffer.alloc(8);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** "0x" + an even number of hex digits. */
export function parseHex(text: string): Buffer | undefined {
  if (!/^0[xX]([0-9a-fA-F]{2})*$/.test(text)) return undefined;
  return Buffer.from(text.slice(2), "hex");
}

/** Decimal or 0x-hex integer text, as a bigint so 64-bit values keep every digit. */
export function parseIntegerText(text: string): bigint | undefined {
  if (/^-?[0-9]+$/.test(text)) return BigInt(text);
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return BigInt(text);
  return undefined;
}
