// How far `tally import detail` got in each file, so that a rerun continues where the last
// run stopped. One JSON file holds every file's position, keyed by absolute path; a position is
// written only after the batch that reaches it is durable in the store, and the file is
// replaced atomically (write, fsync, rename), so an interrupted run leaves a true position.
//
// A position is only trusted for the same file: one that starts with the same bytes (a hash of
// up to its first 4 KiB) and is at least as long as the position. A file rotated, replaced or
// truncated under the same name is read again from the start (the store's dedupKey makes that
// safe: what was imported already counts as duplicates).

import { createHash } from "node:crypto";
import { open, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Position } from "./detail-reader.ts";

const HEAD_BYTES = 4096;
const VERSION = 1;

export interface FileState extends Position {
  /** How many of the file's first bytes `headHash` covers. */
  headLength: number;
  /** sha256 (base64url) of the first headLength bytes. */
  headHash: string;
  size: number;
  inode: number;
  updatedAt: string;
}

interface StateFile {
  version: number;
  files: Record<string, FileState>;
}

/** What a file is now: enough to tell whether a saved position still belongs to it. */
export interface FileIdentity {
  size: number;
  inode: number;
  /** Up to the first 4 KiB. */
  head: Buffer;
}

export async function fileIdentity(path: string): Promise<FileIdentity> {
  const fh = await open(path, "r");
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`${path}: not a regular file`);
    const head = Buffer.alloc(Math.min(HEAD_BYTES, st.size));
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return { size: st.size, inode: st.ino, head: head.subarray(0, bytesRead) };
  } finally {
    await fh.close();
  }
}

function hash(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("base64url");
}

export type Resume =
  | { from: Position; why: "new" | "resume" }
  | { from: Position; why: "changed" | "truncated" };

/** Where to start reading `id`'s file given what was saved for its path. */
export function resumePoint(saved: FileState | undefined, id: FileIdentity): Resume {
  const start = { offset: 0, line: 1 };
  if (saved === undefined) return { from: start, why: "new" };
  if (saved.headLength > id.head.length || hash(id.head.subarray(0, saved.headLength)) !== saved.headHash) return { from: start, why: "changed" };
  if (saved.offset > id.size) return { from: start, why: "truncated" };
  return { from: { offset: saved.offset, line: saved.line }, why: "resume" };
}

export class ImportState {
  readonly path: string;
  #files: Record<string, FileState>;

  private constructor(path: string, files: Record<string, FileState>) {
    this.path = path;
    this.#files = files;
  }

  /** Reads the state file; a missing one is an empty state. */
  static async load(path: string): Promise<ImportState> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return new ImportState(path, {});
      throw e;
    }
    let parsed: StateFile;
    try {
      parsed = JSON.parse(text) as StateFile;
    } catch {
      throw new Error(`${path}: not an import state file (not JSON); remove it to import from the start`);
    }
    if (parsed?.version !== VERSION || typeof parsed.files !== "object" || parsed.files === null) {
      throw new Error(`${path}: not an import state file of this Tally (version ${VERSION})`);
    }
    return new ImportState(path, parsed.files);
  }

  get(file: string): FileState | undefined {
    return this.#files[file];
  }

  /** Records `position` for `file` (identified by `id`) and makes it durable. */
  async save(file: string, id: FileIdentity, position: Position): Promise<void> {
    this.#files[file] = {
      offset: position.offset,
      line: position.line,
      headLength: id.head.length,
      headHash: hash(id.head),
      size: id.size,
      inode: id.inode,
      updatedAt: new Date().toISOString(),
    };
    const body: StateFile = { version: VERSION, files: this.#files };
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(body, null, 2)}\n`);
    const fh = await open(tmp, "r+");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    // The rename itself is durable once the directory is.
    const dir = await open(dirname(this.path), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
