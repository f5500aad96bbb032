// The attribute dictionary: names, numbers, data types and enumerated values, read from
// FreeRADIUS-format dictionary files (so operators can use the vendor dictionaries they
// already have, e.g. Debian's /usr/share/freeradius) and looked up by name or by number.
// Loading is lenient, like FreeRADIUS itself: a line it cannot use becomes a warning with
// file:line in `warnings` and loading goes on. Only a missing top-level file throws.
//
// This module holds the definitions and the lookups; dictionary-parser.ts reads the text and
// hands each definition here, where the rules for overlaps, aliases and VALUE ranges live.
//
// Numbering (AttributeDef.oid):
// - standard attributes: the full path from the top-level type: [1], [241, 1], [241, 5, 1];
// - vendor attributes (inside Vendor-Specific, RFC 2865 §5.26): the path inside the vendor's
//   space, with vendorId set: Cisco-AVPair is vendorId 9, oid [1]; a TLV member [59, 1];
// - Extended-Vendor-Specific attributes (RFC 6929 §2.4): the path inside the vendor's space,
//   with vendorId and evsContainer (241-246) set.

import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDictionaryFile, parseDictionaryText } from "./dictionary-parser.ts";
import type { DictionaryBuilder, ValueLine } from "./dictionary-parser.ts";

export type AttributeDataType =
  | "string"
  | "octets"
  | "ipaddr"
  | "ipv4prefix"
  | "ipv6addr"
  | "ipv6prefix"
  | "ifid"
  | "integer"
  | "integer64"
  | "date"
  | "byte"
  | "short"
  | "signed"
  | "ether"
  | "tlv"
  | "extended"
  | "long-extended"
  | "evs"
  | "vsa"
  | "combo-ip"
  | "abinary";

/**
 * The integer data types and the values each can hold: one table, so that the dictionary's
 * VALUE lines and the encoder agree on what fits.
 */
export const INTEGER_RANGES: Readonly<Partial<Record<AttributeDataType, readonly [bigint, bigint]>>> = {
  byte: [0n, 0xffn],
  short: [0n, 0xffffn],
  integer: [0n, 0xffffffffn],
  date: [0n, 0xffffffffn],
  signed: [-0x80000000n, 0x7fffffffn],
  integer64: [0n, 0xffffffffffffffffn],
};

/** The data types that hold numbers, so take VALUE names (and a tag in their top octet). */
export const INTEGER_TYPES: ReadonlySet<AttributeDataType> = new Set(
  Object.keys(INTEGER_RANGES) as AttributeDataType[],
);

export interface AttributeDef {
  name: string;
  /** 0 for standard attributes. */
  vendorId: number;
  /** See the file header for what the path is relative to. */
  oid: number[];
  /** The last element of oid: the code this attribute has in its parent. */
  type: number;
  dataType: AttributeDataType;
  /** 1 = User-Password style (RFC 2865 §5.2), 2 = salted (RFC 2868 §3.5), 3 = Ascend secret. */
  encrypt: 0 | 1 | 2 | 3;
  hasTag: boolean;
  /** Long values are split over consecutive attributes of the same type (e.g. EAP-Message). */
  concat: boolean;
  /** The value is several fixed-size values back to back. */
  array: boolean;
  /** octets[N]: the exact value length. */
  length?: number;
  /** For Extended-Vendor-Specific attributes: the extended container (241-246) they live in. */
  evsContainer?: number;
  values: Map<string, number | bigint>;
  valueNames: Map<number, string>;
}

export interface VendorDef {
  name: string;
  id: number;
  /** Octets of a sub-attribute's type (RFC 2865 §5.26 suggests 1). */
  typeSize: 1 | 2 | 4;
  /** Octets of a sub-attribute's length; 0 = no length field, one sub-attribute per VSA. */
  lengthSize: 0 | 1 | 2;
  /** WiMAX-style continuation octet after the length (format=...,c). */
  continuation: boolean;
}

function keyOf(vendorId: number, oid: readonly number[], evsContainer?: number): string {
  return `${evsContainer ?? ""}/${vendorId}/${oid.join(".")}`;
}

const BUILTIN_PATH = fileURLToPath(new URL("../../dictionaries/dictionary.tally", import.meta.url));

