// The ATTRIBUTE line of a FreeRADIUS dictionary: its number, its flags (and the old syntax
// with a vendor name in their place), the spellings of its data type, and where the
// attribute lives: in a vendor's space, a TLV, or an Extended-Vendor-Specific container.
// dictionary-parser.ts reads the lines around it and keeps the BEGIN-/END- blocks.

import { EXTENDED_TYPES, EXTENDED_VENDOR_SPECIFIC, LONG_EXTENDED_TYPES } from "./constants.ts";
import type { Block, DictionaryBuilder } from "./dictionary-parser.ts";
import type { AttributeDataType, AttributeDef, VendorDef } from "./dictionary.ts";

const DATA_TYPES: ReadonlySet<string> = new Set<AttributeDataType>([
  "string", "octets", "ipaddr", "ipv4prefix", "ipv6addr", "ipv6prefix", "ifid", "integer",
  "integer64", "date", "byte", "short", "signed", "ether", "tlv", "extended", "long-extended",
  "evs", "vsa", "combo-ip", "abinary",
]);

/** Other spellings FreeRADIUS (v3 and v4) accepts for the same wire formats. */
const TYPE_ALIASES: ReadonlyMap<string, AttributeDataType> = new Map([
  ["text", "string"],
  ["uint8", "byte"],
  ["uint16", "short"],
  ["uint32", "integer"],
  ["uint64", "integer64"],
  ["int32", "signed"],
  ["ipv4addr", "ipaddr"],
  ["ethernet", "ether"],
  ["time", "date"],
  ["combo-ipaddr", "combo-ip"],
  ["combo-ip-addr", "combo-ip"],
  ["combo-prefix", "octets"],
  ["struct", "octets"],
  ["group", "octets"],
]);

/** Decimal or 0x-hex, non-negative; undefined otherwise. */
export function parseNumber(text: string): number | undefined {
  if (/^[0-9]+$/.test(text)) return Number(text);
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return parseInt(text.slice(2), 16);
  return undefined;
}

function parseOid(text: string): number[] | undefined {
  const parts = text.split(".").map(parseNumber);
  if (parts.length === 0 || parts.some((p) => p === undefined || p > 0xffffffff)) return undefined;
  return parts as number[];
}

/**
 * The definition an ATTRIBUTE line makes, for the dictionary to add; undefined when the line
 * is skipped (with a warning) or defines a virtual attribute. `blocks` are the open BEGIN-
 * blocks, innermost last.
 */
export function attributeFromLine(
  f: string[],
  blocks: readonly Block[],
  into: DictionaryBuilder,
  where: string,
): AttributeDef | undefined {
  const warn = (message: string): void => {
    into.warnings.push(message);
  };
  if (f.length < 4) {
    warn(`${where}: ATTRIBUTE needs a name, a number and a type; line skipped`);
    return undefined;
  }
  const [, name, oidText, typeText] = f as [string, string, string, string];
  const rawOid = parseOid(oidText);
  if (!rawOid) {
    warn(`${where}: ATTRIBUTE ${name}: bad number "${oidText}"; line skipped`);
    return undefined;
  }

  // Flags, or (old syntax) a vendor name in the fourth column.
  let encrypt: AttributeDef["encrypt"] = 0;
  let hasTag = false;
  let concat = false;
  let array = false;
  let oldVendor: VendorDef | undefined;
  for (const field of f.slice(4)) {
    for (const flag of field.split(",")) {
      if (flag === "") continue;
      const [k, v] = flag.split("=", 2) as [string, string | undefined];
      switch (k.toLowerCase()) {
        case "has_tag":
          hasTag = true;
          break;
        case "concat":
          concat = true;
          break;
        case "array":
          array = true;
          break;
        case "virtual":
          into.addVirtual(name);
          return undefined;
        case "encrypt":
          if (v === "1" || v === "2" || v === "3") encrypt = Number(v) as 1 | 2 | 3;
          else warn(`${where}: ATTRIBUTE ${name}: unknown encrypt=${v ?? ""}; ignored`);
          break;
        case "secret": // only hides the value in FreeRADIUS logs
        case "internal":
        case "format":
        case "long":
        case "abinary":
        case "counter":
        case "enum":
        case "clone":
        case "ref":
        case "key":
          break;
        default: {
          const vendor = into.vendor(flag);
          if (vendor && !v) oldVendor = vendor;
          else warn(`${where}: ATTRIBUTE ${name}: unknown flag "${flag}"; ignored`);
        }
      }
    }
  }

  // The data type, with octets[N] and aliases; anything unknown is kept as octets.
  let dataType: AttributeDataType;
  let length: number | undefined;
  const typeLower = typeText.toLowerCase();
  const fixed = /^([a-z0-9-]+)\[([0-9]+)\]$/.exec(typeLower);
  const baseType = fixed ? fixed[1]! : typeLower;
  if (DATA_TYPES.has(baseType)) dataType = baseType as AttributeDataType;
  else if (TYPE_ALIASES.has(baseType)) dataType = TYPE_ALIASES.get(baseType)!;
  else {
    warn(`${where}: ATTRIBUTE ${name}: unknown type "${typeText}"; treated as octets`);
    dataType = "octets";
  }
  if (fixed) {
    if (dataType === "octets" || dataType === "string") length = Number(fixed[2]);
    else warn(`${where}: ATTRIBUTE ${name}: a size only applies to octets; ignored`);
  }

  // Where the attribute lives.
  let vendorId = 0;
  let evsContainer: number | undefined;
  let oid = rawOid;
  const block = [...blocks].reverse().find((b) => b.kind === "tlv" || b.kind === "vendor");
  if (block?.kind === "tlv" && block.parent) {
    vendorId = block.parent.vendorId;
    evsContainer = block.parent.evsContainer;
    oid = [...block.parent.oid, ...rawOid];
  } else if (block?.kind === "vendor") {
    if (block.vendorId === undefined) return undefined;
    vendorId = block.vendorId;
    evsContainer = block.evsContainer;
  } else if (oldVendor) {
    vendorId = oldVendor.id;
  } else if (rawOid[0] === 26 && rawOid.length >= 3) {
    // "26.9.1": Vendor-Specific, vendor 9, attribute 1.
    vendorId = rawOid[1]!;
    oid = rawOid.slice(2);
  } else if (
    (EXTENDED_TYPES.has(rawOid[0]!) || LONG_EXTENDED_TYPES.has(rawOid[0]!)) &&
    rawOid[1] === EXTENDED_VENDOR_SPECIFIC &&
    rawOid.length >= 4
  ) {
    // "241.26.9.1": Extended-Vendor-Specific-1, vendor 9, attribute 1.
    evsContainer = rawOid[0]!;
    vendorId = rawOid[2]!;
    oid = rawOid.slice(3);
  }
  if (vendorId !== 0 && evsContainer === undefined) {
    const vendor = into.vendor(vendorId);
    const limit = vendor?.typeSize === 2 ? 0xffff : vendor?.typeSize === 4 ? 0xffffffff : 0xff;
    if (oid[0]! > limit) {
      warn(`${where}: ATTRIBUTE ${name}: number ${oid[0]} does not fit the vendor's type field; line skipped`);
      return undefined;
    }
  }

  const def: AttributeDef = {
    name,
    vendorId,
    oid,
    type: oid[oid.length - 1]!,
    dataType,
    encrypt,
    hasTag,
    concat,
    array,
    values: new Map(),
    valueNames: new Map(),
  };
  if (length !== undefined) def.length = length;
  if (evsContainer !== undefined) def.evsContainer = evsContainer;
  return def;
}
