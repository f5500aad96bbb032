// detail-file: writes every accounting record to FreeRADIUS-style "detail" files, the plain
// text log that radrelay, log shippers and old billing scripts read. Each record appends one
// block:
//
//   Mon Jan 15 23:00:00 2024                  <- the record's eventTime, C ctime format, UTC
//   	Acct-Status-Type = "start"                <- every attribute as received: strings quoted
//   	Acct-Session-Time = 60                       (\" and \\ escaped as FreeRADIUS does),
//   	Tally-Protocol = radius                      numbers bare; then Tally's own lines
//   	Tally-Kind = start
//   	Timestamp = 1705359600                    <- when Tally received it (unix seconds), as
//                                               FreeRADIUS writes the packet's arrival time
//   (empty line)
//
// The record is already stored durably when the hook runs, so the hook queues the block and
// answers `ok` at once; a background writer appends the queued blocks of each file in order
// (a burst is written with one append, blocks never interleave). Directories are created as
// needed (mode 0750, files 0640). A failed write is logged as an error; the records stay in
// the store. close() waits for every pending write.
//
// Options:
//   directory  (required) where the files go; a relative path is taken from the folder of
//              tally.yaml
//   pattern    file path under `directory` (default "%{nas}/detail-%Y%m%d"):
//                %{nas}       the record's NAS (NAS-Identifier, else its address)
//                %{client}    the configured client name
//                %{protocol}  radius, tacacs or openvpn
//                %Y %m %d %H  year, month, day, hour of the record's eventTime (UTC)
//                %%           a literal %
//              characters other than letters, digits, ".", "_" and "-" in a value become "_"
//
// Example (tally.yaml):
//   plugins:
//     - module: detail-file
//       options: { directory: "/var/log/tally/radacct" }

import { parseOptions } from "./options.ts";
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { AccountingContext, AccountingDecision, AccountingRecord, Plugin, PluginSetup, RecordAttribute } from "../api.ts";
import { definePlugin } from "../api.ts";

const NAME = "detail-file";
const DEFAULT_PATTERN = "%{nas}/detail-%Y%m%d";
const TOKEN = /%\{([^}]*)\}|%(.)|%$/g;
const VARIABLES = ["nas", "client", "protocol"] as const;
const DATE_LETTERS = "YmdH";

/** Why a pattern is unusable, or null when it is fine. */
function patternProblem(pattern: string): string | null {
  for (const m of pattern.matchAll(TOKEN)) {
    const [token, variable, letter] = m;
    if (variable !== undefined && !(VARIABLES as readonly string[]).includes(variable)) {
      return `unknown ${token} (expected %{nas}, %{client}, %{protocol}, %Y, %m, %d, %H or %%)`;
    }
    if (variable === undefined && letter === undefined) return "a lone % at the end (write %% for a literal %)";
    if (letter !== undefined && letter !== "%" && !DATE_LETTERS.includes(letter)) {
      return `unknown ${token} (expected %{nas}, %{client}, %{protocol}, %Y, %m, %d, %H or %%)`;
    }
  }
  if (pattern.startsWith("/") || path.isAbsolute(pattern)) return "expected a path relative to directory";
  const parts = pattern.split(/[\\/]/);
  if (parts.some((p) => p === "..")) return 'expected a path without ".." inside directory';
  if (parts.at(-1) === "") return "expected a file name at the end, not a directory";
  return null;
}

export const detailFileOptions = z.strictObject({
  directory: z.string({ error: "expected a directory path" }).min(1, { error: "expected a directory path" }),
  pattern: z
    .string({ error: "expected a file name pattern such as \"%{nas}/detail-%Y%m%d\"" })
    .min(1, { error: "expected a file name pattern such as \"%{nas}/detail-%Y%m%d\"" })
    .superRefine((p, ctx) => {
      const problem = patternProblem(p);
      if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
    })
    .default(DEFAULT_PATTERN),
});

