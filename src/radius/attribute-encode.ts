// Attribute values through the dictionary, name to wire: a name and a value -> wire
// attributes (encodeAttribute, for configured reply attributes and the CLI). Wraps vendor
// attributes in Vendor-Specific (RFC 2865 §5.26), adds tags (RFC 2868 §3.1), nests TLVs and
// builds the RFC 6929 extended and long-extended formats. Throws a readable error naming the
// attribute, because a value that does not fit here is a configuration mistake.

import {
  Attr,
  EXTENDED_TYPES,
  EXTENDED_VENDOR_SPECIFIC,
  LONG_EXTENDED_MORE,
  LONG_EXTENDED_TYPES,
  MAX_ATTRIBUTE_VALUE_LENGTH,
  MAX_TAG,
  VENDOR_ID_LENGTH,
} from "./constants.ts";
import { CONTAINER_TYPES, DEFAULT_VENDOR, FIXED_SIZE, WIMAX_MORE } from "./attribute-format.ts";
import { INTEGER_RANGES, INTEGER_TYPES } from "./dictionary.ts";
import type { AttributeDataType, AttributeDef, Dictionary, VendorDef } from "./dictionary.ts";
import type { RawAttribute } from "./packet.ts";
import {
  parseEther,
  parseHex,
  parseIfid,
  parseIntegerText,
  parseIpv4,
  parseIpv4Prefix,
  parseIpv6,
  parseIpv6Prefix,
} from "./values.ts";

/** RFC 6929 §2.2: Type, Length, Extended-Type, Flags precede each fragment's data. */
const LONG_EXTENDED_FRAGMENT = MAX_ATTRIBUTE_VALUE_LENGTH - 2;

export interface EncodeOptions {
  /** RFC 2868 tag, 0-31, for attributes with has_tag. */
  tag?: number;
}

type InputValue = string | number | bigint | Buffer;

function describe(value: InputValue): string {
  if (Buffer.isBuffer(value)) return `${value.length} octets`;
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

function fail(def: AttributeDef | string, message: string): never {
  throw new Error(`attribute "${typeof def === "string" ? def : def.name}": ${message}`);
}

function expected(def: AttributeDef, what: string, value: InputValue): never {
  fail(def, `expected ${what}, got ${describe(value)}`);
}

const INTEGER_WORDS: Partial<Record<AttributeDataType, string>> = {
  integer: "an integer",
  integer64: "a 64-bit integer",
  date: "a date (seconds since 1970 or an ISO 8601 time)",
  byte: "an integer 0-255",
  short: "an integer 0-65535",
  signed: "a signed 32-bit integer",
};

function integerWhat(def: AttributeDef): string {
  const base = INTEGER_WORDS[def.dataType] ?? "an integer";
  if (def.values.size === 0) return base;
  const names = [...def.values.keys()];
  const list = names.length <= 8 ? names.join(", ") : `${names.slice(0, 8).join(", ")}, ...`;
  return `${base} or one of ${list}`;
}

function encodeInteger(def: AttributeDef, value: InputValue): Buffer {
  let n: bigint | undefined;
  if (typeof value === "number") n = Number.isInteger(value) ? BigInt(value) : undefined;
  else if (typeof value === "bigint") n = value;
  else if (typeof value === "string") {
    const text = value.trim();
    const named = def.values.get(text) ?? [...def.values].find(([k]) => k.toLowerCase() === text.toLowerCase())?.[1];
    if (named !== undefined) n = BigInt(named);
    else n = parseIntegerText(text);
    if (n === undefined && def.dataType === "date" && text !== "") {
      const ms = Date.parse(text);
      if (!Number.isNaN(ms)) n = BigInt(Math.floor(ms / 1000));
    }
  }
  if (n === undefined) expected(def, integerWhat(def), value);
  const [min, max] = INTEGER_RANGES[def.dataType]!;
  // RFC 2868 §3.1: a tagged integer has 24 bits left for its value.
  const top = def.hasTag && def.dataType === "integer" ? 0xffffffn : max;
  if (n < min || n > top) fail(def, `${n} is out of range ${min}-${top}`);
  const size = FIXED_SIZE[def.dataType]!;
  const out = Buffer.alloc(size);
  if (def.dataType === "signed") out.writeInt32BE(Number(n));
  else if (size === 8) out.writeBigUInt64BE(n);
  else out.writeUIntBE(Number(n), 0, size);
  return out;
}

/** A value's octets (before tags, hiding and headers). */
function encodeValue(def: AttributeDef, value: InputValue): Buffer {
  if (Buffer.isBuffer(value)) {
    const size = FIXED_SIZE[def.dataType] ?? def.length;
    if (size !== undefined && value.length !== size) fail(def, `expected ${size} octets, got ${value.length}`);
    return Buffer.from(value);
  }
  const text = typeof value === "string" ? value.trim() : undefined;
  switch (def.dataType) {
    case "string":
      // Text is sent as written, spaces included.
      return Buffer.from(typeof value === "string" ? value : String(value), "utf8");
    case "octets":
    case "abinary": {
      if (typeof value !== "string") expected(def, 'octets ("0x..." hex or text)', value);
      const bytes = parseHex(value) ?? Buffer.from(value, "utf8");
      if (def.length !== undefined && bytes.length !== def.length) {
        fail(def, `expected ${def.length} octets, got ${bytes.length}`);
      }
      return bytes;
    }
    case "ipaddr":
      return (text !== undefined ? parseIpv4(text) : undefined) ?? expected(def, "an IPv4 address", value);
    case "ipv6addr":
      return (text !== undefined ? parseIpv6(text) : undefined) ?? expected(def, "an IPv6 address", value);
    case "combo-ip":
      return (
        (text !== undefined ? (parseIpv4(text) ?? parseIpv6(text)) : undefined) ??
        expected(def, "an IPv4 or IPv6 address", value)
      );
    case "ipv6prefix":
      return (
        (text !== undefined ? parseIpv6Prefix(text) : undefined) ??
        expected(def, 'an IPv6 prefix like "2001:db8::/32" with no bits set past its length', value)
      );
    case "ipv4prefix":
      return (
        (text !== undefined ? parseIpv4Prefix(text) : undefined) ??
        expected(def, 'an IPv4 prefix like "10.0.0.0/8" with no bits set past its length', value)
      );
    case "ether":
      return (text !== undefined ? parseEther(text) : undefined) ?? expected(def, 'an Ethernet address like "00:11:22:33:44:55"', value);
    case "ifid":
      return (text !== undefined ? parseIfid(text) : undefined) ?? expected(def, 'an interface id like "0011:22ff:fe33:4455"', value);
    case "integer":
    case "integer64":
    case "date":
    case "byte":
    case "short":
    case "signed":
      return encodeInteger(def, value);
    default:
      return fail(def, `is a ${def.dataType} container; encode its members instead`);
  }
}

/** Wraps `value` in TLV headers for each code of `path` (innermost last). */
function nestTlv(def: AttributeDef, path: number[], value: Buffer): Buffer {
  let out = value;
  for (let i = path.length - 1; i >= 0; i--) {
    if (out.length + 2 > 255) fail(def, `value is too long for a TLV (${out.length} octets)`);
    out = Buffer.concat([Buffer.from([path[i]!, out.length + 2]), out]);
  }
  return out;
}

function checkOctet(def: AttributeDef, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 255) fail(def, `${what} ${n} cannot be sent in a RADIUS packet`);
}

