// The attribute dictionary: names, numbers, data types and enumerated values, read from
// FreeRADIUS-format dictionary files (so operators can use the vendor dictionaries they
// already have, e.g. Debian's /usr/share/freeradius) and looked up by name or by number.
// Loading is lenient, like FreeRADIUS itself: a line it cannot use becomes a warning with
// file:line in `warnings` and loading goes on. Only a missing top-level file throws.
//
// Numbering (AttributeDef.oid):
// - standard attributes: the full path from the top-level type: [1], [241, 1], [241, 5, 1];
// - vendor attributes (inside Vendor-Specific, RFC 2865 §5.26): the path inside the vendor's
//   space, with vendorId set: Cisco-AVPair is vendorId 9, oid [1]; a TLV member [59, 1];
// - Extended-Vendor-Specific attributes (RFC 6929 §2.4): the path inside the vendor's space,
//   with vendorId and evsContainer (241-246) set.

import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { EXTENDED_TYPES, EXTENDED_VENDOR_SPECIFIC, LONG_EXTENDED_TYPES } from "./constants.ts";

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

const INTEGER_TYPES: ReadonlySet<AttributeDataType> = new Set<AttributeDataType>([
  "integer", "integer64", "byte", "short", "signed", "date",
]);

const INTEGER_RANGES: Partial<Record<AttributeDataType, [bigint, bigint]>> = {
  byte: [0n, 0xffn],
  short: [0n, 0xffffn],
  integer: [0n, 0xffffffffn],
  date: [0n, 0xffffffffn],
  signed: [-0x80000000n, 0x7fffffffn],
  integer64: [0n, 0xffffffffffffffffn],
};

function keyOf(vendorId: number, oid: readonly number[], evsContainer?: number): string {
  return `${evsContainer ?? ""}/${vendorId}/${oid.join(".")}`;
}

/** Decimal or 0x-hex, non-negative; undefined otherwise. */
function parseNumber(text: string): number | undefined {
  if (/^[0-9]+$/.test(text)) return Number(text);
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return parseInt(text.slice(2), 16);
  return undefined;
}

function parseOid(text: string): number[] | undefined {
  const parts = text.split(".").map(parseNumber);
  if (parts.length === 0 || parts.some((p) => p === undefined || p > 0xffffffff)) return undefined;
  return parts as number[];
}

interface Block {
  kind: "vendor" | "tlv" | "protocol";
  name: string;
  vendorId?: number;
  evsContainer?: number;
  parent?: AttributeDef;
  /** A BEGIN-PROTOCOL for something other than RADIUS: everything inside is skipped. */
  skip?: boolean;
  /** A block whose opening line was bad: its contents are skipped with one warning. */
  broken?: boolean;
}

interface PendingValue {
  attr: string;
  name: string;
  number: string;
  where: string;
}

interface FileState {
  origin: string;
  baseDir: string;
  blocks: Block[];
}

const BUILTIN_PATH = fileURLToPath(new URL("../../dictionaries/dictionary.tally", import.meta.url));

