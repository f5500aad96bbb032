// Attribute values through the dictionary: raw wire attributes -> named display values
// (decodeAttributes, for logs and accounting records) and a name + value -> wire attributes
// (encodeAttribute, for configured reply attributes). Handles Vendor-Specific (RFC 2865
// §5.26), tags (RFC 2868 §3.1), TLVs, and the RFC 6929 extended and long-extended formats
// including Extended-Vendor-Specific. Decoding never throws: what cannot be read is shown as
// "0x" + hex. Encoding throws a readable error, because a bad value there is configuration.

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
import { unhideTunnelPassword, unhideUserPassword } from "./crypto.ts";
import type { AttributeDataType, AttributeDef, Dictionary, VendorDef } from "./dictionary.ts";
import type { RawAttribute } from "./packet.ts";
import {
  hexOf,
  parseEther,
  parseHex,
  parseIfid,
  parseIntegerText,
  parseIpv4,
  parseIpv4Prefix,
  parseIpv6,
  parseIpv6Prefix,
  readEther,
  readIfid,
  readInteger64,
  readIpv4,
  readIpv4Prefix,
  readIpv6,
  readIpv6Prefix,
  readText,
} from "./values.ts";

/** One attribute in display form; JSON-safe, so it can go straight into a record or a log. */
export interface DecodedAttribute {
  name: string;
  value: string | number;
  tag?: number;
}

export interface DecodeOptions {
  /** With both, User-Password and Tunnel-Password style values are shown in clear. */
  secret?: Buffer;
  /** The Request Authenticator the values were hidden with (for a reply: its request's). */
  authenticator?: Buffer;
}

/** RFC 2865 §5.26: the format of Vendor-Specific when the vendor is not in the dictionary. */
const DEFAULT_VENDOR: Omit<VendorDef, "name" | "id"> = { typeSize: 1, lengthSize: 1, continuation: false };
/** RFC 6929 §2.2: Type, Length, Extended-Type, Flags precede each fragment's data. */
const LONG_EXTENDED_FRAGMENT = MAX_ATTRIBUTE_VALUE_LENGTH - 2;
const WIMAX_MORE = 0x80;

const FIXED_SIZE: Partial<Record<AttributeDataType, number>> = {
  ipaddr: 4,
  ipv6addr: 16,
  integer: 4,
  integer64: 8,
  date: 4,
  byte: 1,
  short: 2,
  signed: 4,
  ether: 6,
  ifid: 8,
  ipv4prefix: 6,
};

const INTEGER_TYPES: ReadonlySet<AttributeDataType> = new Set<AttributeDataType>([
  "integer", "integer64", "date", "byte", "short", "signed",
]);

const CONTAINER_TYPES: ReadonlySet<AttributeDataType> = new Set<AttributeDataType>([
  "tlv", "vsa", "extended", "long-extended", "evs",
]);

// ---- decoding ---------------------------------------------------------------------------

/** Where an attribute sits: enough to look it up and to name it when the dictionary cannot. */
interface Place {
  vendorId: number;
  oid: number[];
  evsContainer?: number;
}

function unknownName(place: Place): string {
  const path = place.oid.join(".");
  if (place.evsContainer !== undefined) return `Attr-${place.evsContainer}.26.${place.vendorId}.${path}`;
  if (place.vendorId !== 0) return `Vendor-${place.vendorId}-Attr-${path}`;
  return `Attr-${path}`;
}

function lookup(dict: Dictionary, place: Place): AttributeDef | undefined {
  return dict.lookup(place.vendorId, place.oid, place.evsContainer);
}

