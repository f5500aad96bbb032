// Attribute values through the dictionary, wire to display: raw attributes -> named values
// (decodeAttributes, for logs and accounting records). Handles Vendor-Specific (RFC 2865
// §5.26) with WiMAX continuations, tags (RFC 2868 §3.1), TLVs, and the RFC 6929 extended and
// long-extended formats including Extended-Vendor-Specific. Never throws: what cannot be read
// is shown as "0x" + hex, so one odd attribute never costs a log line or a record.

import {
  Attr,
  EXTENDED_TYPES,
  EXTENDED_VENDOR_SPECIFIC,
  LONG_EXTENDED_MORE,
  LONG_EXTENDED_TYPES,
  MAX_TAG,
  VENDOR_ID_LENGTH,
} from "./constants.ts";
import { unhideTunnelPassword, unhideUserPassword } from "./crypto.ts";
import { CONTAINER_TYPES, DEFAULT_VENDOR, FIXED_SIZE, WIMAX_MORE } from "./attribute-format.ts";
import { INTEGER_TYPES } from "./dictionary.ts";
import type { AttributeDef, Dictionary } from "./dictionary.ts";
import type { RawAttribute } from "./packet.ts";
import {
  hexOf,
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
