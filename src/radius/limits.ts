// What the RADIUS server admits before it spends anything on a request: token buckets per
// source address and per client, and a cap on requests accepted but not yet finished (waiting
// for the store or plugins). It runs after the client lookup and before decoding, so a flood
// costs no cryptography. A refused request is dropped, never answered: the NAS retransmits
// (RFC 5080 section 2.2.1), and by then there may be room. docs/operator-guide.md explains
// each setting.

import type { ClientConfig, Config, RateLimit } from "../config/load.ts";
import type { DropReason } from "./drops.ts";

/** Per-source buckets kept at most; past this the fullest and then the least recently used go. */
export const MAX_SOURCE_BUCKETS = 100_000;
/** How often (ms) per-source buckets that have refilled are forgotten. */
const SWEEP_INTERVAL_MS = 10_000;

export interface RadiusLimitSettings {
  /** Requests per second from each source address; null: no limit. */
  perSource: RateLimit | null;
  /** By client name: requests per second from all the client's addresses together. */
  perClient: ReadonlyMap<string, RateLimit>;
  /** Requests accepted and not yet answered or dropped, on both ports together. */
  maxPending: number;
}

export function limitSettings(config: Pick<Config, "radius" | "clients">): RadiusLimitSettings {
  return {
    perSource: config.radius.rateLimitPerSource,
    perClient: new Map(config.clients.flatMap((c: ClientConfig) => (c.rateLimit === null ? [] : [[c.name, c.rateLimit] as const]))),
    maxPending: config.radius.maxPending,
  };
}

/**
 * A token bucket: holds up to `burst` tokens, gains `rate` a second, and a request takes one.
 * A full bucket is the same as a new one, which is what lets idle buckets be forgotten.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly limit: RateLimit,
    now: number,
  ) {
    this.tokens = limit.burst;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.updatedAt) / 1000;
    this.tokens = Math.min(this.limit.burst, this.tokens + elapsed * this.limit.rate);
    this.updatedAt = now;
  }

  /** Takes a token if there is one. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whether it has refilled to its burst, i.e. forgetting it changes nothing. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.limit.burst;
  }
}

/**
 * Buckets by key with a bound on how many are kept. Spoofed source addresses (within a client's
 * range) would otherwise add one bucket each. Full buckets are forgotten every sweep; when the
 * bound is reached anyway, full ones go first, then the least recently used: a forgotten bucket
 * comes back full, so the worst an eviction does is give one source its burst again.
 */
export class BucketMap {
  private readonly buckets = new Map<string, TokenBucket>();
  private lastSweep: number;

  constructor(
    readonly limit: RateLimit,
    private readonly maxBuckets: number,
    now: number,
  ) {
    this.lastSweep = now;
  }

  get size(): number {
    return this.buckets.size;
  }

  take(key: string, now: number): boolean {
    if (now - this.lastSweep >= SWEEP_INTERVAL_MS) this.sweep(now);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxBuckets) this.evict(now);
      bucket = new TokenBucket(this.limit, now);
    } else {
      this.buckets.delete(key); // re-inserted below: Map order is then least recently used first
    }
    this.buckets.set(key, bucket);
    return bucket.take(now);
  }

  /** Forgets buckets that have refilled. */
  sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(key);
  }

  /** Makes room for a tenth of the bound at once, so a flood does not sweep on every packet. */
  private evict(now: number): void {
    this.sweep(now);
    const target = Math.floor(this.maxBuckets * 0.9);
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= target) break;
      this.buckets.delete(key);
    }
  }
}

export type Refusal = Extract<DropReason, "rate-limited" | "overloaded">;

export class RadiusLimiter {
  private settings: RadiusLimitSettings;
  private perSource: BucketMap | null = null;
  private perClient = new Map<string, TokenBucket>();
  private pendingCount = 0;

  constructor(
    settings: RadiusLimitSettings,
    private readonly now: () => number = () => performance.now(),
    private readonly maxSourceBuckets = MAX_SOURCE_BUCKETS,
  ) {
    this.settings = settings;
    this.configure(settings);
  }

  /** A reload: changed limits start with full buckets, unchanged ones keep their state. */
  configure(settings: RadiusLimitSettings): void {
    const now = this.now();
    const same = (a: RateLimit | null | undefined, b: RateLimit | null | undefined) => a?.rate === b?.rate && a?.burst === b?.burst;
    if (settings.perSource === null) this.perSource = null;
    else if (this.perSource === null || !same(this.perSource.limit, settings.perSource)) this.perSource = new BucketMap(settings.perSource, this.maxSourceBuckets, now);
    const clients = new Map<string, TokenBucket>();
    for (const [name, limit] of settings.perClient) {
      const kept = this.perClient.get(name);
      clients.set(name, kept !== undefined && same(kept.limit, limit) ? kept : new TokenBucket(limit, now));
    }
    this.perClient = clients;
    this.settings = settings;
  }

  /** Requests accepted and not yet finished. */
  get pending(): number {
    return this.pendingCount;
  }

  /**
   * Asked for every datagram from a known client, before it is decoded: null to go on, or why
   * to drop it. A refused request takes no token from the buckets after the one that refused.
   */
  admit(sourceAddress: string, client: string): Refusal | null {
    const now = this.now();
    if (this.perSource !== null && !this.perSource.take(sourceAddress, now)) return "rate-limited";
    const clientBucket = this.perClient.get(client);
    if (clientBucket !== undefined && !clientBucket.take(now)) return "rate-limited";
    if (this.pendingCount >= this.settings.maxPending) return "overloaded";
    return null;
  }

  /** Counts a request's work as pending until it settles (answered, dropped or failed). */
  hold(work: Promise<unknown>): void {
    this.pendingCount++;
    const release = () => {
      this.pendingCount--;
    };
    work.then(release, release);
  }
}
