// The TACACS+ pending-work gate: counts work until it settles (fulfilled or rejected), and wakes
// the connections waiting for room once the count falls below the cap, each once.

import assert from "node:assert/strict";
import { test } from "node:test";
import { PendingGate } from "../../src/tacacs/pending.ts";

function deferred(): { promise: Promise<void>; resolve(): void; reject(e: Error): void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

test("full at the cap; waiters woken once when work settles, cancelled ones not", async () => {
  const gate = new PendingGate(2);
  const a = deferred();
  const b = deferred();
  gate.hold(a.promise);
  assert.equal(gate.full, false);
  let immediate = 0;
  gate.whenOpen(() => immediate++);
  assert.equal(immediate, 1, "room: resumed at once");
  gate.hold(b.promise);
  assert.equal(gate.full, true);
  const woken: string[] = [];
  const first = () => woken.push("first");
  const gone = () => woken.push("gone");
  gate.whenOpen(first);
  gate.whenOpen(gone);
  gate.cancel(gone);
  assert.deepEqual(woken, [], "nobody woken while full");
  a.reject(new Error("failed work frees its place too"));
  await new Promise((r) => setImmediate(r));
  assert.equal(gate.pending, 1);
  assert.deepEqual(woken, ["first"]);
  b.resolve();
  await new Promise((r) => setImmediate(r));
  assert.equal(gate.pending, 0);
  assert.deepEqual(woken, ["first"], "woken once only");
});