export class Dictionary {
  readonly warnings: string[] = [];
  #byName = new Map<string, AttributeDef>();
  #byKey = new Map<string, AttributeDef>();
  /**
   * Standard attributes 0-255 by number, filled as they are asked for (null: not defined):
   * every attribute of every packet is looked up, and building the map's string key cost more
   * than decoding the value. Emptied whenever a definition is registered.
   */
  #plain: (AttributeDef | null | undefined)[] = [];
  #vendorsByName = new Map<string, VendorDef>();
  #vendorsById = new Map<number, VendorDef>();
  /** Names of virtual attributes: never on the wire, but VALUE lines may name them. */
  #virtual = new Set<string>();
  /** Lower-case names added by ALIAS: the only names that may share a definition object. */
  #aliases = new Set<string>();
  #pending: ValueLine[] = [];

  static #builtin: Dictionary | undefined;

  /**
   * The dictionary shipped with Tally (dictionaries/dictionary.tally): the RFC attributes and
   * a few common vendors. Each call returns a fresh copy, so a caller may load more into it.
   */
  static builtin(): Dictionary {
    if (!Dictionary.#builtin) {
      const d = new Dictionary();
      d.loadFile(BUILTIN_PATH);
      Dictionary.#builtin = d;
    }
    return Dictionary.#builtin.clone();
  }

