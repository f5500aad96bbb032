// Reads FreeRADIUS detail files (rlm_detail's format) as a stream of entries: a header line
// (the date, `%t`), tab-indented `Attribute-Name = value` lines, a blank line after each entry.
// Streams the file in chunks from a byte offset, so a file of any size is read in bounded
// memory and an import can resume exactly where an earlier one stopped. Text only: what the
// values mean is detail-entry.ts's business.
//
// Lines are read as latin1 (one character per byte), so a quoted value's characters turn back
// into exactly the bytes FreeRADIUS wrote, whatever they are.

import { createReadStream } from "node:fs";

/** One `Name = value` line. `value` is unescaped when it was quoted. */
export interface DetailLine {
  name: string;
  /** RFC 2868 tag, written `Name:tag`. */
  tag?: number;
  /** latin1 text: one character per byte. */
  value: string;
  quoted: boolean;
  /** 1-based line number in the file. */
  line: number;
}

export interface DetailEntry {
  kind: "entry";
  /** Line number of the entry's first line (its header, when it has one). */
  line: number;
  /** The header line (FreeRADIUS writes the date, ctime-style), or null if the entry had none. */
  header: string | null;
  lines: DetailLine[];
  /** The first line that is not `Name = value`: the entry cannot be trusted. */
  problem?: { line: number; message: string };
  /** Where reading may resume after this entry: a byte offset and the line number there. */
  end: Position;
}

/** The last entry of a file that ends in the middle of a line (still being written?). */
export interface IncompleteEntry {
  kind: "incomplete";
  line: number;
  /** Where the incomplete entry starts: reading resumes here next time. */
  start: Position;
}

/** The end of the file: everything up to `end` has been read (trailing blank lines too). */
export interface EndOfFile {
  kind: "end";
  end: Position;
}

export interface Position {
  offset: number;
  /** 1-based number of the line that starts at `offset`. */
  line: number;
}

const LF = 0x0a;

/** `\n`, `\r`, `\t`, `\ooo` (octal, up to 3 digits), else the character itself (FreeRADIUS 3's rules). */
function unescape(text: string, from: number): { value: string; next: number } | undefined {
  let out = "";
  let i = from;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') return { value: out, next: i + 1 };
    if (c !== "\\") {
      out += c;
      i++;
      continue;
    }
    const n = text[i + 1];
    if (n === undefined) return undefined;
    if (n === "n") out += "\n";
    else if (n === "r") out += "\r";
    else if (n === "t") out += "\t";
    else if (n >= "0" && n <= "7") {
      const digits = /^[0-7]{1,3}/.exec(text.slice(i + 1))![0];
      out += String.fromCharCode(parseInt(digits, 8) & 0xff);
      i += 1 + digits.length;
      continue;
    } else out += n;
    i += 2;
  }
  return undefined; // no closing quote
}

const ATTRIBUTE_LINE = /^[ \t]+([A-Za-z0-9][A-Za-z0-9._-]*)(?::([0-9]{1,2}))?[ \t]*(?:=|:=|==|\+=)[ \t]*(.*)$/;

/** Parses one attribute line; a string says what is wrong with it. */
export function parseDetailLine(text: string, line: number): DetailLine | string {
  const m = ATTRIBUTE_LINE.exec(text);
  if (!m) return `not an "Attribute = value" line: ${JSON.stringify(text.trim().slice(0, 80))}`;
  const [, name, tagText, rest] = m as unknown as [string, string, string | undefined, string];
  const tag = tagText === undefined ? undefined : Number(tagText);
  const raw = rest.trimEnd();
  if (raw.startsWith('"')) {
    const u = unescape(raw, 1);
    if (u === undefined) return `${name}: the quoted value has no closing quote`;
    if (raw.slice(u.next).trim() !== "") return `${name}: text after the closing quote`;
    return { name, ...(tag === undefined ? {} : { tag }), value: u.value, quoted: true, line };
  }
  return { name, ...(tag === undefined ? {} : { tag }), value: raw, quoted: false, line };
}

/**
 * The entries of `path` from `start` on, in file order. Each entry says where the next read
 * should resume (`end`), so a caller that has committed an entry can record that position.
 */
export async function* readDetailEntries(path: string, start: Position = { offset: 0, line: 1 }): AsyncGenerator<DetailEntry | IncompleteEntry | EndOfFile> {
  let offset = start.offset;
  let lineNo = start.line;
  let current: { line: number; header: string | null; lines: DetailLine[]; problem?: DetailEntry["problem"]; start: Position } | null = null;
  let carry: Buffer | null = null;

  const finish = (end: Position): DetailEntry => {
    const e = current!;
    current = null;
    return { kind: "entry", line: e.line, header: e.header, lines: e.lines, ...(e.problem ? { problem: e.problem } : {}), end };
  };

  for await (const chunk of createReadStream(path, { start: start.offset, highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
    let buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    carry = null;
    let from = 0;
    for (;;) {
      const nl = buf.indexOf(LF, from);
      if (nl < 0) break;
      const lineStart: Position = { offset, line: lineNo };
      const byteLength = nl + 1 - from;
      let text = buf.toString("latin1", from, nl);
      if (text.endsWith("\r")) text = text.slice(0, -1);
      from = nl + 1;
      offset += byteLength;
      lineNo++;
      const after: Position = { offset, line: lineNo };

      if (text.trim() === "") {
        if (current) yield finish(after);
        continue;
      }
      if (text[0] !== " " && text[0] !== "\t") {
        // A header without a blank line before it still starts a new entry.
        if (current) yield finish(lineStart);
        current = { line: lineStart.line, header: text.trim(), lines: [], start: lineStart };
        continue;
      }
      current ??= { line: lineStart.line, header: null, lines: [], start: lineStart };
      if (current.problem) continue;
      const parsed = parseDetailLine(text, lineStart.line);
      if (typeof parsed === "string") current.problem = { line: lineStart.line, message: parsed };
      else current.lines.push(parsed);
    }
    if (from < buf.length) {
      buf = buf.subarray(from);
      // A line longer than any detail file has is a sign this is not one: stop buffering.
      if (buf.length > 1024 * 1024) throw new Error(`${path}:${lineNo}: a line longer than 1 MiB; is this a detail file?`);
      carry = Buffer.from(buf);
    }
  }
  if (carry && carry.length > 0) {
    // The file ends inside a line: whatever entry that line belongs to is not complete yet.
    const here: Position = { offset, line: lineNo };
    if (current && carry[0] !== 0x20 && carry[0] !== 0x09) yield finish(here); // the partial line is the next header
    const startOfEntry: Position = current ? current.start : here;
    yield { kind: "incomplete", line: startOfEntry.line, start: startOfEntry };
    return;
  }
  const end: Position = { offset, line: lineNo };
  if (current) yield finish(end);
  yield { kind: "end", end };
}
