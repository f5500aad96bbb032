// http-forward: POSTs every accounting record, as JSON, to an HTTP(S) endpoint (a billing
// system, a SIEM, a webhook). The record is already stored durably when the hook runs, so the
// hook only queues it and answers `ok` at once: a slow or dead receiver never holds up a NAS.
// A background sender posts the queued records one at a time, in order, retrying a failure
// (network error, timeout, non-2xx answer) with doubling backoff; a record that still fails
// after `retries` retries is dropped with an error log. The queue is bounded: when it is full
// the oldest waiting record is dropped (counted, and logged at most once a second). Delivery
// is at most once per accepted record and may repeat a record the NAS resent; receivers can
// deduplicate on `dedupKey`. close() (shutdown, reload) stops retrying but keeps sending the
// queue for up to `timeout`, then cuts the request off and logs how many records stay unsent.
//
// Body: `{ ...record, receivedAt: ISO-8601, eventTime: ISO-8601, session: {...} | null }`,
// where `session` is the session after this record was folded in (the `tally sessions --json`
// shape), null for Accounting-On/Off and command records. Content-Type: application/json.
//
// Options:
//   url        (required) http:// or https:// URL to POST to (no user:password in it: put
//              credentials in `headers`, e.g. authorization)
//   headers    extra request headers, name -> value
//   timeout    seconds one request may take (default 5); also how long close() keeps sending
//   retries    retries after a failed attempt (default 5; 0: one attempt only)
//   backoff    seconds before the first retry (default 1), doubling each retry, at most 60
//   queueSize  records that may wait (default 10000); beyond it the oldest is dropped
//   include    record kinds to forward: start, interim, stop, on, off (default all)
//
// Example (tally.yaml):
//   plugins:
//     - module: http-forward
//       options:
//         url: "http://127.0.0.1:9000/acct"
//         headers: { authorization: "Bearer s3cret" }
//         include: [start, stop]

import { parseOptions } from "./options.ts";
import { z } from "zod";
import type { AccountingContext, AccountingDecision, AccountingRecord, Plugin, PluginLogger, PluginSetup } from "../api.ts";
import { definePlugin } from "../api.ts";
import { sessionToJson } from "../../model/session.ts";

const NAME = "http-forward";
const MAX_BACKOFF_SECONDS = 60;

const kinds = ["start", "interim", "stop", "on", "off"] as const;

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === "http:" || u.protocol === "https:") && u.username === "" && u.password === "";
  } catch {
    return false;
  }
}

function validHeaders(h: Record<string, string>): boolean {
  try {
    new Headers(h);
    return true;
  } catch {
    return false;
  }
}

export const httpForwardOptions = z.strictObject({
  url: z.string({ error: "expected an http(s) URL" }).refine(isHttpUrl, {
    error: "expected an http(s) URL (without user:password; put credentials in headers)",
  }),
  headers: z
    .record(z.string(), z.string(), { error: "expected a map of header names to string values" })
    .refine(validHeaders, { error: "expected valid HTTP header names and values" })
    .optional(),
  timeout: z
    .number({ error: "expected a number of seconds > 0" })
    .positive({ error: "expected a number of seconds > 0" })
    .max(600, { error: "expected a number of seconds <= 600" })
    .default(5),
  retries: z
    .number({ error: "expected a whole number >= 0" })
    .int({ error: "expected a whole number >= 0" })
    .min(0, { error: "expected a whole number >= 0" })
    .max(1000, { error: "expected a whole number <= 1000" })
    .default(5),
  backoff: z
    .number({ error: "expected a number of seconds > 0" })
    .positive({ error: "expected a number of seconds > 0" })
    .max(MAX_BACKOFF_SECONDS, { error: `expected a number of seconds <= ${MAX_BACKOFF_SECONDS}` })
    .default(1),
  queueSize: z
    .number({ error: "expected a whole number >= 1" })
    .int({ error: "expected a whole number >= 1" })
    .min(1, { error: "expected a whole number >= 1" })
    .default(10000),
  include: z
    .array(z.enum(kinds, { error: `expected record kinds (${kinds.join(", ")})` }), {
      error: `expected a list of record kinds (${kinds.join(", ")})`,
    })
    .optional(),
});

export type HttpForwardOptions = z.output<typeof httpForwardOptions>;

/** Validates options; the error names the option and what was expected. */
export function parseHttpForwardOptions(options: unknown): HttpForwardOptions {
  return parseOptions(NAME, httpForwardOptions, options);
}

export interface HttpForwardStats {
  /** Records the receiver accepted (2xx). */
  sent: number;
  /** Records given up after the last retry. */
  failed: number;
  /** Records dropped unsent because the queue was full. */
  dropped: number;
  /** Records waiting, including the one being sent. */
  queued: number;
}

export interface HttpForwardPlugin extends Plugin {
  accounting(record: Readonly<AccountingRecord>, context: AccountingContext): AccountingDecision;
  close(): Promise<void>;
  stats(): HttpForwardStats;
}

interface Item {
  body: string;
  kind: AccountingRecord["kind"];
  sessionId: string | null;
}

/** A FIFO with O(1) push and shift. */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

function describeError(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    const code = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : undefined;
    return code === undefined ? e.message : `${e.message} (${code})`;
  }
  return String(e);
}