/** One top-level attribute, or several when `concat` allows splitting a long value. */
function plainAttributes(def: AttributeDef, type: number, value: Buffer): RawAttribute[] {
  if (value.length <= MAX_ATTRIBUTE_VALUE_LENGTH) return [{ type, value }];
  if (!def.concat) {
    fail(def, `value is ${value.length} octets; at most ${MAX_ATTRIBUTE_VALUE_LENGTH} fit in one attribute`);
  }
  const out: RawAttribute[] = [];
  for (let i = 0; i < value.length; i += MAX_ATTRIBUTE_VALUE_LENGTH) {
    out.push({ type, value: value.subarray(i, i + MAX_ATTRIBUTE_VALUE_LENGTH) });
  }
  return out;
}

/** RFC 6929 containers: one extended attribute, or long-extended fragments with the More flag. */
function extendedAttributes(def: AttributeDef, container: number, extType: number, data: Buffer): RawAttribute[] {
  if (EXTENDED_TYPES.has(container)) {
    if (data.length + 1 > MAX_ATTRIBUTE_VALUE_LENGTH) {
      fail(def, `value is ${data.length} octets; at most ${MAX_ATTRIBUTE_VALUE_LENGTH - 1} fit in an extended attribute`);
    }
    return [{ type: container, value: Buffer.concat([Buffer.from([extType]), data]) }];
  }
  const out: RawAttribute[] = [];
  let off = 0;
  do {
    const chunk = data.subarray(off, off + LONG_EXTENDED_FRAGMENT);
    off += chunk.length;
    const flags = off < data.length ? LONG_EXTENDED_MORE : 0;
    out.push({ type: container, value: Buffer.concat([Buffer.from([extType, flags]), chunk]) });
  } while (off < data.length);
  return out;
}

