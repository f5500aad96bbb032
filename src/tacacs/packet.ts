// TACACS+ framing over a TCP byte stream (RFC 8907 §4.1): cut the stream into header + body
// frames, and seal or open whole packets (header plus obfuscated body, §4.5). The reader
// checks only what the cleartext header can tell; whether the body makes sense is
// bodies.ts's job, after openPacket.

import { HEADER_LENGTH, LENGTH_FIELD_OFFSET, HeaderFlag } from "./constants.ts";
import { decodeHeader, writeHeader } from "./header.ts";
import type { HeaderDecodeFailure, TacacsHeader } from "./header.ts";
import { obfuscate, obfuscateInto } from "./obfuscation.ts";

export interface TacacsPacket {
  header: TacacsHeader;
  /** De-obfuscated. */
  body: Buffer;
}

export type FrameFailure = HeaderDecodeFailure | "body-too-large";

export interface Frame {
  header: TacacsHeader;
  /** The body as received: still obfuscated unless the header says otherwise. */
  rawBody: Buffer;
}

export interface FrameResult {
  frames: Frame[];
  failure?: { reason: FrameFailure; offset: number };
}

const CONSUMED = Buffer.alloc(0);

/**
 * Streaming frame reader for one connection. Copes with packets split across chunks and with
 * several packets in one chunk. A failure poisons the reader: TCP gives no way to find the
 * next header after a bad one, so the connection must be closed. Failure offsets count
 * octets from the first one pushed into this reader (the stream offset of the field at
 * fault). A header announcing more than `maxBodyLength` fails at once, before any of that
 * body is buffered, so a hostile length cannot make us allocate.
 */
export class FrameReader {
  private readonly maxBodyLength: number;
  private chunks: Buffer[] = [];
  /** Index of the first chunk not yet consumed; avoids O(n) shifts when fed byte by byte. */
  private first = 0;
  private size = 0;
  /** Octets handed out as headers or bodies so far. */
  private consumed = 0;
  /** The header of a frame whose body has not fully arrived. */
  private pending: TacacsHeader | undefined;
  private failure: FrameResult["failure"];

  constructor(opts: { maxBodyLength: number }) {
    this.maxBodyLength = opts.maxBodyLength;
  }

  /** Octets received but not yet returned in a frame (a parsed header awaiting its body counts). */
  get buffered(): number {
    return this.size + (this.pending ? HEADER_LENGTH : 0);
  }

  push(chunk: Buffer): FrameResult {
    if (this.failure) return { frames: [], failure: this.failure };
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (!this.pending) {
        if (this.size < HEADER_LENGTH) break;
        const start = this.consumed;
        const r = decodeHeader(this.take(HEADER_LENGTH));
        if (!r.ok) return this.poison(frames, r.reason, start + r.offset);
        if (r.header.length > this.maxBodyLength) {
          return this.poison(frames, "body-too-large", start + LENGTH_FIELD_OFFSET);
        }
        this.pending = r.header;
      }
      if (this.size < this.pending.length) break;
      frames.push({ header: this.pending, rawBody: this.take(this.pending.length) });
      this.pending = undefined;
    }
    return { frames };
  }

  private poison(frames: Frame[], reason: FrameFailure, offset: number): FrameResult {
    this.failure = { reason, offset };
    this.chunks = [];
    this.first = 0;
    this.size = 0;
    this.pending = undefined;
    return { frames, failure: this.failure };
  }

  /** Removes and returns the next `n` buffered octets as a fresh Buffer (caller checked size). */
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[this.first]!;
      const want = n - filled;
      if (chunk.length <= want) {
        chunk.copy(out, filled);
        filled += chunk.length;
        this.chunks[this.first++] = CONSUMED; // its memory is not held until the next compaction
      } else {
        chunk.copy(out, filled, 0, want);
        this.chunks[this.first] = chunk.subarray(want);
        filled += want;
      }
    }
    // Drop consumed chunks when none is left, or now and then: not a new array per frame.
    if (this.first === this.chunks.length) {
      this.chunks.length = 0;
      this.first = 0;
    } else if (this.first >= 64) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
    this.size -= n;
    this.consumed += n;
    return out;
  }
}

/** The cleartext body of a received frame: de-obfuscated unless the Unencrypted flag is set. */
export function openPacket(header: TacacsHeader, rawBody: Buffer, key: Buffer): Buffer {
  if (header.flags & HeaderFlag.Unencrypted) return Buffer.from(rawBody);
  return obfuscate(rawBody, header, key);
}

/**
 * Header plus body, ready to write: sets the length and obfuscates the body unless the
 * Unencrypted flag is set. Throws (from writeHeader) on a header field out of range.
 */
export function sealPacket(header: Omit<TacacsHeader, "length">, body: Buffer, key: Buffer): Buffer {
  // Written out: { ...header, length } cost about 3 µs a packet in V8, more than the rest of
  // sealing a reply. This runs for every packet both ways.
  const full: TacacsHeader = {
    majorVersion: header.majorVersion,
    minorVersion: header.minorVersion,
    type: header.type,
    seqNo: header.seqNo,
    flags: header.flags,
    sessionId: header.sessionId,
    length: body.length,
  };
  const packet = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
  writeHeader(full, packet, 0);
  if (header.flags & HeaderFlag.Unencrypted) body.copy(packet, HEADER_LENGTH);
  else obfuscateInto(body, full, key, packet, HEADER_LENGTH);
  return packet;
}
