// The duplicate cache: what counts as the same request, the answer kept byte for byte, the
// window and the bound.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DuplicateCache } from "../../src/radius/duplicates.ts";
import type { RadiusPacket } from "../../src/radius/packet.ts";

const packet = (code: number, identifier: number, auth: Buffer): RadiusPacket => ({ code, identifier, authenticator: auth, attributes: [] });
const auth = (fill: number) => Buffer.alloc(16, fill);

describe("DuplicateCache", () => {
  it("a key is the same only for the same source address, code, identifier and authenticator", () => {
    const base = DuplicateCache.key("192.0.2.1", packet(4, 7, auth(1)));
    assert.equal(DuplicateCache.key("192.0.2.1", packet(4, 7, auth(1))), base);
    for (const other of [
      DuplicateCache.key("192.0.2.11", packet(4, 7, auth(1))),
      DuplicateCache.key("192.0.2.1", packet(1, 7, auth(1))),
      DuplicateCache.key("192.0.2.1", packet(4, 8, auth(1))),
      DuplicateCache.key("192.0.2.1", packet(4, 7, auth(2))),
      DuplicateCache.key("2001:db8::1", packet(4, 7, auth(1))),
    ]) {
      assert.notEqual(other, base);
    }
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV4(), fc.nat(255), fc.nat(255), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (a1, a2, i1, i2, x1, x2) => {
        const same = a1 === a2 && i1 === i2 && Buffer.from(x1).equals(Buffer.from(x2));
        const k1 = DuplicateCache.key(a1, packet(4, i1, Buffer.from(x1)));
        const k2 = DuplicateCache.key(a2, packet(4, i2, Buffer.from(x2)));
        assert.equal(k1 === k2, same);
      }),
      { numRuns: 500 },
    );
  });

  it("drops copies while the first is handled, then answers them with the same octets", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 4096 }), (bytes) => {
        const cache = new DuplicateCache(30, 10);
        const key = DuplicateCache.key("127.0.0.1", packet(4, 1, auth(0)));
        assert.equal(cache.lookup(key).state, "new");
        cache.begin(key);
        assert.equal(cache.lookup(key).state, "in-progress");
        cache.answered(key, Buffer.from(bytes));
        const seen = cache.lookup(key);
        assert.ok(seen.state === "answered", seen.state);
        assert.ok(seen.response.equals(Buffer.from(bytes)), "the answer comes back byte for byte");
      }),
      { numRuns: 200 },
    );
  });

  it("forgets an unanswered request, and answers past their window", () => {
    const cache = new DuplicateCache(30, 10);
    const a = DuplicateCache.key("127.0.0.1", packet(4, 1, auth(0)));
    const b = DuplicateCache.key("127.0.0.1", packet(4, 2, auth(0)));
    cache.begin(a);
    cache.forget(a);
    assert.equal(cache.lookup(a).state, "new");
    cache.begin(b);
    cache.answered(b, Buffer.from([5, 2, 0, 20]));
    cache.sweep(Date.now() + 29_000);
    assert.equal(cache.lookup(b).state, "answered", "still within the window");
    cache.sweep(Date.now() + 31_000);
    assert.equal(cache.lookup(b).state, "new", "gone after the window");
  });

  it("keeps at most maxEntries, dropping the oldest", () => {
    const cache = new DuplicateCache(30, 3);
    const keys = [1, 2, 3, 4].map((i) => DuplicateCache.key("127.0.0.1", packet(4, i, auth(0))));
    for (const k of keys) cache.begin(k);
    assert.equal(cache.size, 3);
    assert.equal(cache.lookup(keys[0]!).state, "new");
    assert.equal(cache.lookup(keys[3]!).state, "in-progress");
  });
});
