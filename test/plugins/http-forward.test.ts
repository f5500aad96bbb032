// http-forward: records reach a real HTTP server in order, failures are retried with backoff,
// the queue drops the oldest when full, a hung receiver is cut off, and options are checked.

import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Session } from "../../src/plugins/api.ts";
import { createHttpForward, parseHttpForwardOptions, type HttpForwardPlugin } from "../../src/plugins/builtin/http-forward.ts";
import httpForward from "../../src/plugins/builtin/http-forward.ts";
import { foldRecord } from "../../src/model/session.ts";
import { rec, SEC, T0 } from "../store/fixtures.ts";
import { ctx, setupWith } from "./helpers.ts";

interface Received {
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

type Responder = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

/** A real HTTP server on 127.0.0.1; `respond` decides each answer (n counts requests from 1). */
async function receiver(respond: Responder = (_q, res) => res.end("ok")) {
  const received: Received[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>, headers: req.headers });
      respond(req, res, ++n);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/acct`,
    received,
    requests: () => n,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An open session as the store would pass it (built with the real fold, so it keeps up with the model). */
const session: Session = { ...foldRecord(null, rec({ kind: "start" }), 300), id: 7 };

test("records arrive in order as JSON with ISO times, the session and the configured headers", async (t) => {
  const srv = await receiver();
  t.after(srv.close);
  const { setup } = setupWith({ url: srv.url, headers: { authorization: "Bearer s3cret" } });
  const plugin = createHttpForward(setup);
  t.after(() => plugin.close());

  const start = rec({ kind: "start", receivedAt: T0 + 250 });
  const interim = rec({ kind: "interim", eventTime: T0 + 60 * SEC, inputOctets: 1000, outputOctets: 2000, sessionTime: 60 });
  const stop = rec({ kind: "stop", eventTime: T0 + 120 * SEC, sessionTime: 120, terminateCause: "User-Request" });
  const off = rec({ kind: "off", eventTime: T0 + 200 * SEC });
  const answers = [
    plugin.accounting?.(start, ctx(setup, session)),
    plugin.accounting?.(interim, ctx(setup, { ...session, inputOctets: 1000, outputOctets: 2000, sessionTime: 60 })),
    plugin.accounting?.(stop, ctx(setup, { ...session, status: "closed", stoppedAt: T0 + 120 * SEC })),
    plugin.accounting?.(off, ctx(setup, null)),
  ];
  // The hook answers at once, not after the POST.
  assert.deepEqual(answers, [{ status: "ok" }, { status: "ok" }, { status: "ok" }, { status: "ok" }]);

  // Wait for the answers, not just the requests: `sent` counts a record once its 2xx is read.
  await waitFor("four records", () => plugin.stats().sent === 4);
  assert.deepEqual(
    srv.received.map((r) => r.body.kind),
    ["start", "interim", "stop", "off"],
  );
  const first = srv.received[0];
  assert.ok(first !== undefined, "the first record arrived");
  assert.equal(first.headers["content-type"], "application/json");
  assert.equal(first.headers.authorization, "Bearer s3cret");
  assert.equal(first.body.receivedAt, new Date(T0 + 250).toISOString());
  assert.equal(first.body.eventTime, new Date(T0).toISOString());
  assert.equal(first.body.user, "alice");
  assert.equal(first.body.dedupKey, start.dedupKey);
  assert.deepEqual(first.body.attributes, start.attributes);
  const s = first.body.session as Record<string, unknown>;
  assert.equal(s.id, 7);
  assert.equal(s.startedAt, new Date(T0).toISOString());
  assert.equal(s.status, "open");

  const second = srv.received[1]?.body;
  assert.equal(second?.inputOctets, 1000);
  assert.equal((second?.session as Record<string, unknown>).outputOctets, 2000);
  assert.equal((srv.received[2]?.body.session as Record<string, unknown>).status, "closed");
  assert.equal(srv.received[3]?.body.session, null);
  assert.deepEqual(plugin.stats(), { sent: 4, failed: 0, dropped: 0, queued: 0 });
});

test("a server answering 500 twice then 200 gets the record after two retries", async (t) => {
  const srv = await receiver((_q, res, n) => {
    res.statusCode = n <= 2 ? 500 : 200;
    res.end();
  });
  t.after(srv.close);
  const { setup, lines } = setupWith({ url: srv.url, backoff: 0.05, retries: 5 });
  const plugin = createHttpForward(setup);
  t.after(() => plugin.close());

  const started = Date.now();
  plugin.accounting?.(rec({ kind: "start", sessionId: "retry-me" }), ctx(setup));
  plugin.accounting?.(rec({ kind: "stop", sessionId: "retry-me" }), ctx(setup));
  await waitFor("the record to be accepted", () => plugin.stats().sent === 2);
  // 0.05 s then 0.1 s of backoff before the third attempt.
  assert.ok(Date.now() - started >= 140, `backoff waited (${Date.now() - started} ms)`);
  assert.equal(srv.requests(), 4);
  assert.deepEqual(
    srv.received.map((r) => `${String(r.body.sessionId)}/${String(r.body.kind)}`),
    ["retry-me/start", "retry-me/start", "retry-me/start", "retry-me/stop"],
  );
  const warns = lines.filter((l) => l.level === "warn");
  assert.equal(warns.length, 2, "one warning per failed attempt");
  assert.match(warns[0]?.msg ?? "", /HTTP 500/);
  assert.deepEqual(plugin.stats(), { sent: 2, failed: 0, dropped: 0, queued: 0 });
});

test("a record still failing after the last retry is dropped with an error, and the next one is sent", async (t) => {
  const srv = await receiver((_q, res) => {
    const body = srv.received.at(-1)?.body;
    res.statusCode = body?.sessionId === "doomed" ? 503 : 204;
    res.end();
  });
  t.after(srv.close);
  const { setup, lines } = setupWith({ url: srv.url, backoff: 0.01, retries: 2 });
  const plugin = createHttpForward(setup);
  t.after(() => plugin.close());

  plugin.accounting?.(rec({ kind: "start", sessionId: "doomed" }), ctx(setup));
  plugin.accounting?.(rec({ kind: "start", sessionId: "fine" }), ctx(setup));
  await waitFor("both records to be done", () => plugin.stats().sent + plugin.stats().failed === 2);
  assert.deepEqual(plugin.stats(), { sent: 1, failed: 1, dropped: 0, queued: 0 });
  assert.equal(srv.received.filter((r) => r.body.sessionId === "doomed").length, 3, "one attempt and two retries");
  const errors = lines.filter((l) => l.level === "error");
  assert.equal(errors.length, 1);
  assert.match(errors[0]?.msg ?? "", /giving up.*3 attempt/);
});

test("when the queue is full the oldest waiting record is dropped, counted and warned about once", async (t) => {
  let release: (() => void) | null = null;
  const srv = await receiver((_q, res, n) => {
    // Hold the first request until released; answer the others at once.
    if (n === 1) release = () => res.end();
    else res.end();
  });
  t.after(srv.close);
  const { setup, lines } = setupWith({ url: srv.url, queueSize: 3, timeout: 10 });
  const plugin = createHttpForward(setup);
  t.after(() => plugin.close());

  plugin.accounting?.(rec({ kind: "start", sessionId: "r1" }), ctx(setup));
  await waitFor("the first request to be held", () => release !== null);
  for (let i = 2; i <= 6; i++) plugin.accounting?.(rec({ kind: "start", sessionId: `r${i}` }), ctx(setup));
  assert.deepEqual(plugin.stats(), { sent: 0, failed: 0, dropped: 2, queued: 4 });
  const warns = lines.filter((l) => l.level === "warn" && /queue full/.test(l.msg));
  assert.equal(warns.length, 1, "drops within a second are warned about once");

  (release as (() => void) | null)?.();
  await waitFor("the rest to be sent", () => plugin.stats().sent === 4);
  assert.deepEqual(
    srv.received.map((r) => r.body.sessionId),
    ["r1", "r4", "r5", "r6"],
  );
  assert.deepEqual(plugin.stats(), { sent: 4, failed: 0, dropped: 2, queued: 0 });
});

test("a hung server is cut off by the timeout and the hook never waits for it", async (t) => {
  const srv = await receiver(() => {
    // Never answer.
  });
  t.after(srv.close);
  const { setup, lines } = setupWith({ url: srv.url, timeout: 0.2, retries: 0 });
  const plugin = createHttpForward(setup);
  t.after(() => plugin.close());

  const before = Date.now();
  const answer = plugin.accounting?.(rec({ kind: "start" }), ctx(setup));
  assert.deepEqual(answer, { status: "ok" });
  assert.ok(Date.now() - before < 100, "the hook returned without waiting for the server");

  await waitFor("the request to time out", () => plugin.stats().failed === 1, 3000);
  const elapsed = Date.now() - before;
  assert.ok(elapsed >= 190 && elapsed < 2000, `cut off after about 0.2 s (${elapsed} ms)`);
  assert.equal(srv.requests(), 1);
  const error = lines.find((l) => l.level === "error");
  assert.match(error?.msg ?? "", /timed out after 0\.2 s/);
});

test("close() stops retrying, waits at most the timeout and logs how many records stay unsent", async (t) => {
  const srv = await receiver(() => {
    // Never answer.
  });
  t.after(srv.close);
  const { setup, lines } = setupWith({ url: srv.url, timeout: 0.3, retries: 5, backoff: 0.01 });
  const plugin = createHttpForward(setup);

  for (let i = 0; i < 3; i++) plugin.accounting?.(rec({ kind: "start", sessionId: `c${i}` }), ctx(setup));
  await waitFor("the first request", () => srv.requests() === 1);
  const before = Date.now();
  await plugin.close();
  const elapsed = Date.now() - before;
  assert.ok(elapsed < 1000, `close took ${elapsed} ms`);
  const closed = lines.find((l) => /closed/.test(l.msg));
  assert.equal(closed?.level, "warn");
  assert.equal(closed?.fields.unsent, 3);
  assert.match(closed?.msg ?? "", /3 record\(s\) unsent/);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(srv.requests(), 1, "no retry after close");
  assert.deepEqual(plugin.accounting?.(rec({ kind: "stop" }), ctx(setup)), { status: "ok" });
  assert.equal(plugin.stats().queued, 3, "nothing is queued after close");
});

test("close() sends what is queued to a healthy receiver before it returns", async (t) => {
  const srv = await receiver();
  t.after(srv.close);
  const { setup, lines } = setupWith({ url: srv.url });
  const plugin = createHttpForward(setup);
  for (let i = 0; i < 5; i++) plugin.accounting(rec({ kind: "start", sessionId: `q${i}` }), ctx(setup));
  await plugin.close();
  assert.deepEqual(
    srv.received.map((r) => r.body.sessionId),
    ["q0", "q1", "q2", "q3", "q4"],
  );
  assert.deepEqual(plugin.stats(), { sent: 5, failed: 0, dropped: 0, queued: 0 });
  const closed = lines.find((l) => /closed/.test(l.msg));
  assert.equal(closed?.level, "info");
  assert.equal(closed?.fields.unsent, 0);
});

test("close() during a backoff wait returns at once instead of waiting for the retry", async (t) => {
  const srv = await receiver((_q, res) => {
    res.statusCode = 500;
    res.end();
  });
  t.after(srv.close);
  const { setup, lines } = setupWith({ url: srv.url, timeout: 2, retries: 3, backoff: 30 });
  const plugin = createHttpForward(setup);
  plugin.accounting(rec({ kind: "start" }), ctx(setup));
  await waitFor("the first failure", () => lines.some((l) => l.level === "warn" && /retrying in 30 s/.test(l.msg)));
  const before = Date.now();
  await plugin.close();
  const elapsed = Date.now() - before;
  assert.ok(elapsed < 500, `close returned in ${elapsed} ms`);
  assert.equal(srv.requests(), 1, "no retry was made");
  assert.deepEqual(plugin.stats(), { sent: 0, failed: 0, dropped: 0, queued: 1 });
});

test("include forwards only the listed record kinds", async (t) => {
  const srv = await receiver();
  t.after(srv.close);
  const { setup } = setupWith({ url: srv.url, include: ["stop", "off"] });
  const plugin = createHttpForward(setup);
  t.after(() => plugin.close());
  for (const kind of ["start", "interim", "stop", "on", "off"] as const) plugin.accounting?.(rec({ kind }), ctx(setup));
  await waitFor("two records", () => plugin.stats().sent === 2);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(
    srv.received.map((r) => r.body.kind),
    ["stop", "off"],
  );
});

test("the default export is a factory that validates its options", async () => {
  const { setup } = setupWith({ url: "http://127.0.0.1:9/acct" });
  const plugin = (await httpForward(setup)) as HttpForwardPlugin;
  assert.equal(plugin.name, "http-forward");
  assert.equal(typeof plugin.accounting, "function");
  await plugin.close?.();
  await assert.rejects(async () => httpForward(setupWith({}).setup), /http-forward: options\.url: /);
});

test("bad options throw an error naming the option and what was expected", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{}, /^http-forward: options\.url: expected an http\(s\) URL/],
    [{ url: "ftp://example.com/x" }, /^http-forward: options\.url: expected an http\(s\) URL/],
    [{ url: "not a url" }, /options\.url: expected an http\(s\) URL/],
    [{ url: "http://user:pw@example.com/" }, /options\.url: .*without user:password/],
    [{ url: "http://x/", timeout: 0 }, /options\.timeout: expected a number of seconds > 0/],
    [{ url: "http://x/", timeout: "5" }, /options\.timeout: expected a number of seconds > 0/],
    [{ url: "http://x/", retries: 1.5 }, /options\.retries: expected a whole number >= 0/],
    [{ url: "http://x/", backoff: -1 }, /options\.backoff: expected a number of seconds > 0/],
    [{ url: "http://x/", queueSize: 0 }, /options\.queueSize: expected a whole number >= 1/],
    [{ url: "http://x/", include: ["start", "bogus"] }, /options\.include\[1\]: expected record kinds/],
    [{ url: "http://x/", include: "stop" }, /options\.include: expected a list of record kinds/],
    [{ url: "http://x/", headers: { "bad name": "v" } }, /options\.headers: expected valid HTTP header/],
    [{ url: "http://x/", headers: { a: 1 } }, /options\.headers\.a: /],
    [{ url: "http://x/", retry: 3 }, /options\.retry: unknown option \(expected url, headers/],
  ];
  for (const [options, expected] of cases) {
    assert.throws(() => createHttpForward(setupWith(options).setup), { message: expected }, JSON.stringify(options));
  }
  assert.deepEqual(parseHttpForwardOptions({ url: "https://example.com/a" }), {
    url: "https://example.com/a",
    timeout: 5,
    retries: 5,
    backoff: 1,
    queueSize: 10000,
  });
});
