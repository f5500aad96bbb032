// The spool journal: one append-only file of batches of AccountingRecords (framing in
// journal-codec.ts), kept while the store is unreachable and read back, in order, when it
// returns. An append resolves only after its frame is written and fdatasync'd, so a record
// acknowledged from the journal survives a crash or a power cut. Appends that arrive while a
// write is under way go out together in the next write, with one fdatasync for all of them.
//
// The replay position is in the file too: a "replayed" frame after a batch says it is in the
// store. Once every batch has been replayed the file is truncated to nothing. Opening reads
// the file, drops a torn last frame (a write the crash cut short: never acknowledged) and
// knows what is left to replay. One process uses a journal at a time.

import fs from "node:fs/promises";
import path from "node:path";
import type { AccountingRecord } from "../model/record.ts";
import { decodeBatch, decodeFrame, encodeBatch, encodeReplayed, HEADER_BYTES, type FrameFailure } from "./journal-codec.ts";

/** Bytes read at a time when the journal is opened. */
const READ_CHUNK = 4 * 1024 * 1024;

/** A batch waiting in the journal, as read back for replay. */
export type JournalBatch =
  | { seq: number; interval: number | null; records: AccountingRecord[] }
  /** Its frame is intact but its payload is not what this Tally writes (kept aside, not lost). */
  | { seq: number; unreadable: Buffer };

/** What opening found. */
export interface JournalRecovery {
  /** Records (and batches) waiting to be replayed. */
  records: number;
  batches: number;
  /** A torn or corrupt tail that was cut off: where, how many bytes and why; null if none. */
  torn: { offset: number; bytes: number; reason: FrameFailure } | null;
}

interface Entry {
  seq: number;
  count: number;
  /** Where its frame starts in the file; known once it is written. */
  offset: number;
  size: number;
  durable: boolean;
}

type Op =
  | { kind: "write"; buf: Buffer; entry: Entry | null; resolve: () => void; reject: (e: Error) => void }
  /** Truncate the file to nothing if, by the time this op runs, nothing waits in it. */
  | { kind: "reset"; resolve: () => void; reject: (e: Error) => void };

