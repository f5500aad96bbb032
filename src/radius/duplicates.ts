// The duplicate cache (RFC 5080 §2.2.2): a request seen again from the same source with the
// same code, identifier and authenticator is a retransmission. While the first copy is being
// handled the copy is dropped; once it is answered the same answer goes out again, for
// `windowSeconds`. Bounded: at most `maxEntries`, the oldest out first.
//
// It holds one entry per request of the last window (150,000-200,000 under load) on the main
// thread, so entries are kept small: the key is one flat string, the answer is kept as a
// latin1 string rather than a Buffer (a Buffer is two heap objects and a backing store), the
// expiry in whole seconds (a small integer, not a heap number). A heap snapshot after 100,000
// accounting requests showed the cache at about 600 bytes per entry before, most of the heap.

import type { RadiusPacket } from "./packet.ts";

/** A request being handled: retransmissions of it are dropped. */
const IN_PROGRESS = Symbol("in progress");

class Answered {
  constructor(
    readonly response: string,
    /** Seconds since the epoch. */
    readonly expires: number,
  ) {}
}

export type DuplicateLookup = { state: "new" } | { state: "in-progress" } | { state: "answered"; response: Buffer };

const NEW: DuplicateLookup = Object.freeze({ state: "new" });
const BUSY: DuplicateLookup = Object.freeze({ state: "in-progress" });

/** Room for the longest source address (IPv6 with a zone) and the fixed part. */
let scratch = Buffer.allocUnsafe(128);

export class DuplicateCache {
  readonly #entries = new Map<string, typeof IN_PROGRESS | Answered>();

  constructor(
    private readonly windowSeconds: number,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The request's identity: source address (not port: some NASes retransmit from a new port),
   * code, identifier and authenticator, as one flat latin1 string.
   */
  static key(sourceAddress: string, packet: RadiusPacket): string {
    const need = sourceAddress.length + 19;
    if (need > scratch.length) scratch = Buffer.allocUnsafe(need * 2);
    let at = scratch.write(sourceAddress, 0, "latin1");
    scratch[at++] = 0;
    scratch[at++] = packet.code;
    scratch[at++] = packet.identifier;
    at += packet.authenticator.copy(scratch, at, 0, 16);
    return scratch.toString("latin1", 0, at);
  }

  /** What is known of the request with this key. */
  lookup(key: string): DuplicateLookup {
    const e = this.#entries.get(key);
    if (e === undefined) return NEW;
    if (e === IN_PROGRESS) return BUSY;
    return { state: "answered", response: Buffer.from(e.response, "latin1") };
  }

  /** The request is being handled (evicts the oldest entry when full). */
  begin(key: string): void {
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, IN_PROGRESS);
  }

  /** The request was answered with `response`: its retransmissions get the same, for the window. */
  answered(key: string, response: Buffer): void {
    this.#entries.set(key, new Answered(response.toString("latin1"), Math.floor(Date.now() / 1000) + this.windowSeconds));
  }

  /** The request was not answered (dropped, failed): a retransmission is handled afresh. */
  forget(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops the answers whose window has passed. */
  sweep(nowMs = Date.now()): void {
    const now = Math.floor(nowMs / 1000);
    for (const [key, e] of this.#entries) if (e !== IN_PROGRESS && e.expires <= now) this.#entries.delete(key);
  }
}
