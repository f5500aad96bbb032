// The FreeRADIUS dictionary text format, read into a Dictionary: lines and comments, the
// directives (VALUE, VENDOR, ALIAS, the BEGIN-/END- blocks, $INCLUDE with loop detection).
// An ATTRIBUTE line is read by dictionary-attribute.ts. Lenient, like FreeRADIUS: a line it
// cannot use becomes a warning with file:line and reading goes on. What the definitions mean
// once read (overlaps, VALUE ranges) is dictionary.ts's, which it reaches only through the
// DictionaryBuilder the Dictionary hands in.

import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { attributeFromLine, parseNumber } from "./dictionary-attribute.ts";
import type { AttributeDef, VendorDef } from "./dictionary.ts";

/** A VALUE line, kept by the dictionary until its attribute is known. */
export interface ValueLine {
  attr: string;
  name: string;
  number: string;
  where: string;
}

/**
 * What the parser may see and do of the dictionary it reads into; the dictionary keeps its
 * tables private and applies its own rules when adding.
 */
export interface DictionaryBuilder {
  readonly warnings: string[];
  attribute(name: string): AttributeDef | undefined;
  vendor(nameOrId: string | number): VendorDef | undefined;
  /** Warns (and adds nothing) when the name is already taken by another number. */
  addAttribute(def: AttributeDef, where: string): void;
  /** A virtual attribute: never on the wire, but VALUE lines may name it. */
  addVirtual(name: string): void;
  addValue(v: ValueLine): void;
  addVendor(def: VendorDef): void;
  addAlias(name: string, def: AttributeDef): void;
}

export interface Block {
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

interface FileState {
  origin: string;
  baseDir: string;
  blocks: Block[];
}

/** Reads a dictionary file, and what it $INCLUDEs; the caller has checked that it exists. */
export function parseDictionaryFile(into: DictionaryBuilder, full: string): void {
  new Parser(into).readFile(full);
}

/** Reads dictionary text; `origin` names it in warnings, `baseDir` anchors relative $INCLUDEs. */
export function parseDictionaryText(into: DictionaryBuilder, text: string, origin: string, baseDir: string): void {
  new Parser(into).parse(text, { origin, baseDir, blocks: [] });
}

class Parser {
  /** The files being read, outermost first: an $INCLUDE of one of them is a loop. */
  private readonly including: string[] = [];

  constructor(private readonly into: DictionaryBuilder) {}

  private warn(message: string): void {
    this.into.warnings.push(message);
  }

  readFile(full: string): void {
    let real: string;
    try {
      real = realpathSync(full);
    } catch {
      real = full;
    }
    if (this.including.includes(real)) {
      this.warn(`${full}: $INCLUDE loop; not read again`);
      return;
    }
    this.including.push(real);
    try {
      this.parse(readFileSync(full, "utf8"), { origin: full, baseDir: dirname(full), blocks: [] });
    } finally {
      this.including.pop();
    }
  }

  parse(text: string, state: FileState): void {
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const hash = lines[i]!.indexOf("#");
      const line = (hash >= 0 ? lines[i]!.slice(0, hash) : lines[i]!).trim();
      if (line === "") continue;
      this.line(line.split(/\s+/), state, `${state.origin}:${i + 1}`);
    }
    for (const b of state.blocks) {
      if (!b.skip) this.warn(`${state.origin}: BEGIN-${b.kind.toUpperCase()} ${b.name} is never ended`);
    }
  }