export class Dictionary {
  readonly warnings: string[] = [];
  #byName = new Map<string, AttributeDef>();
  #byKey = new Map<string, AttributeDef>();
  #vendorsByName = new Map<string, VendorDef>();
  #vendorsById = new Map<number, VendorDef>();
  /** Names of virtual attributes: never on the wire, but VALUE lines may name them. */
  #virtual = new Set<string>();
  /** Lower-case names added by ALIAS: the only names that may share a definition object. */
  #aliases = new Set<string>();
  #pending: PendingValue[] = [];
  #including: string[] = [];

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
    this.#readFile(full);
    this.#resolvePending();
  }

  /** Merges dictionary text; `origin` names it in warnings, `baseDir` anchors relative $INCLUDEs. */
  loadText(text: string, origin: string, baseDir: string = process.cwd()): void {
    this.#parse(text, { origin, baseDir, blocks: [] });
    this.#resolvePending();
  }

  /** By name, case-insensitively (as FreeRADIUS does). */
  attribute(name: string): AttributeDef | undefined {
    return this.#byName.get(name.toLowerCase());
  }

  /** A standard attribute: standard(1) is User-Name, standard(241, [1]) is Frag-Status. */
  standard(type: number, extendedPath: number[] = []): AttributeDef | undefined {
    return this.#byKey.get(keyOf(0, [type, ...extendedPath]));
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

  // ---- reading ----------------------------------------------------------------------------

  #readFile(full: string): void {
    let real: string;
    try {
      real = realpathSync(full);
    } catch {
      real = full;
    }
    if (this.#including.includes(real)) {
      this.warnings.push(`${full}: $INCLUDE loop; not read again`);
      return;
    }
    this.#including.push(real);
    try {
      this.#parse(readFileSync(full, "utf8"), { origin: full, baseDir: dirname(full), blocks: [] });
    } finally {
      this.#including.pop();
    }
  }

  #parse(text: string, state: FileState): void {
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const hash = lines[i]!.indexOf("#");
      const line = (hash >= 0 ? lines[i]!.slice(0, hash) : lines[i]!).trim();
      if (line === "") continue;
      this.#line(line.split(/\s+/), state, `${state.origin}:${i + 1}`);
    }
    for (const b of state.blocks) {
      if (!b.skip) this.warnings.push(`${state.origin}: BEGIN-${b.kind.toUpperCase()} ${b.name} is never ended`);
    }
  }

  #line(f: string[], state: FileState, where: string): void {
    const directive = f[0]!.toUpperCase();
    const top = state.blocks[state.blocks.length - 1];

    // Inside a non-RADIUS protocol block only the nesting matters.
    if (state.blocks.some((b) => b.skip)) {
      if (directive === "BEGIN-PROTOCOL") state.blocks.push({ kind: "protocol", name: f[1] ?? "", skip: true });
      else if (directive === "END-PROTOCOL") state.blocks.pop();
      return;
    }

    switch (directive) {
      case "ATTRIBUTE":
        if (top?.broken) return;
        this.#attributeLine(f, state, where);
        return;
      case "VALUE":
        this.#valueLine(f, where);
        return;
      case "VENDOR":
        this.#vendorLine(f, where);
        return;
      case "BEGIN-VENDOR":
        this.#beginVendor(f, state, where);
        return;
      case "END-VENDOR":
      case "END-TLV":
      case "END-PROTOCOL":
        this.#endBlock(directive.slice(4).toLowerCase() as Block["kind"], f[1], state, where);
        return;
      case "BEGIN-TLV":
        this.#beginTlv(f, state, where);
        return;
      case "BEGIN-PROTOCOL": {
        const name = f[1] ?? "";
        state.blocks.push({ kind: "protocol", name, skip: name.toUpperCase() !== "RADIUS" });
        return;
      }
      case "$INCLUDE":
      case "$INCLUDE-":
        this.#include(f, state, where, directive === "$INCLUDE-");
        return;
      case "ALIAS":
        this.#aliasLine(f, where);
        return;
      case "PROTOCOL": // declares a protocol number; RADIUS needs no declaration
      case "FLAGS": // v4 block flags (e.g. internal); they do not change the wire format
        return;
      case "MEMBER":
      case "STRUCT":
      case "ENUM":
      case "DEFINE":
        this.warnings.push(`${where}: ${f[0]} is not supported; line skipped`);
        return;
      default:
        this.warnings.push(`${where}: unknown directive "${f[0]}"; line skipped`);
    }
  }

  #attributeLine(f: string[], state: FileState, where: string): void {
    if (f.length < 4) {
      this.warnings.push(`${where}: ATTRIBUTE needs a name, a number and a type; line skipped`);
      return;
    }
    const [, name, oidText, typeText] = f as [string, string, string, string];
    const rawOid = parseOid(oidText);
    if (!rawOid) {
      this.warnings.push(`${where}: ATTRIBUTE ${name}: bad number "${oidText}"; line skipped`);
      return;
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
            this.#virtual.add(name.toLowerCase());
            return;
          case "encrypt":
            if (v === "1" || v === "2" || v === "3") encrypt = Number(v) as 1 | 2 | 3;
            else this.warnings.push(`${where}: ATTRIBUTE ${name}: unknown encrypt=${v ?? ""}; ignored`);
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
            const vendor = this.vendor(flag);
            if (vendor && !v) oldVendor = vendor;
            else this.warnings.push(`${where}: ATTRIBUTE ${name}: unknown flag "${flag}"; ignored`);
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
      this.warnings.push(`${where}: ATTRIBUTE ${name}: unknown type "${typeText}"; treated as octets`);
      dataType = "octets";
    }
    if (fixed) {
      if (dataType === "octets" || dataType === "string") length = Number(fixed[2]);
      else this.warnings.push(`${where}: ATTRIBUTE ${name}: a size only applies to octets; ignored`);
    }

    // Where the attribute lives.
    let vendorId = 0;
    let evsContainer: number | undefined;
    let oid = rawOid;
    const block = [...state.blocks].reverse().find((b) => b.kind === "tlv" || b.kind === "vendor");
    if (block?.kind === "tlv" && block.parent) {
      vendorId = block.parent.vendorId;
      evsContainer = block.parent.evsContainer;
      oid = [...block.parent.oid, ...rawOid];
    } else if (block?.kind === "vendor") {
      if (block.vendorId === undefined) return;
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
      const vendor = this.vendor(vendorId);
      const limit = vendor?.typeSize === 2 ? 0xffff : vendor?.typeSize === 4 ? 0xffffffff : 0xff;
      if (oid[0]! > limit) {
        this.warnings.push(`${where}: ATTRIBUTE ${name}: number ${oid[0]} does not fit the vendor's type field; line skipped`);
        return;
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
    this.#register(def, where);
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
    if (existing) {
      for (const alias of this.#aliases) if (this.#byName.get(alias) === existing) this.#byName.set(alias, def);
    }
  }

  #valueLine(f: string[], where: string): void {
    if (f.length < 4) {
      this.warnings.push(`${where}: VALUE needs an attribute, a name and a number; line skipped`);
      return;
    }
    this.#addValue({ attr: f[1]!, name: f[2]!, number: f[3]!, where }, false);
  }

  /** Adds a VALUE now, or keeps it until the end of the load when its attribute is not yet known. */
  #addValue(v: PendingValue, final: boolean): void {
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

  #vendorLine(f: string[], where: string): void {
    if (f.length < 3) {
      this.warnings.push(`${where}: VENDOR needs a name and a number; line skipped`);
      return;
    }
    const name = f[1]!;
    const id = parseNumber(f[2]!);
    if (id === undefined || id > 0xffffff) {
      this.warnings.push(`${where}: VENDOR ${name}: bad number "${f[2]!}"; line skipped`);
      return;
    }
    let typeSize: VendorDef["typeSize"] = 1;
    let lengthSize: VendorDef["lengthSize"] = 1;
    let continuation = false;
    for (const field of f.slice(3)) {
      const m = /^format=([0-9]+),([0-9]+)(,c)?$/i.exec(field);
      if (!m) {
        this.warnings.push(`${where}: VENDOR ${name}: unknown option "${field}"; ignored`);
        continue;
      }
      const t = Number(m[1]);
      const l = Number(m[2]);
      if ((t !== 1 && t !== 2 && t !== 4) || (l !== 0 && l !== 1 && l !== 2)) {
        this.warnings.push(`${where}: VENDOR ${name}: unsupported ${field}; line skipped`);
        return;
      }
      typeSize = t;
      lengthSize = l;
      continuation = m[3] !== undefined;
    }
    const old = this.#vendorsByName.get(name.toLowerCase());
    if (old && old.id !== id) {
      this.warnings.push(`${where}: vendor ${name} is already defined as ${old.id}; line skipped`);
      return;
    }
    const def: VendorDef = { name, id, typeSize, lengthSize, continuation };
    this.#vendorsByName.set(name.toLowerCase(), def);
    this.#vendorsById.set(id, def);
  }

  #beginVendor(f: string[], state: FileState, where: string): void {
    const name = f[1];
    const vendor = name ? this.vendor(name) : undefined;
    if (!name || !vendor) {
      this.warnings.push(`${where}: BEGIN-VENDOR for unknown vendor ${name ?? "(none)"}; its attributes are skipped`);
      state.blocks.push({ kind: "vendor", name: name ?? "", broken: true });
      return;
    }
    const block: Block = { kind: "vendor", name, vendorId: vendor.id };
    for (const opt of f.slice(2)) {
      const m = /^format=Extended-Vendor-Specific-([1-6])$/i.exec(opt);
      if (m) block.evsContainer = 240 + Number(m[1]);
      else if (!/^parent=/i.test(opt)) this.warnings.push(`${where}: BEGIN-VENDOR ${name}: unknown option "${opt}"; ignored`);
    }
    state.blocks.push(block);
  }

  #beginTlv(f: string[], state: FileState, where: string): void {
    const name = f[1];
    const parent = name ? this.attribute(name) : undefined;
    if (!name || !parent || parent.dataType !== "tlv") {
      this.warnings.push(`${where}: BEGIN-TLV needs a tlv attribute defined before it, got ${name ?? "(none)"}; its members are skipped`);
      state.blocks.push({ kind: "tlv", name: name ?? "", broken: true });
      return;
    }
    state.blocks.push({ kind: "tlv", name, parent });
  }

  #endBlock(kind: Block["kind"], name: string | undefined, state: FileState, where: string): void {
    const top = state.blocks[state.blocks.length - 1];
    if (!top || top.kind !== kind) {
      this.warnings.push(`${where}: END-${kind.toUpperCase()} without a matching BEGIN; ignored`);
      return;
    }
    if (name !== undefined && name.toLowerCase() !== top.name.toLowerCase()) {
      this.warnings.push(`${where}: END-${kind.toUpperCase()} ${name} closes BEGIN-${kind.toUpperCase()} ${top.name}`);
    }
    state.blocks.pop();
  }

  #include(f: string[], state: FileState, where: string, optional: boolean): void {
    const target = f[1];
    if (!target) {
      this.warnings.push(`${where}: ${f[0]} needs a file name; line skipped`);
      return;
    }
    const full = isAbsolute(target) ? target : resolve(state.baseDir, target);
    if (!existsSync(full) || !statSync(full).isFile()) {
      if (!optional) this.warnings.push(`${where}: included file not found: ${full}`);
      return;
    }
    this.#readFile(full);
  }

  #aliasLine(f: string[], where: string): void {
    const [, name, target] = f;
    const def = target ? this.attribute(target) : undefined;
    if (!name || !def) {
      this.warnings.push(`${where}: ALIAS needs a name and a known attribute; line skipped`);
      return;
    }
    const lower = name.toLowerCase();
    if (this.#byName.has(lower)) {
      this.warnings.push(`${where}: ALIAS ${name}: the name is already taken; line skipped`);
      return;
    }
    this.#byName.set(lower, def);
    this.#aliases.add(lower);
  }
}