export type DetailFileOptions = z.output<typeof detailFileOptions>;

/** Validates options; the error names the option and what was expected. */
export function parseDetailFileOptions(options: unknown): DetailFileOptions {
  return parseOptions(NAME, detailFileOptions, options);
}

// ---- formatting ------------------------------------------------------------------------

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const pad2 = (n: number) => String(n).padStart(2, "0");

/** C ctime(3) format without the newline, in UTC: "Mon Nov  2 01:02:03 2026". */
export function ctime(ms: number): string {
  const d = new Date(ms);
  const day = DAYS[d.getUTCDay()] ?? "???";
  const month = MONTHS[d.getUTCMonth()] ?? "???";
  const time = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  // asctime's "%.3s %.3s%3d %.2d:%.2d:%.2d %d": the day of the month is space-padded.
  return `${day} ${month} ${String(d.getUTCDate()).padStart(2, " ")} ${time} ${d.getUTCFullYear()}`;
}

// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const NEEDS_ESCAPE = /[\\"\x00-\x1f\x7f]/g;
const NAMED_ESCAPES: Record<string, string> = { "\\": "\\\\", '"': '\\"', "\r": "\\r", "\n": "\\n", "\t": "\\t" };

function escapeChar(ch: string): string {
  return NAMED_ESCAPES[ch] ?? `\\${(ch.codePointAt(0) ?? 0).toString(8).padStart(3, "0")}`;
}

/**
 * A string value as FreeRADIUS prints it in a detail file (fr_prints with a '"' quote):
 * backslash and quote escaped, \r \n \t by name, other control characters in octal.
 */
export function quoteValue(s: string): string {
  return `"${s.replace(NEEDS_ESCAPE, escapeChar)}"`;
}

function attributeLine(a: RecordAttribute): string {
  const name = a.tag === undefined ? a.name : `${a.name}:${a.tag}`;
  const value = typeof a.value === "number" ? String(a.value) : quoteValue(a.value);
  return `\t${name} = ${value}\n`;
}

/** One detail-file block for a record, ending with its empty line. */
export function detailBlock(record: Readonly<AccountingRecord>): string {
  let out = `${ctime(record.eventTime)}\n`;
  for (const a of record.attributes) out += attributeLine(a);
  out += `\tTally-Protocol = ${record.protocol}\n`;
  out += `\tTally-Kind = ${record.kind}\n`;
  out += `\tTimestamp = ${Math.floor(record.receivedAt / 1000)}\n`;
  return `${out}\n`;
}

/** A value made safe to be one path component. */
export function safeComponent(value: string): string {
  const s = value.replace(/[^A-Za-z0-9._-]/g, "_");
  // "", "." and ".." would name the parent or the directory itself.
  return /^\.*$/.test(s) ? s.replace(/\./g, "_").padEnd(1, "_") : s;
}

/** The file (relative to the directory) a record goes to. */
export function expandPattern(pattern: string, record: Readonly<AccountingRecord>): string {
  const d = new Date(record.eventTime);
  return pattern.replace(TOKEN, (token: string, variable: string | undefined, letter: string | undefined) => {
    if (variable !== undefined) {
      const value = variable === "nas" ? record.nas : variable === "client" ? record.client : variable === "protocol" ? record.protocol : "";
      return safeComponent(value);
    }
    switch (letter) {
      case "Y":
        return String(d.getUTCFullYear()).padStart(4, "0");
      case "m":
        return pad2(d.getUTCMonth() + 1);
      case "d":
        return pad2(d.getUTCDate());
      case "H":
        return pad2(d.getUTCHours());
      case "%":
        return "%";
      default:
        // patternProblem rejects everything else.
        return token;
    }
  });
}

// ---- the plugin ------------------------------------------------------------------------

export interface DetailFileStats {
  /** Records appended to their file. */
  written: number;
  /** Records whose append failed. */
  failed: number;
  /** Records waiting to be appended. */
  pending: number;
}