  private line(f: string[], state: FileState, where: string): void {
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
        this.attributeLine(f, state, where);
        return;
      case "VALUE":
        this.valueLine(f, where);
        return;
      case "VENDOR":
        this.vendorLine(f, where);
        return;
      case "BEGIN-VENDOR":
        this.beginVendor(f, state, where);
        return;
      case "END-VENDOR":
      case "END-TLV":
      case "END-PROTOCOL":
        this.endBlock(directive.slice(4).toLowerCase() as Block["kind"], f[1], state, where);
        return;
      case "BEGIN-TLV":
        this.beginTlv(f, state, where);
        return;
      case "BEGIN-PROTOCOL": {
        const name = f[1] ?? "";
        state.blocks.push({ kind: "protocol", name, skip: name.toUpperCase() !== "RADIUS" });
        return;
      }
      case "$INCLUDE":
      case "$INCLUDE-":
        this.include(f, state, where, directive === "$INCLUDE-");
        return;
      case "ALIAS":
        this.aliasLine(f, where);
        return;
      case "PROTOCOL": // declares a protocol number; RADIUS needs no declaration
      case "FLAGS": // v4 block flags (e.g. internal); they do not change the wire format
        return;
      case "MEMBER":
      case "STRUCT":
      case "ENUM":
      case "DEFINE":
        this.warn(`${where}: ${f[0]} is not supported; line skipped`);
        return;
      default:
        this.warn(`${where}: unknown directive "${f[0]}"; line skipped`);
    }
  }

  private attributeLine(f: string[], state: FileState, where: string): void {
    const def = attributeFromLine(f, state.blocks, this.into, where);
    if (def) this.into.addAttribute(def, where);
  }

  private valueLine(f: string[], where: string): void {
    if (f.length < 4) {
      this.warn(`${where}: VALUE needs an attribute, a name and a number; line skipped`);
      return;
    }
    this.into.addValue({ attr: f[1]!, name: f[2]!, number: f[3]!, where });
  }

  private vendorLine(f: string[], where: string): void {
    if (f.length < 3) {
      this.warn(`${where}: VENDOR needs a name and a number; line skipped`);
      return;
    }
    const name = f[1]!;
    const id = parseNumber(f[2]!);
    if (id === undefined || id > 0xffffff) {
      this.warn(`${where}: VENDOR ${name}: bad number "${f[2]!}"; line skipped`);
      return;
    }
    let typeSize: VendorDef["typeSize"] = 1;
    let lengthSize: VendorDef["lengthSize"] = 1;
    let continuation = false;
    for (const field of f.slice(3)) {
      const m = /^format=([0-9]+),([0-9]+)(,c)?$/i.exec(field);
      if (!m) {
        this.warn(`${where}: VENDOR ${name}: unknown option "${field}"; ignored`);
        continue;
      }
      const t = Number(m[1]);
      const l = Number(m[2]);
      if ((t !== 1 && t !== 2 && t !== 4) || (l !== 0 && l !== 1 && l !== 2)) {
        this.warn(`${where}: VENDOR ${name}: unsupported ${field}; line skipped`);
        return;
      }
      typeSize = t;
      lengthSize = l;
      continuation = m[3] !== undefined;
    }
    const old = this.into.vendor(name);
    if (old && old.id !== id) {
      this.warn(`${where}: vendor ${name} is already defined as ${old.id}; line skipped`);
      return;
    }
    this.into.addVendor({ name, id, typeSize, lengthSize, continuation });
  }

  private beginVendor(f: string[], state: FileState, where: string): void {
    const name = f[1];
    const vendor = name ? this.into.vendor(name) : undefined;
    if (!name || !vendor) {
      this.warn(`${where}: BEGIN-VENDOR for unknown vendor ${name ?? "(none)"}; its attributes are skipped`);
      state.blocks.push({ kind: "vendor", name: name ?? "", broken: true });
      return;
    }
    const block: Block = { kind: "vendor", name, vendorId: vendor.id };
    for (const opt of f.slice(2)) {
      const m = /^format=Extended-Vendor-Specific-([1-6])$/i.exec(opt);
      if (m) block.evsContainer = 240 + Number(m[1]);
      else if (!/^parent=/i.test(opt)) this.warn(`${where}: BEGIN-VENDOR ${name}: unknown option "${opt}"; ignored`);
    }
    state.blocks.push(block);
  }

  private beginTlv(f: string[], state: FileState, where: string): void {
    const name = f[1];
    const parent = name ? this.into.attribute(name) : undefined;
    if (!name || !parent || parent.dataType !== "tlv") {
      this.warn(`${where}: BEGIN-TLV needs a tlv attribute defined before it, got ${name ?? "(none)"}; its members are skipped`);
      state.blocks.push({ kind: "tlv", name: name ?? "", broken: true });
      return;
    }
    state.blocks.push({ kind: "tlv", name, parent });
  }

  private endBlock(kind: Block["kind"], name: string | undefined, state: FileState, where: string): void {
    const top = state.blocks[state.blocks.length - 1];
    if (!top || top.kind !== kind) {
      this.warn(`${where}: END-${kind.toUpperCase()} without a matching BEGIN; ignored`);
      return;
    }
    if (name !== undefined && name.toLowerCase() !== top.name.toLowerCase()) {
      this.warn(`${where}: END-${kind.toUpperCase()} ${name} closes BEGIN-${kind.toUpperCase()} ${top.name}`);
    }
    state.blocks.pop();
  }

  private include(f: string[], state: FileState, where: string, optional: boolean): void {
    const target = f[1];
    if (!target) {
      this.warn(`${where}: ${f[0]} needs a file name; line skipped`);
      return;
    }
    const full = isAbsolute(target) ? target : resolve(state.baseDir, target);
    if (!existsSync(full) || !statSync(full).isFile()) {
      if (!optional) this.warn(`${where}: included file not found: ${full}`);
      return;
    }
    this.readFile(full);
  }

  private aliasLine(f: string[], where: string): void {
    const [, name, target] = f;
    const def = target ? this.into.attribute(target) : undefined;
    if (!name || !def) {
      this.warn(`${where}: ALIAS needs a name and a known attribute; line skipped`);
      return;
    }
    if (this.into.attribute(name)) {
      this.warn(`${where}: ALIAS ${name}: the name is already taken; line skipped`);
      return;
    }
    this.into.addAlias(name, def);
  }
}