export function createHttpForward(setup: PluginSetup): HttpForwardPlugin {
  const opts = parseHttpForwardOptions(setup.options);
  const log: PluginLogger = setup.log;
  const include = new Set<string>(opts.include ?? kinds);
  const timeoutMs = opts.timeout * 1000;
  const headers = new Headers(opts.headers ?? {});
  headers.set("content-type", "application/json");
  const headerObject = Object.fromEntries(headers.entries());

  const queue = new Fifo<Item>();
  let inFlight: Item | null = null;
  let sent = 0;
  let failed = 0;
  let dropped = 0;
  let droppedUnreported = 0;
  let lastDropWarn = 0;
  /** close() was called: no new records, no more retries. */
  let closing = false;
  /** close() gave up on the rest of the queue (its time is up, or a send failed). */
  let stopped = false;
  let pump: Promise<void> | null = null;
  /** The current request's abort controller, so close() can cut it off. */
  let requestAbort: AbortController | null = null;
  /** Ends the current backoff wait early (close). */
  let wakeUp: (() => void) | null = null;

  function warnDrops(now: number): void {
    if (droppedUnreported === 0 || now - lastDropWarn < 1000) return;
    lastDropWarn = now;
    log.warn(
      { dropped: droppedUnreported, droppedTotal: dropped, queueSize: opts.queueSize },
      `${NAME}: queue full, dropped the ${droppedUnreported} oldest record(s)`,
    );
    droppedUnreported = 0;
  }

  /** One POST; resolves on 2xx, throws on anything else. */
  async function post(item: Item): Promise<void> {
    const abort = new AbortController();
    requestAbort = abort;
    const timer = setTimeout(() => abort.abort(new Error(`timed out after ${opts.timeout} s`)), timeoutMs);
    try {
      const res = await fetch(opts.url, { method: "POST", headers: headerObject, body: item.body, signal: abort.signal });
      // Read the body (under the same timeout) so the connection can be reused.
      await res.arrayBuffer();
      if (res.status < 200 || res.status > 299) throw new Error(`HTTP ${res.status}`);
    } catch (e) {
      if (abort.signal.aborted) throw abort.signal.reason instanceof Error ? abort.signal.reason : new Error("aborted");
      throw e;
    } finally {
      clearTimeout(timer);
      requestAbort = null;
    }
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        wakeUp = null;
        resolve();
      }, ms);
      // A pending retry alone does not keep the process alive.
      timer.unref();
      wakeUp = () => {
        clearTimeout(timer);
        wakeUp = null;
        resolve();
      };
    });
  }

  /** Sends one record with its retries. True when the receiver accepted it. */
  async function deliver(item: Item): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await post(item);
        return true;
      } catch (e) {
        const error = describeError(e);
        if (closing) return false;
        if (attempt >= opts.retries) {
          log.error({ error, attempts: attempt + 1, kind: item.kind, sessionId: item.sessionId }, `${NAME}: giving up on a record after ${attempt + 1} attempt(s): ${error}`);
          return false;
        }
        const delay = Math.min(opts.backoff * 2 ** attempt, MAX_BACKOFF_SECONDS);
        log.warn({ error, attempt: attempt + 1, retryIn: delay }, `${NAME}: POST failed (${error}); retrying in ${delay} s`);
        await sleep(delay * 1000);
        if (closing) return false;
      }
    }
  }

  async function run(): Promise<void> {
    while (!stopped) {
      const item = queue.shift();
      if (item === undefined) break;
      inFlight = item;
      const ok = await deliver(item);
      if (ok) {
        sent++;
        inFlight = null;
      } else if (closing) {
        // The receiver fails while we shut down: leave the rest (the in-flight record included)
        // unsent rather than spend the grace period on it.
        stopped = true;
      } else {
        failed++;
        inFlight = null;
      }
    }
  }

  function kick(): void {
    if (pump !== null || stopped) return;
    pump = run()
      .catch((e: unknown) => log.error({ error: describeError(e) }, `${NAME}: sender stopped: ${describeError(e)}`))
      .finally(() => {
        pump = null;
        // A record queued while the loop was finishing.
        if (queue.length > 0) kick();
      });
  }

  function accounting(record: Readonly<AccountingRecord>, context: AccountingContext): AccountingDecision {
    if (!include.has(record.kind)) return { status: "ok" };
    if (closing) {
      log.warn({ kind: record.kind, sessionId: record.sessionId }, `${NAME}: closed; not forwarding a record`);
      return { status: "ok" };
    }
    const body = JSON.stringify({
      ...record,
      receivedAt: new Date(record.receivedAt).toISOString(),
      eventTime: new Date(record.eventTime).toISOString(),
      session: context.session === null ? null : sessionToJson(context.session),
    });
    queue.push({ body, kind: record.kind, sessionId: record.sessionId });
    while (queue.length > opts.queueSize) {
      queue.shift();
      dropped++;
      droppedUnreported++;
    }
    warnDrops(Date.now());
    kick();
    return { status: "ok" };
  }

  async function close(): Promise<void> {
    if (closing) return;
    closing = true;
    // Skip a pending retry; send what is queued until the timeout, then cut the request off.
    wakeUp?.();
    const deadline = setTimeout(() => {
      stopped = true;
      requestAbort?.abort(new Error("closing"));
    }, timeoutMs);
    while (pump !== null) await pump;
    clearTimeout(deadline);
    stopped = true;
    if (droppedUnreported > 0) lastDropWarn = 0;
    warnDrops(Date.now());
    const unsent = queue.length + (inFlight === null ? 0 : 1);
    const fields = { unsent, sent, failed, dropped };
    if (unsent > 0) log.warn(fields, `${NAME}: closed with ${unsent} record(s) unsent`);
    else log.info(fields, `${NAME}: closed; all records sent`);
  }

  return {
    name: NAME,
    accounting,
    close,
    stats: () => ({ sent, failed, dropped, queued: queue.length + (inFlight === null ? 0 : 1) }),
  };
}

export default definePlugin(createHttpForward);