/** The display value of a value of one data type, or undefined when the octets do not fit it. */
function displayValue(def: AttributeDef, buf: Buffer): string | number | undefined {
  const dataType = def.dataType;
  switch (dataType) {
    case "string":
      return readText(buf) ?? hexOf(buf);
    case "octets":
    case "abinary":
      if (def.length !== undefined && buf.length !== def.length) return undefined;
      return hexOf(buf);
    case "ipaddr":
      return readIpv4(buf);
    case "ipv6addr":
      return readIpv6(buf);
    case "combo-ip":
      return readIpv4(buf) ?? readIpv6(buf);
    case "ipv6prefix":
      return readIpv6Prefix(buf);
    case "ipv4prefix":
      return readIpv4Prefix(buf);
    case "ether":
      return readEther(buf);
    case "ifid":
      return readIfid(buf);
    case "integer":
    case "date":
    case "byte":
    case "short":
    case "signed": {
      if (buf.length !== FIXED_SIZE[dataType]) return undefined;
      const n = dataType === "signed" ? buf.readInt32BE(0) : buf.readUIntBE(0, buf.length);
      return dataType === "date" ? n : (def.valueNames.get(n) ?? n);
    }
    case "integer64": {
      const n = readInteger64(buf);
      if (n === undefined) return undefined;
      if (n > BigInt(Number.MAX_SAFE_INTEGER)) return n.toString();
      return def.valueNames.get(Number(n)) ?? Number(n);
    }
    default:
      return undefined;
  }
}

class Decoder {
  readonly out: DecodedAttribute[] = [];
  constructor(
    private readonly dict: Dictionary,
    private readonly opts: DecodeOptions,
  ) {}

  /** Shows the value as hex under the attribute's name (or its numbered name when unknown). */
  raw(def: AttributeDef | undefined, place: Place, value: Buffer, tag?: number): void {
    this.push(def?.name ?? unknownName(place), hexOf(value), tag);
  }

  push(name: string, value: string | number, tag?: number): void {
    this.out.push(tag !== undefined && tag > 0 ? { name, value, tag } : { name, value });
  }

  /** One attribute's value at `place`, whatever kind it is. */
  value(place: Place, value: Buffer): void {
    const def = lookup(this.dict, place);
    if (!def) return this.raw(undefined, place, value);
    if (def.dataType === "tlv") return this.tlv(def, place, value);
    if (CONTAINER_TYPES.has(def.dataType)) return this.raw(def, place, value);

    let data = value;
    let tag: number | undefined;
    if (def.hasTag) {
      if (INTEGER_TYPES.has(def.dataType)) {
        // RFC 2868 §3.1: a tagged integer is the tag octet and a 24-bit value.
        if (data.length !== 4) return this.raw(def, place, value);
        tag = data[0]! <= MAX_TAG ? data[0] : undefined;
        data = Buffer.concat([Buffer.alloc(1), data.subarray(1)]);
      } else if (data.length > 0 && data[0]! <= MAX_TAG) {
        tag = data[0];
        data = data.subarray(1);
      }
    }

    if (def.encrypt !== 0) {
      const revealed = this.reveal(def, data);
      if (revealed === undefined) return this.raw(def, place, data, tag);
      data = revealed;
    }

    const size = FIXED_SIZE[def.dataType];
    if (def.array && size !== undefined && data.length > size) {
      if (data.length % size !== 0) return this.raw(def, place, data, tag);
      for (let i = 0; i < data.length; i += size) {
        const element = data.subarray(i, i + size);
        const shown = displayValue(def, element);
        this.push(def.name, shown ?? hexOf(element), tag);
      }
      return;
    }
    const shown = displayValue(def, data);
    if (shown === undefined) return this.raw(def, place, data, tag);
    this.push(def.name, shown, tag);
  }

  /** The cleartext of an encrypted value, or undefined when it cannot be revealed here. */
  reveal(def: AttributeDef, data: Buffer): Buffer | undefined {
    const { secret, authenticator } = this.opts;
    if (!secret || !authenticator) return undefined;
    if (def.encrypt === 1) return unhideUserPassword(data, secret, authenticator) ?? undefined;
    if (def.encrypt === 2) return unhideTunnelPassword(data, secret, authenticator) ?? undefined;
    return undefined; // encrypt=3 (Ascend-Send-Secret) is not supported
  }

