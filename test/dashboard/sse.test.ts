// The dashboard's text/event-stream parser (dashboard/src/sse.ts): events split across chunks
// at any byte, CRLF, comments, multi-line data.

import assert from "node:assert/strict";
import { test } from "node:test";
import { SseParser } from "../../dashboard/src/sse.ts";

const STREAM = ': keep-alive\n\nevent: session\ndata: {"id":1}\n\nevent: overview\r\ndata: a\r\ndata: b\r\n\r\ndata: plain\nid: 7\n\n';
const EXPECTED = [
  { event: "session", data: '{"id":1}' },
  { event: "overview", data: "a\nb" },
  { event: "message", data: "plain", id: "7" },
];

test("a whole stream at once", () => {
  assert.deepEqual(new SseParser().push(STREAM), EXPECTED);
});

test("the same stream split at every position gives the same events", () => {
  for (let i = 0; i <= STREAM.length; i++) {
    const p = new SseParser();
    const got = [...p.push(STREAM.slice(0, i)), ...p.push(STREAM.slice(i))];
    assert.deepEqual(got, EXPECTED, `split at ${i}`);
  }
});

test("one character at a time", () => {
  const p = new SseParser();
  const got = [...STREAM].flatMap((c) => p.push(c));
  assert.deepEqual(got, EXPECTED);
});

test("an event without data is not dispatched; an unfinished event waits", () => {
  const p = new SseParser();
  assert.deepEqual(p.push("event: x\n\ndata: 1\n"), []);
  assert.deepEqual(p.push("\n"), [{ event: "message", data: "1" }]);
});