  /** A deep copy: loading into it leaves this one unchanged. */
  clone(): Dictionary {
    const copy = new Dictionary();
    const map = new Map<AttributeDef, AttributeDef>();
    const cloneDef = (d: AttributeDef): AttributeDef => {
      let c = map.get(d);
      if (!c) {
        c = { ...d, oid: [...d.oid], values: new Map(d.values), valueNames: new Map(d.valueNames) };
        map.set(d, c);
      }
      return c;
    };
    for (const [k, d] of this.#byName) copy.#byName.set(k, cloneDef(d));
    for (const [k, d] of this.#byKey) copy.#byKey.set(k, cloneDef(d));
    for (const [k, v] of this.#vendorsByName) copy.#vendorsByName.set(k, { ...v });
    for (const v of copy.#vendorsByName.values()) copy.#vendorsById.set(v.id, v);
    for (const [id, v] of this.#vendorsById) if (!copy.#vendorsById.has(id)) copy.#vendorsById.set(id, { ...v });
    for (const n of this.#virtual) copy.#virtual.add(n);
    for (const n of this.#aliases) copy.#aliases.add(n);
    copy.warnings.push(...this.warnings);
    return copy;
  }

  /** Merges a dictionary file (and what it $INCLUDEs) into this one. Throws if it does not exist. */
  loadFile(path: string): void {
    const full = resolve(path);
    if (!existsSync(full) || !statSync(full).isFile()) {
      throw new Error(`dictionary file not found: ${full}`);
    }
    parseDictionaryFile(this.#builder(), full);
    this.#resolvePending();
  }

  /** Merges dictionary text; `origin` names it in warnings, `baseDir` anchors relative $INCLUDEs. */
  loadText(text: string, origin: string, baseDir: string = process.cwd()): void {
    parseDictionaryText(this.#builder(), text, origin, baseDir);
    this.#resolvePending();
  }

  /** By name, case-insensitively (as FreeRADIUS does). */
  attribute(name: string): AttributeDef | undefined {
    return this.#byName.get(name.toLowerCase());
  }

  /** A standard attribute: standard(1) is User-Name, standard(241, [1]) is Frag-Status. */
  standard(type: number, extendedPath?: number[]): AttributeDef | undefined {
    if (extendedPath === undefined || extendedPath.length === 0) return this.#plainDef(type);
    return this.#byKey.get(keyOf(0, [type, ...extendedPath]));
  }

  #plainDef(type: number): AttributeDef | undefined {
    const known = this.#plain[type];
    if (known !== undefined) return known ?? undefined;
    const def = this.#byKey.get(keyOf(0, [type]));
    if (Number.isInteger(type) && type >= 0 && type <= 255) this.#plain[type] = def ?? null;
    return def;
  }

  /** A Vendor-Specific sub-attribute; `subPath` reaches into a TLV-typed one. */
  vendorAttribute(vendorId: number, type: number, subPath: number[] = []): AttributeDef | undefined {
    return this.#byKey.get(keyOf(vendorId, [type, ...subPath]));
  }

  /** An Extended-Vendor-Specific attribute (RFC 6929 §2.4) in container 241-246. */
  evsAttribute(container: number, vendorId: number, type: number, subPath: number[] = []): AttributeDef | undefined {
    return this.#byKey.get(keyOf(vendorId, [type, ...subPath], container));
  }

  /** The general form of the three lookups above. */
  lookup(vendorId: number, oid: readonly number[], evsContainer?: number): AttributeDef | undefined {
    if (vendorId === 0 && oid.length === 1 && evsContainer === undefined) return this.#plainDef(oid[0]!);
    return this.#byKey.get(keyOf(vendorId, oid, evsContainer));
  }

  vendor(nameOrId: string | number): VendorDef | undefined {
    return typeof nameOrId === "number"
      ? this.#vendorsById.get(nameOrId)
      : this.#vendorsByName.get(nameOrId.toLowerCase());
  }

  /** Every attribute once (aliases excluded), in no particular order. */
  *attributes(): IterableIterator<AttributeDef> {
    const seen = new Set<AttributeDef>();
    for (const d of this.#byName.values()) {
      if (!seen.has(d)) {
        seen.add(d);
        yield d;
      }
    }
  }

  // ---- building: the parser's only way in ------------------------------------------------

  #builder(): DictionaryBuilder {
    return {
      warnings: this.warnings,
      attribute: (name) => this.attribute(name),
      vendor: (nameOrId) => this.vendor(nameOrId),
      addAttribute: (def, where) => this.#register(def, where),
      addVirtual: (name) => {
        this.#virtual.add(name.toLowerCase());
      },
      addValue: (v) => this.#addValue(v, false),
      addVendor: (def) => {
        this.#vendorsByName.set(def.name.toLowerCase(), def);
        this.#vendorsById.set(def.id, def);
      },
      addAlias: (name, def) => {
        const lower = name.toLowerCase();
        this.#byName.set(lower, def);
        this.#aliases.add(lower);
      },
    };
  }

  #register(def: AttributeDef, where: string): void {
    const lower = def.name.toLowerCase();
    const key = keyOf(def.vendorId, def.oid, def.evsContainer);
    const existing = this.#byName.get(lower);
    if (existing) {
      if (keyOf(existing.vendorId, existing.oid, existing.evsContainer) !== key) {
        this.warnings.push(`${where}: attribute ${def.name} is already defined with another number; line skipped`);
        return;
      }
      // The same attribute again (dictionaries overlap): keep its values, take the new shape.
      def.values = existing.values;
      def.valueNames = existing.valueNames;
    }
    this.#byName.set(lower, def);
    // The latest name for a number wins, so later files (RFC names) override compat names.
    this.#byKey.set(key, def);
    this.#plain = [];
    if (existing) {
      for (const alias of this.#aliases) if (this.#byName.get(alias) === existing) this.#byName.set(alias, def);
    }
  }

  /** Adds a VALUE now, or keeps it until the end of the load when its attribute is not yet known. */
  #addValue(v: ValueLine, final: boolean): void {
    const def = this.attribute(v.attr);
    if (!def) {
      if (this.#virtual.has(v.attr.toLowerCase())) return;
      if (final) this.warnings.push(`${v.where}: VALUE for unknown attribute ${v.attr}; line skipped`);
      else this.#pending.push(v);
      return;
    }
    if (!INTEGER_TYPES.has(def.dataType)) {
      this.warnings.push(`${v.where}: VALUE for ${def.name}, which is ${def.dataType}, not an integer; line skipped`);
      return;
    }
    let n: bigint;
    const text = v.number;
    if (/^-?[0-9]+$/.test(text) || /^0[xX][0-9a-fA-F]+$/.test(text)) n = BigInt(text);
    else {
      this.warnings.push(`${v.where}: VALUE ${v.attr} ${v.name}: bad number "${text}"; line skipped`);
      return;
    }
    const range = INTEGER_RANGES[def.dataType]!;
    // A tagged integer keeps its top octet for the tag (RFC 2868 §3.1).
    const max = def.hasTag && def.dataType === "integer" ? 0xffffffn : range[1];
    if (n < range[0] || n > max) {
      this.warnings.push(`${v.where}: VALUE ${v.attr} ${v.name}: ${text} is out of range for ${def.dataType}; line skipped`);
      return;
    }
    const value = n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    def.values.set(v.name, value);
    // Several names for one number: the first is the one shown (later ones are aliases).
    if (typeof value === "number" && !def.valueNames.has(value)) def.valueNames.set(value, v.name);
  }

  #resolvePending(): void {
    const pending = this.#pending;
    this.#pending = [];
    for (const v of pending) this.#addValue(v, true);
  }
}
