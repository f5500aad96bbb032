// ConnectionLimits: the total and per-source caps both TACACS+ listeners share.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ConnectionLimits } from "../../src/tacacs/connection-limits.ts";

test("the per-source cap refuses the next connection from that address only", () => {
  const limits = new ConnectionLimits(10, 2);
  assert.equal(limits.admit("192.0.2.1"), null);
  assert.equal(limits.admit("192.0.2.1"), null);
  assert.equal(limits.admit("192.0.2.1"), "source-connection-limit");
  assert.equal(limits.admit("192.0.2.2"), null);
  assert.equal(limits.open, 3, "a refusal counts nothing");
  limits.release("192.0.2.1");
  assert.equal(limits.admit("192.0.2.1"), null, "a closed connection frees its place");
});

test("the total cap applies across sources, and wins over the per-source one", () => {
  const limits = new ConnectionLimits(3, 2);
  assert.equal(limits.admit("192.0.2.1"), null);
  assert.equal(limits.admit("192.0.2.2"), null);
  assert.equal(limits.admit("192.0.2.3"), null);
  assert.equal(limits.admit("192.0.2.4"), "connection-limit");
  assert.equal(limits.admit("192.0.2.1"), "connection-limit");
  limits.release("192.0.2.3");
  assert.equal(limits.open, 2);
  assert.equal(limits.admit("192.0.2.4"), null);
});

test("releasing more than was admitted never goes negative", () => {
  const limits = new ConnectionLimits(1, 1);
  limits.release("192.0.2.9");
  assert.equal(limits.open, 0);
  assert.equal(limits.admit("192.0.2.9"), null);
  assert.equal(limits.admit("192.0.2.8"), "connection-limit");
});
