// RADIUS packets on a byte stream (RadSec, RFC 6614 section 2.5; RADIUS over TCP, RFC 6613
// section 2.6): packets follow each other back to back and the Length field is the only frame.
// Pure: bytes in, whole packets out; a Length outside 20..4096 poisons the stream, since nothing
// after it can be found again (the transport closes the connection).

import { HEADER_LENGTH, MAX_PACKET_LENGTH } from "./constants.ts";

const LENGTH_OFFSET = 2;

export type StreamFailure = "length-too-short" | "length-too-long";

export interface StreamResult {
  /** Whole packets, each exactly Length octets, in arrival order. */
  packets: Buffer[];
  /** Set once a Length is out of range; packets before it are still returned. */
  failure?: StreamFailure;
}

export class RadiusStreamReader {
  private buffer: Buffer = Buffer.alloc(0);
  private failure: StreamFailure | undefined;

  /** Octets received that do not yet make a whole packet. */
  get buffered(): number {
    return this.buffer.length;
  }

  push(chunk: Buffer): StreamResult {
    if (this.failure !== undefined) return { packets: [], failure: this.failure };
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const packets: Buffer[] = [];
    let offset = 0;
    while (this.buffer.length - offset >= LENGTH_OFFSET + 2) {
      const length = this.buffer.readUInt16BE(offset + LENGTH_OFFSET);
      if (length < HEADER_LENGTH || length > MAX_PACKET_LENGTH) {
        this.failure = length < HEADER_LENGTH ? "length-too-short" : "length-too-long";
        this.buffer = Buffer.alloc(0);
        return { packets, failure: this.failure };
      }
      if (this.buffer.length - offset < length) break;
      packets.push(this.buffer.subarray(offset, offset + length));
      offset += length;
    }
    this.buffer = offset === this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(offset);
    return { packets };
  }
}