  /** A TLV's members, each under its own name; a malformed or empty TLV stays one hex value. */
  tlv(def: AttributeDef, place: Place, value: Buffer): void {
    if (value.length === 0) return this.raw(def, place, value);
    const members: { type: number; value: Buffer }[] = [];
    for (let off = 0; off < value.length; ) {
      const len = value[off + 1];
      if (len === undefined || len < 2 || off + len > value.length) return this.raw(def, place, value);
      members.push({ type: value[off]!, value: value.subarray(off + 2, off + len) });
      off += len;
    }
    for (const m of members) this.value({ ...place, oid: [...place.oid, m.type] }, m.value);
  }

  /**
   * Vendor-Specific (RFC 2865 §5.26): Vendor-Id, then sub-attributes in the vendor's format.
   * Returns how many raw attributes it used (more than one for WiMAX-style continuations).
   */
  vsa(attributes: RawAttribute[], index: number): number {
    const value = attributes[index]!.value;
    const subs = value.length > VENDOR_ID_LENGTH ? this.vendorSubs(value) : undefined;
    if (!subs) {
      this.push(`Attr-${Attr.VendorSpecific}`, hexOf(value));
      return 1;
    }
    const vendorId = value.readUInt32BE(0);
    let used = 1;
    for (let i = 0; i < subs.length; i++) {
      const sub = subs[i]!;
      let data = sub.value;
      let more = sub.more;
      // A continued value goes on in the first sub-attribute of the next VSA of the same
      // vendor; only the last sub-attribute of a VSA may be continued.
      while (more && i === subs.length - 1) {
        const nextValue = attributes[index + used];
        if (nextValue?.type !== Attr.VendorSpecific) break;
        const next =
          nextValue.value.length > VENDOR_ID_LENGTH && nextValue.value.readUInt32BE(0) === vendorId
            ? this.vendorSubs(nextValue.value)
            : undefined;
        if (!next || next[0]!.type !== sub.type) break;
        used++;
        data = Buffer.concat([data, next[0]!.value]);
        more = next[0]!.more;
        subs.push(...next.slice(1));
      }
      const place = { vendorId, oid: [sub.type] };
      if (more) this.raw(lookup(this.dict, place), place, data);
      else this.value(place, data);
    }
    return used;
  }

  /** Splits a VSA's sub-attributes, or undefined when they do not fit the vendor's format. */
  vendorSubs(value: Buffer): { type: number; value: Buffer; more: boolean }[] | undefined {
    const vendor = this.dict.vendor(value.readUInt32BE(0)) ?? DEFAULT_VENDOR;
    const { typeSize, lengthSize, continuation } = vendor;
    const header = typeSize + lengthSize + (continuation ? 1 : 0);
    const subs: { type: number; value: Buffer; more: boolean }[] = [];
    let off = VENDOR_ID_LENGTH;
    while (off < value.length) {
      if (off + header > value.length) return undefined;
      const type = value.readUIntBE(off, typeSize);
      const len = lengthSize === 0 ? value.length - off : value.readUIntBE(off + typeSize, lengthSize);
      if (len < header || off + len > value.length) return undefined;
      const more = continuation ? (value[off + typeSize + lengthSize]! & WIMAX_MORE) !== 0 : false;
      subs.push({ type, value: value.subarray(off + header, off + len), more });
      off += len;
    }
    return subs.length > 0 ? subs : undefined;
  }

  /** RFC 6929 §2.1: Extended-Type octet, then the value. */
  extended(type: number, value: Buffer): void {
    const container = this.dict.standard(type);
    if (value.length < 1) return this.raw(container, { vendorId: 0, oid: [type] }, value);
    this.extendedValue(type, value[0]!, value.subarray(1));
  }

