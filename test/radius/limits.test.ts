// The RADIUS admission limits (src/radius/limits.ts) on an injected clock: token buckets (rate,
// burst, refill), the per-source map's bound under a spoofed-source flood, per-client buckets
// shared by a client's addresses, the pending cap, and a reload.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BucketMap, RadiusLimiter, TokenBucket, type RadiusLimitSettings } from "../../src/radius/limits.ts";

/** How many of n takes at one instant succeed. */
function takes(take: () => boolean, n: number): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (take()) ok++;
  return ok;
}

const settings = (over: Partial<RadiusLimitSettings> = {}): RadiusLimitSettings => ({ perSource: null, perClient: new Map(), maxPending: 1000, ...over });

describe("token bucket", () => {
  it("gives the burst at once, then nothing until time passes", () => {
    const b = new TokenBucket({ rate: 10, burst: 5 }, 0);
    assert.equal(takes(() => b.take(0), 20), 5);
    assert.equal(b.take(0), false);
  });

  it("refills at the rate: 10/s gives one token per 100 ms, never above the burst", () => {
    const b = new TokenBucket({ rate: 10, burst: 5 }, 0);
    takes(() => b.take(0), 5);
    assert.equal(b.take(99), false, "99 ms is not yet a token");
    assert.equal(b.take(100), true, "100 ms is one token");
    assert.equal(b.take(100), false);
    assert.equal(takes(() => b.take(350), 10), 2, "250 ms more: 2.5 tokens, two whole");
    assert.equal(takes(() => b.take(60_000), 100), 5, "a minute idle refills to the burst, not 600");
  });

  it("a fractional rate: 0.5/s is one request per 2 s", () => {
    const b = new TokenBucket({ rate: 0.5, burst: 1 }, 0);
    assert.equal(b.take(0), true);
    assert.equal(b.take(1999), false);
    assert.equal(b.take(2000), true);
  });

  it("isFull once it has refilled to its burst", () => {
    const b = new TokenBucket({ rate: 10, burst: 2 }, 0);
    assert.equal(b.isFull(0), true);
    b.take(0);
    assert.equal(b.isFull(50), false);
    assert.equal(b.isFull(100), true);
  });
});

describe("per-source bucket map", () => {
  it("keeps a bucket per key: one source's burst does not spend another's", () => {
    const m = new BucketMap({ rate: 1, burst: 3 }, 100, 0);
    assert.equal(takes(() => m.take("a", 0), 10), 3);
    assert.equal(takes(() => m.take("b", 0), 10), 3);
  });

  it("a flood of distinct sources never holds more than the bound", () => {
    const bound = 1000;
    const m = new BucketMap({ rate: 1, burst: 1 }, bound, 0);
    let most = 0;
    for (let i = 0; i < 50_000; i++) {
      m.take(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, i / 100); // 100 new sources per ms
      most = Math.max(most, m.size);
    }
    assert.equal(most, bound, "grew to the bound and no further");
  });

  it("forgets refilled (idle) buckets on the sweep, keeps those still limited", () => {
    const m = new BucketMap({ rate: 1, burst: 1 }, 1000, 0);
    for (let i = 0; i < 100; i++) m.take(`idle-${i}`, 0);
    assert.equal(m.size, 100);
    m.take("busy", 9_999);
    m.take("busy", 10_000); // the sweep runs 10 s after the last: the idle ones are full again
    assert.equal(m.size, 1, "only the bucket still spent is kept");
    assert.equal(m.take("busy", 10_000), false, "and it kept its state");
  });

  it("at the bound, eviction takes the least recently used, not a source in use", () => {
    const m = new BucketMap({ rate: 0.001, burst: 1 }, 10, 0);
    for (let i = 0; i < 10; i++) m.take(`s${i}`, 0);
    m.take("s0", 1); // s0 used last (and refused: its token is spent)
    m.take("new", 2); // at the bound: evicts down to 9, least recently used first
    assert.equal(m.take("s0", 3), false, "s0 was kept, still without a token");
    assert.equal(m.take("s1", 3), true, "s1 was evicted and came back full");
  });
});

describe("RADIUS limiter", () => {
  it("per-source limit: each address has its own burst", () => {
    const l = new RadiusLimiter(settings({ perSource: { rate: 1, burst: 4 } }), () => 0);
    assert.equal(takes(() => l.admit("127.0.0.2", "lab") === null, 10), 4);
    assert.equal(l.admit("127.0.0.2", "lab"), "rate-limited");
    assert.equal(takes(() => l.admit("127.0.0.3", "lab") === null, 10), 4);
  });

  it("per-client limit: all the client's addresses share one bucket; other clients are unaffected", () => {
    const l = new RadiusLimiter(settings({ perClient: new Map([["edge", { rate: 1, burst: 6 }]]) }), () => 0);
    let ok = 0;
    for (let i = 0; i < 10; i++) {
      if (l.admit("10.0.0.1", "edge") === null) ok++;
      if (l.admit("10.0.0.2", "edge") === null) ok++;
    }
    assert.equal(ok, 6);
    assert.equal(takes(() => l.admit("10.1.0.1", "core") === null, 50), 50, "a client without a limit");
  });

  it("pending cap: refuses as overloaded until held work settles", async () => {
    const l = new RadiusLimiter(settings({ maxPending: 2 }), () => 0);
    const releases: (() => void)[] = [];
    for (let i = 0; i < 2; i++) {
      assert.equal(l.admit("a", "c"), null);
      l.hold(new Promise<void>((resolve) => releases.push(resolve)));
    }
    assert.equal(l.pending, 2);
    assert.equal(l.admit("a", "c"), "overloaded");
    releases[0]!();
    await new Promise((r) => setImmediate(r));
    assert.equal(l.pending, 1);
    assert.equal(l.admit("a", "c"), null);
  });

  it("a failed request is released too", async () => {
    const l = new RadiusLimiter(settings({ maxPending: 1 }), () => 0);
    l.hold(Promise.reject(new Error("store down")));
    assert.equal(l.admit("a", "c"), "overloaded");
    await new Promise((r) => setImmediate(r));
    assert.equal(l.pending, 0);
    assert.equal(l.admit("a", "c"), null);
  });

  it("reload: a changed limit starts full, an unchanged one keeps its state, a removed one stops limiting", () => {
    const two = { rate: 1, burst: 2 };
    const l = new RadiusLimiter(settings({ perClient: new Map([["edge", two], ["core", two], ["dist", two]]) }), () => 0);
    for (const c of ["edge", "core", "dist"]) assert.equal(takes(() => l.admit("x", c) === null, 5), 2);
    l.configure(settings({ perClient: new Map([["edge", { rate: 1, burst: 2 }], ["dist", { rate: 1, burst: 3 }]]), perSource: { rate: 1, burst: 1 } }));
    assert.equal(l.admit("e", "edge"), "rate-limited", "edge's limit is unchanged: still spent");
    assert.equal(takes(() => l.admit(`d${Math.random()}`, "dist") === null, 5), 3, "dist's limit changed: a full new bucket");
    assert.equal(takes(() => l.admit(`c${Math.random()}`, "core") === null, 5), 5, "core has no limit now");
    assert.equal(l.admit("w", "core"), null);
    assert.equal(l.admit("w", "core"), "rate-limited", "the new per-source limit applies");
  });
});