async function syncDirectory(dir: string): Promise<void> {
  const d = await fs.open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

async function writeAll(fh: fs.FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

async function readExactly(fh: fs.FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

export class Journal {
  readonly file: string;
  readonly #fh: fs.FileHandle;
  /** Where the next frame goes. */
  #end: number;
  #nextSeq: number;
  /**
   * Batches not yet replayed, oldest first (written or about to be), from #head on: replayed
   * ones are skipped by moving #head (Array.shift is linear in V8 on large arrays) and cut off
   * now and then.
   */
  #pending: Entry[];
  #head = 0;
  #depth: number;
  #ops: Op[] = [];
  /** Set and cleared synchronously by #pump, so no op is ever queued without a pump to run it. */
  #pumping = false;
  #pumped: Promise<void> = Promise.resolve();
  #failure: Error | null = null;
  #closed = false;

  private constructor(file: string, fh: fs.FileHandle, end: number, nextSeq: number, pending: Entry[]) {
    this.file = file;
    this.#fh = fh;
    this.#end = end;
    this.#nextSeq = nextSeq;
    this.#pending = pending;
    this.#depth = pending.reduce((n, e) => n + e.count, 0);
  }

  /** Opens (creating it and its directory if needed) and reads the journal at `file`. */
  static async open(file: string): Promise<{ journal: Journal; recovery: JournalRecovery }> {
    const dir = path.dirname(path.resolve(file));
    await fs.mkdir(dir, { recursive: true });
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(file, "r+");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      fh = await fs.open(file, "wx+");
      // The file's directory entry must survive a power cut as well as its contents.
      await fh.sync();
      await syncDirectory(dir);
    }
    try {
      return await Journal.#read(file, fh);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  static async #read(file: string, fh: fs.FileHandle): Promise<{ journal: Journal; recovery: JournalRecovery }> {
    const size = (await fh.stat()).size;
    const batches: Entry[] = [];
    let replayedThrough = 0;
    let maxSeq = 0;
    // `buf` holds the file from `bufAt`; frames are decoded from it, and it is refilled
    // (keeping the unread part) whenever a frame runs past its end.
    let buf = Buffer.alloc(0);
    let bufAt = 0;
    let pos = 0;
    let stopped: FrameFailure | null = null;
    while (bufAt + pos < size) {
      const r = decodeFrame(buf, pos);
      if (r.ok) {
        const f = r.frame;
        if (f.kind === "batch") batches.push({ seq: f.seq, count: f.count, offset: bufAt + pos, size: f.size, durable: true });
        else replayedThrough = Math.max(replayedThrough, f.seq);
        maxSeq = Math.max(maxSeq, f.seq);
        pos += f.size;
        continue;
      }
      const readTo = bufAt + buf.length;
      if ((r.reason === "short-header" || r.reason === "short-body") && readTo < size) {
        const need = r.reason === "short-body" ? HEADER_BYTES + buf.readUInt32BE(pos) - (buf.length - pos) : HEADER_BYTES;
        const more = await readExactly(fh, Math.min(size - readTo, Math.max(READ_CHUNK, need)), readTo);
        buf = Buffer.concat([buf.subarray(pos), more]);
        bufAt += pos;
        pos = 0;
        continue;
      }
      stopped = r.reason;
      break;
    }
    const end = bufAt + pos;
    const torn = stopped === null ? null : { offset: end, bytes: size - end, reason: stopped };
    const pending = batches.filter((b) => b.seq > replayedThrough);
    let keep = end;
    // Nothing left to replay: start the file afresh (a torn tail goes with it).
    if (pending.length === 0) keep = 0;
    if (keep < size) {
      await fh.truncate(keep);
      await fh.sync();
    }
    const journal = new Journal(file, fh, keep, maxSeq + 1, pending);
    return { journal, recovery: { records: journal.depth, batches: pending.length, torn } };
  }

  /** Records waiting to be replayed (including those being written now). */
  get depth(): number {
    return this.#depth;
  }

  /** Batches waiting to be replayed. */
  get batches(): number {
    return this.#pending.length - this.#head;
  }

  /** Writes the batch and resolves once it is on disk (fdatasync). */
  append(records: readonly AccountingRecord[], interval: number | null): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`journal ${this.file} is closed`));
    if (this.#failure !== null) return Promise.reject(this.#failure);
    let buf: Buffer;
    try {
      buf = encodeBatch(this.#nextSeq, interval, records);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const seq = this.#nextSeq++;
    const entry: Entry = { seq, count: records.length, offset: -1, size: buf.length, durable: false };
    this.#pending.push(entry);
    this.#depth += entry.count;
    return this.#enqueue({ kind: "write", buf, entry });
  }

  /**
   * The oldest waiting batches that are on disk, in order: as many as fit in `maxRecords`
   * (at least one). Empty when nothing written is waiting.
   */
  async readPending(maxRecords: number): Promise<JournalBatch[]> {
    const take: Entry[] = [];
    let records = 0;
    for (let i = this.#head; i < this.#pending.length; i++) {
      const e = this.#pending[i]!;
      if (!e.durable || (take.length > 0 && records + e.count > maxRecords)) break;
      take.push(e);
      records += e.count;
    }
    if (take.length === 0) return [];
    const first = take[0]!;
    const last = take[take.length - 1]!;
    const buf = await readExactly(this.#fh, last.offset + last.size - first.offset, first.offset);
    return take.map((e): JournalBatch => {
      const r = decodeFrame(buf, e.offset - first.offset);
      const frame = r.ok && r.frame.kind === "batch" && r.frame.seq === e.seq ? r.frame : null;
      const payload = frame === null ? null : decodeBatch(frame);
      if (payload !== null) return { seq: e.seq, ...payload };
      return { seq: e.seq, unreadable: Buffer.from(buf.subarray(e.offset - first.offset, e.offset - first.offset + e.size)) };
    });
  }

  /**
   * Every batch up to `seq` is in the store: they stop counting at once, and a "replayed"
   * frame records it. When nothing is left the file is truncated. Resolves once written.
   */
  markReplayed(seq: number): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`journal ${this.file} is closed`));
    while (this.#head < this.#pending.length && this.#pending[this.#head]!.seq <= seq) this.#depth -= this.#pending[this.#head++]!.count;
    if (this.#head >= 1024 && this.#head * 2 >= this.#pending.length) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const written = this.#enqueue({ kind: "write", buf: encodeReplayed(seq), entry: null });
    if (this.batches > 0) return written;
    return Promise.all([written, this.#enqueue({ kind: "reset" })]).then(() => undefined);
  }

  #enqueue(op: Omit<Extract<Op, { kind: "write" }>, "resolve" | "reject"> | Omit<Extract<Op, { kind: "reset" }>, "resolve" | "reject">): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#ops.push({ ...op, resolve, reject } as Op);
      if (!this.#pumping) {
        this.#pumping = true;
        this.#pumped = this.#pump();
      }
    });
  }

  /**
   * Runs the queued ops in order: consecutive writes as one write and one fdatasync. The flag
   * is cleared in the same turn as the queue is found empty (not a microtask later), so an op
   * queued by a continuation of the last write always starts a new pump.
   */
  async #pump(): Promise<void> {
    try {
      while (this.#ops.length > 0) {
        const op = this.#ops[0]!;
        if (op.kind === "reset") {
          this.#ops.shift();
          try {
            if (this.batches === 0 && this.#end > 0) {
              await this.#fh.truncate(0);
              await this.#fh.sync();
              this.#end = 0;
            }
            op.resolve();
          } catch (err) {
            this.#fail(err as Error, [op]);
          }
          continue;
        }
        const group: Extract<Op, { kind: "write" }>[] = [];
        while (this.#ops[0]?.kind === "write") group.push(this.#ops.shift() as Extract<Op, { kind: "write" }>);
        let at = this.#end;
        for (const w of group) {
          if (w.entry !== null) w.entry.offset = at;
          at += w.buf.length;
        }
        try {
          await writeAll(this.#fh, Buffer.concat(group.map((w) => w.buf)), this.#end);
          await this.#fh.datasync();
        } catch (err) {
          this.#fail(err as Error, group);
          continue;
        }
        this.#end = at;
        for (const w of group) {
          if (w.entry !== null) w.entry.durable = true;
          w.resolve();
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * A write or sync failed: after a failed fdatasync nothing is known about what reached the
   * disk, so the journal takes no more appends. What was being written was never acknowledged;
   * it stops counting. Batches already on disk can still be read and replayed.
   */
  #fail(err: Error, group: Op[]): void {
    this.#failure = new Error(`journal ${this.file}: ${err.message}`, { cause: err });
    const ops = [...group, ...this.#ops.splice(0)];
    for (const op of ops) {
      if (op.kind === "write" && op.entry !== null && !op.entry.durable) {
        const i = this.#pending.indexOf(op.entry, this.#head);
        if (i >= 0) {
          this.#pending.splice(i, 1);
          this.#depth -= op.entry.count;
        }
      }
      op.reject(this.#failure);
    }
  }

  /** Resolves when the writes queued now are done (or failed). */
  async settled(): Promise<void> {
    while (this.#pumping) await this.#pumped;
  }

  /**
   * Keeps what the store refused for good beside the journal, in FILE.rejected (JSON lines,
   * fsync'd): acknowledged records are never dropped, only set aside for an operator.
   */
  async setAside(entry: object): Promise<void> {
    const file = `${this.file}.rejected`;
    let created = false;
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(file, "a");
    } catch (err) {
      throw new Error(`journal: cannot open ${file}: ${(err as Error).message}`, { cause: err });
    }
    try {
      created = (await fh.stat()).size === 0;
      await fh.appendFile(`${JSON.stringify(entry)}\n`);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    if (created) await syncDirectory(path.dirname(path.resolve(file)));
  }

  /** Waits for queued writes, then closes the file. What waits in it stays for the next open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#pumping) await this.#pumped;
    await this.#fh.close();
  }
}