/** Vendor-Specific attributes carrying one sub-attribute (split only for continuation vendors). */
function vendorAttributes(def: AttributeDef, vendor: Omit<VendorDef, "name">, data: Buffer): RawAttribute[] {
  const type = def.oid[0]!;
  const maxType = vendor.typeSize === 4 ? 0xffffffff : vendor.typeSize === 2 ? 0xffff : 0xff;
  if (type > maxType) fail(def, `vendor type ${type} does not fit the vendor's ${vendor.typeSize}-octet type field`);
  const header = vendor.typeSize + vendor.lengthSize + (vendor.continuation ? 1 : 0);
  const room = MAX_ATTRIBUTE_VALUE_LENGTH - VENDOR_ID_LENGTH - header;
  if (data.length > room && !vendor.continuation) {
    fail(def, `value is ${data.length} octets; at most ${room} fit in a Vendor-Specific attribute`);
  }
  const out: RawAttribute[] = [];
  let off = 0;
  do {
    const chunk = data.subarray(off, off + room);
    off += chunk.length;
    const h = Buffer.alloc(VENDOR_ID_LENGTH + header);
    h.writeUInt32BE(vendor.id, 0);
    h.writeUIntBE(type, VENDOR_ID_LENGTH, vendor.typeSize);
    if (vendor.lengthSize > 0) h.writeUIntBE(header + chunk.length, VENDOR_ID_LENGTH + vendor.typeSize, vendor.lengthSize);
    if (vendor.continuation) h[h.length - 1] = off < data.length ? WIMAX_MORE : 0;
    out.push({ type: Attr.VendorSpecific, value: Buffer.concat([h, chunk]) });
  } while (off < data.length);
  return out;
}

/**
 * The wire attributes for one dictionary attribute and value. Values: text for string;
 * Buffers, "0x..." hex or text for octets; numbers, bigints, numeric text or VALUE names
 * (case-insensitive) for integer types; "1.2.3.4"; "2001:db8::1"; "2001:db8::/64";
 * "aa:bb:cc:dd:ee:ff"; a Buffer of the exact size for any fixed-size type. Vendor attributes
 * come wrapped in Vendor-Specific, extended ones in their RFC 6929 container. Encrypted
 * attributes come out in cleartext (Tunnel-Password with its tag octet); message.ts hides them.
 * Throws an Error naming the attribute on an unknown name or a value that does not fit.
 */
export function encodeAttribute(
  dict: Dictionary,
  name: string,
  value: string | number | bigint | Buffer,
  opts: EncodeOptions = {},
): RawAttribute[] {
  const def = dict.attribute(name);
  if (!def) fail(name, "no such attribute in the dictionary");
  if (CONTAINER_TYPES.has(def.dataType)) fail(def, `is a ${def.dataType} container; encode its members instead`);

  let data = encodeValue(def, value);
  if (data.length === 0 && def.encrypt === 0) {
    // RFC 8044 §3.4/§3.5: zero-length text and octets must not be sent.
    fail(def, "an empty value cannot be sent; leave the attribute out instead");
  }

  if (opts.tag !== undefined) {
    if (!def.hasTag) fail(def, "does not take a tag");
    if (!Number.isInteger(opts.tag) || opts.tag < 0 || opts.tag > MAX_TAG) fail(def, `tag ${opts.tag} is not 0-31`);
  }
  if (def.hasTag) {
    const tag = opts.tag ?? 0;
    if (INTEGER_TYPES.has(def.dataType)) {
      data[0] = tag; // encodeInteger left the top octet free
    } else if (opts.tag !== undefined || def.encrypt === 2 || (data.length > 0 && data[0]! <= MAX_TAG)) {
      // Salted values always carry the tag octet; text only needs one when given, or when its
      // first octet would otherwise be read as a tag.
      data = Buffer.concat([Buffer.from([tag]), data]);
    }
  }

  if (def.evsContainer !== undefined) {
    const head = Buffer.alloc(VENDOR_ID_LENGTH + 1);
    head.writeUInt32BE(def.vendorId, 0);
    checkOctet(def, def.oid[0]!, "vendor type");
    head[VENDOR_ID_LENGTH] = def.oid[0]!;
    const body = Buffer.concat([head, nestTlv(def, def.oid.slice(1), data)]);
    return extendedAttributes(def, def.evsContainer, EXTENDED_VENDOR_SPECIFIC, body);
  }
  if (def.vendorId !== 0) {
    const vendor = dict.vendor(def.vendorId) ?? { ...DEFAULT_VENDOR, id: def.vendorId };
    return vendorAttributes(def, vendor, nestTlv(def, def.oid.slice(1), data));
  }
  const top = def.oid[0]!;
  checkOctet(def, top, "type");
  if (def.oid.length === 1) return plainAttributes(def, top, data);
  if (EXTENDED_TYPES.has(top) || LONG_EXTENDED_TYPES.has(top)) {
    checkOctet(def, def.oid[1]!, "extended type");
    return extendedAttributes(def, top, def.oid[1]!, nestTlv(def, def.oid.slice(2), data));
  }
  const nested = nestTlv(def, def.oid.slice(1), data);
  if (nested.length > MAX_ATTRIBUTE_VALUE_LENGTH) fail(def, `value is too long (${nested.length} octets)`);
  return [{ type: top, value: nested }];
}