  /**
   * RFC 6929 §2.2: Extended-Type, Flags, data; while the More flag is set the data goes on in
   * the next attribute of the same type and Extended-Type. Returns how many attributes it used.
   */
  longExtended(attributes: RawAttribute[], index: number): number {
    const first = attributes[index]!;
    if (first.value.length < 2) {
      this.raw(this.dict.standard(first.type), { vendorId: 0, oid: [first.type] }, first.value);
      return 1;
    }
    const extType = first.value[0]!;
    const parts = [first.value.subarray(2)];
    let more = (first.value[1]! & LONG_EXTENDED_MORE) !== 0;
    let used = 1;
    while (more) {
      const next = attributes[index + used];
      if (!next || next.type !== first.type || next.value.length < 2 || next.value[0] !== extType) break;
      parts.push(next.value.subarray(2));
      more = (next.value[1]! & LONG_EXTENDED_MORE) !== 0;
      used++;
    }
    const data = Buffer.concat(parts);
    if (more) {
      // The last fragment promised more that never came: show what there is, undecoded.
      const place = { vendorId: 0, oid: [first.type, extType] };
      this.raw(lookup(this.dict, place), place, data);
    } else {
      this.extendedValue(first.type, extType, data);
    }
    return used;
  }

  /** An extended attribute's value, or (ext-type 26) an Extended-Vendor-Specific one. */
  extendedValue(type: number, extType: number, data: Buffer): void {
    if (extType !== EXTENDED_VENDOR_SPECIFIC) return this.value({ vendorId: 0, oid: [type, extType] }, data);
    // RFC 6929 §2.4: Vendor-Id (4 octets), Vendor-Type (1 octet), value.
    if (data.length < VENDOR_ID_LENGTH + 1) {
      const place = { vendorId: 0, oid: [type, extType] };
      return this.raw(lookup(this.dict, place), place, data);
    }
    this.value(
      { vendorId: data.readUInt32BE(0), oid: [data[VENDOR_ID_LENGTH]!], evsContainer: type },
      data.subarray(VENDOR_ID_LENGTH + 1),
    );
  }
}

function kindOf(type: number, dict: Dictionary): "vsa" | "extended" | "long-extended" | "plain" {
  const dataType = dict.standard(type)?.dataType;
  if (type === Attr.VendorSpecific) return "vsa";
  if (dataType === "extended" || (dataType === undefined && EXTENDED_TYPES.has(type))) return "extended";
  if (dataType === "long-extended" || (dataType === undefined && LONG_EXTENDED_TYPES.has(type))) return "long-extended";
  return "plain";
}

/**
 * The display form of a packet's attributes, in packet order; one wire attribute can become
 * several (a VSA with several sub-attributes, TLV members, array elements) and several can
 * become one (long-extended fragments, WiMAX continuations). Unknown attributes are named
 * "Attr-<n>", "Vendor-<vendor>-Attr-<n>", "Attr-241.<n>" or "Attr-241.26.<vendor>.<n>".
 */
export function decodeAttributes(
  attributes: RawAttribute[],
  dict: Dictionary,
  opts: DecodeOptions = {},
): DecodedAttribute[] {
  const d = new Decoder(dict, opts);
  for (let i = 0; i < attributes.length; ) {
    const a = attributes[i]!;
    switch (kindOf(a.type, dict)) {
      case "vsa":
        i += d.vsa(attributes, i);
        break;
      case "extended":
        d.extended(a.type, a.value);
        i++;
        break;
      case "long-extended":
        i += d.longExtended(attributes, i);
        break;
      default:
        d.value({ vendorId: 0, oid: [a.type] }, a.value);
        i++;
    }
  }
  return d.out;
}

// ---- encoding ---------------------------------------------------------------------------

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

const INTEGER_LIMITS: Partial<Record<AttributeDataType, [bigint, bigint]>> = {
  integer: [0n, 0xffffffffn],
  date: [0n, 0xffffffffn],
  byte: [0n, 0xffn],
  short: [0n, 0xffffn],
  signed: [-0x80000000n, 0x7fffffffn],
  integer64: [0n, 0xffffffffffffffffn],
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
  const [min, max] = INTEGER_LIMITS[def.dataType]!;
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
