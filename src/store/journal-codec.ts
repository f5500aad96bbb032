// Framing of the spool journal (journal.ts): pure functions over Buffers, no file I/O.
//
// A journal is a sequence of frames. Each frame is
//
//   u32 BE  body length
//   u32 BE  CRC-32 of the body
//   body:   u8 kind (1 batch, 2 replayed) · u48 BE seq · u32 BE record count · payload
//
// A batch's payload is the JSON of { interval, records }: one appendRecords call, numbered by
// seq. A "replayed" frame has no payload and says that every batch up to its seq has been
// stored (the replay position). A crash in the middle of a write leaves a torn last frame:
// reading stops at the first frame that is short or fails its checksum and reports why, and
// everything before it is exactly the complete frames. Decoding never throws.

import { crc32 } from "node:zlib";
import type { AccountingRecord } from "../model/record.ts";

export const HEADER_BYTES = 8;
/** kind (1) + seq (6) + count (4) */
export const BODY_HEAD_BYTES = 11;
/**
 * Largest body written or accepted; a length field above it is corruption, not a frame to
 * wait for. (1000 records of a few KiB each take a few MiB.)
 */
export const MAX_BODY_BYTES = 256 * 1024 * 1024;
/** Largest seq that fits the frame's 48 bits. */
export const MAX_SEQ = 2 ** 48 - 1;

export type FrameKind = "batch" | "replayed";
const KIND_CODE: Record<FrameKind, number> = { batch: 1, replayed: 2 };

export interface Frame {
  kind: FrameKind;
  seq: number;
  /** Records in a batch; 0 for "replayed". */
  count: number;
  /** The batch's payload (a view into the decoded buffer); empty for "replayed". */
  payload: Buffer;
  /** Bytes of the whole frame, header included. */
  size: number;
}

/** Why reading stopped before the end of the buffer: a closed set, one reason each. */
export type FrameFailure =
  | "short-header" // fewer than HEADER_BYTES left
  | "bad-length" // the body length is below the body head or above MAX_BODY_BYTES
  | "short-body" // the body runs past the end of the buffer
  | "bad-checksum" // the body does not match its CRC-32
  | "bad-kind"; // checksum fine, but an unknown kind (a journal from a newer Tally)

export type FrameResult = { ok: true; frame: Frame } | { ok: false; reason: FrameFailure };

export interface BatchPayload {
  /** The defaultInterimInterval the batch was appended with. */
  interval: number | null;
  records: AccountingRecord[];
}

function frame(kind: FrameKind, seq: number, count: number, payload: Buffer): Buffer {
  if (!Number.isSafeInteger(seq) || seq < 0 || seq > MAX_SEQ) throw new RangeError(`journal: bad seq ${seq}`);
  // A frame too large to be read back must never be written (and acknowledged).
  if (BODY_HEAD_BYTES + payload.length > MAX_BODY_BYTES) throw new RangeError(`journal: a batch of ${payload.length} bytes is over the ${MAX_BODY_BYTES}-byte frame limit`);
  const out = Buffer.allocUnsafe(HEADER_BYTES + BODY_HEAD_BYTES + payload.length);
  const body = out.subarray(HEADER_BYTES);
  body.writeUInt8(KIND_CODE[kind], 0);
  body.writeUIntBE(seq, 1, 6);
  body.writeUInt32BE(count, 7);
  payload.copy(body, BODY_HEAD_BYTES);
  out.writeUInt32BE(body.length, 0);
  out.writeUInt32BE(crc32(body), 4);
  return out;
}

/** One appendRecords call as a frame. */
export function encodeBatch(seq: number, interval: number | null, records: readonly AccountingRecord[]): Buffer {
  const payload: BatchPayload = { interval, records: records as AccountingRecord[] };
  return frame("batch", seq, records.length, Buffer.from(JSON.stringify(payload), "utf8"));
}

/** "Every batch up to `seq` is in the store." */
export function encodeReplayed(seq: number): Buffer {
  return frame("replayed", seq, 0, Buffer.alloc(0));
}

/** The frame that starts at `offset`, or why there is no complete, intact one there. */
export function decodeFrame(buf: Buffer, offset = 0): FrameResult {
  if (buf.length - offset < HEADER_BYTES) return { ok: false, reason: "short-header" };
  const length = buf.readUInt32BE(offset);
  if (length < BODY_HEAD_BYTES || length > MAX_BODY_BYTES) return { ok: false, reason: "bad-length" };
  const start = offset + HEADER_BYTES;
  if (buf.length - start < length) return { ok: false, reason: "short-body" };
  const body = buf.subarray(start, start + length);
  if (crc32(body) !== buf.readUInt32BE(offset + 4)) return { ok: false, reason: "bad-checksum" };
  const code = body.readUInt8(0);
  const kind = code === 1 ? "batch" : code === 2 ? "replayed" : null;
  if (kind === null) return { ok: false, reason: "bad-kind" };
  return {
    ok: true,
    frame: { kind, seq: body.readUIntBE(1, 6), count: body.readUInt32BE(7), payload: body.subarray(BODY_HEAD_BYTES), size: HEADER_BYTES + length },
  };
}

export interface Scan {
  /** The complete, intact frames from the start, in order. */
  frames: Frame[];
  /** Bytes they take: where the next frame would start. */
  end: number;
  /** Why reading stopped before the end of the buffer; null when every byte was a frame. */
  stopped: FrameFailure | null;
}

/** Every complete frame from the start of `buf`, stopping at the first that is not. */
export function scanFrames(buf: Buffer): Scan {
  const frames: Frame[] = [];
  let end = 0;
  while (end < buf.length) {
    const r = decodeFrame(buf, end);
    if (!r.ok) return { frames, end, stopped: r.reason };
    frames.push(r.frame);
    end += r.frame.size;
  }
  return { frames, end, stopped: null };
}

/** A batch frame's records, or null when its payload is not what encodeBatch writes. */
export function decodeBatch(f: Frame): BatchPayload | null {
  if (f.kind !== "batch") return null;
  try {
    const p = JSON.parse(f.payload.toString("utf8")) as Partial<BatchPayload> | null;
    if (p === null || typeof p !== "object" || !Array.isArray(p.records) || p.records.length !== f.count) return null;
    const interval = p.interval;
    if (interval !== null && typeof interval !== "number") return null;
    return { interval, records: p.records };
  } catch {
    return null;
  }
}