export interface DetailFilePlugin extends Plugin {
  accounting(record: Readonly<AccountingRecord>, context?: AccountingContext): AccountingDecision;
  close(): Promise<void>;
  stats(): DetailFileStats;
}

interface FileQueue {
  blocks: string[];
  /** The writer loop of this file, while it runs. */
  writing: Promise<void> | null;
}

export function createDetailFile(setup: PluginSetup): DetailFilePlugin {
  const opts = parseDetailFileOptions(setup.options);
  const log = setup.log;
  const directory = path.resolve(setup.baseDir ?? ".", opts.directory);
  const files = new Map<string, FileQueue>();
  const madeDirectories = new Set<string>();
  let written = 0;
  let failed = 0;
  let pending = 0;
  let closing = false;

  async function append(file: string, data: string): Promise<void> {
    const dir = path.dirname(file);
    if (!madeDirectories.has(dir)) {
      await fs.mkdir(dir, { recursive: true, mode: 0o750 });
      madeDirectories.add(dir);
    }
    try {
      await fs.appendFile(file, data, { mode: 0o640 });
    } catch (e) {
      // The directory went away (log rotation, cleanup): make it again and retry once.
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      madeDirectories.delete(dir);
      await fs.mkdir(dir, { recursive: true, mode: 0o750 });
      madeDirectories.add(dir);
      await fs.appendFile(file, data, { mode: 0o640 });
    }
  }

  async function drain(file: string, q: FileQueue): Promise<void> {
    while (q.blocks.length > 0) {
      const blocks = q.blocks;
      q.blocks = [];
      try {
        await append(file, blocks.join(""));
        written += blocks.length;
      } catch (e) {
        failed += blocks.length;
        const error = (e as NodeJS.ErrnoException).code ?? String(e);
        log.error({ file, records: blocks.length, error }, `${NAME}: cannot append ${blocks.length} record(s) to ${file}: ${error}`);
      } finally {
        pending -= blocks.length;
      }
    }
  }

  function enqueue(file: string, block: string): void {
    let q = files.get(file);
    if (q === undefined) {
      q = { blocks: [], writing: null };
      files.set(file, q);
    }
    q.blocks.push(block);
    pending++;
    if (q.writing === null) startWriter(file, q);
  }

  function startWriter(file: string, q: FileQueue): void {
    q.writing = drain(file, q).finally(() => {
      q.writing = null;
      // A block queued as the loop ended: go on. Otherwise forget the idle file, so a
      // long-running server does not keep one entry per day per NAS.
      if (q.blocks.length > 0) startWriter(file, q);
      else files.delete(file);
    });
  }

  function accounting(record: Readonly<AccountingRecord>): AccountingDecision {
    if (closing) {
      log.warn({ kind: record.kind, sessionId: record.sessionId }, `${NAME}: closed; record not written`);
      return { status: "ok" };
    }
    const file = path.join(directory, expandPattern(opts.pattern, record));
    // The pattern cannot climb out (no ".." in it, values made safe), but make sure.
    const inside = path.relative(directory, file);
    if (inside === "" || inside === ".." || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) {
      log.error({ file }, `${NAME}: ${file} is outside ${directory}; record not written`);
      return { status: "ok" };
    }
    enqueue(file, detailBlock(record));
    return { status: "ok" };
  }

  async function close(): Promise<void> {
    closing = true;
    // A file's loop may hand over to a new loop as it ends; wait until none is left.
    for (;;) {
      const writers = [...files.values()].map((q) => q.writing).filter((w) => w !== null);
      if (writers.length === 0) break;
      await Promise.all(writers);
    }
    log.info({ written, failed }, `${NAME}: closed`);
  }

  return {
    name: NAME,
    accounting,
    close,
    stats: () => ({ written, failed, pending }),
  };
}

export default definePlugin(createDetailFile);
