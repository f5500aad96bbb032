// The drop-log throttle (src/log-throttle.ts): the first drop per reason and source address is
// logged, the rest of the window's drops make one summary line with their count; a flood of
// spoofed sources is capped too. A short window (30 ms) instead of 10 s; the summary is awaited.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Logger } from "pino";
import { DropLog, SOURCES_PER_WINDOW, dropLog, flushDropLogs } from "../../src/log-throttle.ts";
import { sleep } from "../interop/harness.ts";

function capture(): { logger: Logger; lines: { fields: Record<string, unknown>; msg: string }[] } {
  const lines: { fields: Record<string, unknown>; msg: string }[] = [];
  const logger = { warn: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }) } as unknown as Logger;
  return { logger, lines };
}

describe("drop log throttle", () => {
  it("logs the first drop per reason and source, then one summary with the count", async () => {
    const { logger, lines } = capture();
    const log = new DropLog(logger, 30);
    for (let i = 0; i < 1000; i++) log.warn("too-short", "192.0.2.1", { source: `192.0.2.1:${i}` }, "dropped: too short");
    log.warn("too-short", "192.0.2.2", {}, "dropped: too short");
    log.warn("bad-authenticator", "192.0.2.1", {}, "dropped: bad authenticator");
    assert.deepEqual(lines.map((l) => [l.fields.reason, l.fields.source]), [["too-short", "192.0.2.1:0"], ["too-short", undefined], ["bad-authenticator", undefined]]);
    await sleep(80);
    assert.equal(lines.length, 4, "one summary, for the reason with suppressed drops only");
    assert.equal(lines[3]!.fields.reason, "too-short");
    assert.equal(lines[3]!.fields.suppressed, 999);
    assert.match(lines[3]!.msg, /^dropped: too short \(999 more in 0\.03 s not logged one by one\)$/);
    log.warn("too-short", "192.0.2.1", {}, "dropped: too short");
    assert.equal(lines.length, 5, "a new window logs the source's first drop again");
  });

  it(`a flood of spoofed sources: at most ${SOURCES_PER_WINDOW} lines per reason, the rest counted`, async () => {
    const { logger, lines } = capture();
    const log = new DropLog(logger, 30);
    for (let i = 0; i < 5000; i++) log.warn("unknown-client", `10.0.${i >> 8}.${i & 255}`, {}, "dropped");
    assert.equal(lines.length, SOURCES_PER_WINDOW);
    log.flush();
    assert.equal(lines.length, SOURCES_PER_WINDOW + 1);
    assert.equal(lines.at(-1)!.fields.suppressed, 5000 - SOURCES_PER_WINDOW);
    await sleep(60);
    assert.equal(lines.length, SOURCES_PER_WINDOW + 1, "flushed: the window's timer logs nothing more");
  });

  it("at stop, flushDropLogs writes every protocol's pending summary of that logger, and only that logger's", () => {
    const a = capture();
    const b = capture();
    for (let i = 0; i < 5; i++) dropLog(a.logger, "radius").warn("too-short", "192.0.2.1", {}, "r");
    for (let i = 0; i < 3; i++) dropLog(a.logger, "tacacs").warn("bad-seq-no", "192.0.2.1", {}, "t");
    for (let i = 0; i < 2; i++) dropLog(b.logger, "radius").warn("too-short", "192.0.2.1", {}, "other");
    flushDropLogs(a.logger);
    assert.deepEqual(a.lines.filter((l) => l.fields.suppressed !== undefined).map((l) => [l.fields.reason, l.fields.suppressed]), [["too-short", 4], ["bad-seq-no", 2]]);
    assert.equal(b.lines.length, 1, "another logger's window is left alone");
    flushDropLogs(b.logger);
  });
});
