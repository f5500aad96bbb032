// Built-in plugin "quota": limits how many octets and/or how much session time a user may
// use per period (UTC day, UTC month, or all time).
//
// What it does
// - authenticate: a user whose usage in the current period has reached a limit is rejected
//   (`message`). Otherwise it has no opinion ("next"); when a time limit applies it adds
//   Session-Timeout = the seconds left, so the NAS itself ends the session on time.
// - accounting (Interim-Update): once the user's usage has reached a limit, the session is
//   disconnected. Before that, as the user nears the limit, it asks for interim updates more
//   often so the disconnect comes close to the limit: it estimates this session's byte rate
//   (its octets / its session time, in the configured direction), and when the remaining
//   bytes would run out (or the remaining seconds run out) sooner than the next update is
//   due, it answers interimInterval = max(minInterval, ceil(that time)). It never lengthens
//   the interval. A session whose interval is unknown or 0 counts as having no updates.
// - accounting (Start): the host cannot disconnect on a Start; when the user is already over
//   a limit it asks for the next update after `minInterval`, and that interim disconnects.
// - Stop, Accounting-On/Off, command records and records without a user are ignored.
//
// Usage is the store's: what every record of the user's sessions added, by the time the
// record happened at the NAS, from 00:00 UTC of today ("day"), of the 1st of this month
// ("month"), or all time ("total"). The host calls accounting hooks after the record is
// stored and folded, so the usage includes the record being decided on. Concurrent sessions
// of one user all count against the same quota; the rate estimate looks at one session only.
//
// Options
//   bytes:       limit in octets (both directions summed unless `direction` says otherwise)
//   time:        limit in seconds of session time
//   period:      "day" | "month" | "total"                         (default "month")
//   direction:   "both" | "input" | "output"                       (default "both")
//                input = Acct-Input-Octets (from the user), output = Acct-Output-Octets (to the user)
//   users:       per-user limits, e.g. { alice: { bytes: 2e10 } }; a field left out falls back
//                to the global one
//   exempt:      user names the quota never applies to
//   minInterval: the shortest interim interval it asks for, in seconds (default 10)
//   message:     the reject / disconnect reason (default "quota exhausted")
// At least one of bytes or time is required, globally or for some user. A user with neither
// (no global limit and no entry in `users`) is not limited.
//
// Example (tally.yaml):
//   plugins:
//     - module: quota
//       options: { bytes: 5e9, period: month }
//     # or: 1 GB and 2 hours a day, more for bob, none for the monitoring account
//     - module: quota
//       options:
//         bytes: 1e9
//         time: 7200
//         period: day
//         users: { bob: { bytes: 5e9 } }
//         exempt: [monitor]

import { parseOptions } from "./options.ts";
import { z } from "zod";
import { definePlugin } from "../api.ts";
import type { AccountingDecision, PluginFactory, Session, Usage } from "../api.ts";

const NAME = "quota";

const positiveNumber = (what: string) =>
  z.number({ error: `expected ${what} (a positive number)` }).positive({ error: `expected ${what} (a positive number)` });

const userLimitsSchema = z
  .strictObject(
    {
      bytes: positiveNumber("octets").optional(),
      time: positiveNumber("seconds").optional(),
    },
    { error: "expected { bytes?, time? }" },
  )
  .refine((u) => u.bytes !== undefined || u.time !== undefined, { error: "expected bytes or time (or both)" });

export const quotaOptionsSchema = z
  .strictObject(
    {
      bytes: positiveNumber("octets").optional(),
      time: positiveNumber("seconds").optional(),
      period: z.enum(["day", "month", "total"], { error: 'expected "day", "month" or "total"' }).default("month"),
      direction: z.enum(["both", "input", "output"], { error: 'expected "both", "input" or "output"' }).default("both"),
      users: z.record(z.string(), userLimitsSchema, { error: "expected a mapping of user name to { bytes?, time? }" }).default({}),
      exempt: z.array(z.string({ error: "expected a user name" }), { error: "expected a list of user names" }).default([]),
      minInterval: z
        .number({ error: "expected seconds (an integer >= 1)" })
        .int({ error: "expected seconds (an integer >= 1)" })
        .min(1, { error: "expected seconds (an integer >= 1)" })
        .default(10),
      message: z.string({ error: "expected a string" }).min(1, { error: "expected a non-empty string" }).default("quota exhausted"),
    },
    { error: "expected a mapping of options" },
  )
  .refine((o) => o.bytes !== undefined || o.time !== undefined || Object.keys(o.users).length > 0, {
    error: "expected a limit: bytes or time, globally or under users",
  });

export type QuotaOptions = z.infer<typeof quotaOptionsSchema>;
export type QuotaPeriod = QuotaOptions["period"];
export type QuotaDirection = QuotaOptions["direction"];

/** Validates `options`; throws an Error naming the option and what was expected. */
export function parseQuotaOptions(options: unknown): QuotaOptions {
  // Unknown keys sit either at the top level or in a per-user entry (options.users.NAME).
  return parseOptions(NAME, quotaOptionsSchema, options, (path) => Object.keys(path.length === 0 ? quotaOptionsSchema.shape : userLimitsSchema.shape));
}

/** Start (ms) of the period that contains `now`: 00:00 UTC today / on the 1st; null for "total". */
export function periodStart(period: QuotaPeriod, now: number): number | null {
  const d = new Date(now);
  switch (period) {
    case "day":
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    case "month":
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    case "total":
      return null;
  }
}

export function countedOctets(direction: QuotaDirection, c: { inputOctets: number; outputOctets: number }): number {
  switch (direction) {
    case "both":
      return c.inputOctets + c.outputOctets;
    case "input":
      return c.inputOctets;
    case "output":
      return c.outputOctets;
  }
}

interface Limits {
  bytes: number | undefined;
  time: number | undefined;
}

interface Standing {
  /** Which limit has been reached, or null. */
  reached: "bytes" | "time" | null;
  usedBytes: number;
  usedTime: number;
  /** Octets / seconds left; null when that limit does not apply. */
  bytesLeft: number | null;
  secondsLeft: number | null;
}

function standing(limits: Limits, usage: Usage, direction: QuotaDirection): Standing {
  const usedBytes = countedOctets(direction, usage);
  const usedTime = usage.sessionTime;
  const bytesLeft = limits.bytes === undefined ? null : limits.bytes - usedBytes;
  const secondsLeft = limits.time === undefined ? null : limits.time - usedTime;
  const reached = bytesLeft !== null && bytesLeft <= 0 ? "bytes" : secondsLeft !== null && secondsLeft <= 0 ? "time" : null;
  return { reached, usedBytes, usedTime, bytesLeft, secondsLeft };
}

/**
 * The factory, with the clock injectable (tests); the module's default export uses Date.now.
 * The clock decides the current period; usage is attributed by when records happened.
 */
export function createQuota(now: () => number = Date.now): PluginFactory {
  return definePlugin((setup) => {
    const opts = parseQuotaOptions(setup.options);
    const exempt = new Set(opts.exempt);
    // A Map, so a user named "constructor" or "__proto__" finds nothing inherited.
    const perUser = new Map(Object.entries(opts.users));
    const OK: AccountingDecision = { status: "ok" };

    function limitsFor(user: string): Limits | null {
      if (exempt.has(user)) return null;
      const own = perUser.get(user);
      const bytes = own?.bytes ?? opts.bytes;
      const time = own?.time ?? opts.time;
      return bytes === undefined && time === undefined ? null : { bytes, time };
    }

    async function standingOf(user: string, limits: Limits): Promise<Standing> {
      const usage = await setup.store.usage(user, periodStart(opts.period, now()));
      return standing(limits, usage, opts.direction);
    }

    /** `ok`, with interimInterval when `seconds` (until the limit) comes before the next update. */
    function soonerUpdate(session: Readonly<Session> | null, seconds: number): AccountingDecision {
      if (!Number.isFinite(seconds)) return OK;
      const current = session?.interimInterval ?? null;
      const currentInterval = current !== null && current > 0 ? current : Infinity;
      const wanted = Math.max(opts.minInterval, Math.ceil(Math.max(0, seconds)));
      return wanted < currentInterval ? { status: "ok", interimInterval: wanted } : OK;
    }

    return {
      name: NAME,

      async authenticate(request) {
        const limits = limitsFor(request.user);
        if (limits === null) return { status: "next" };
        const s = await standingOf(request.user, limits);
        if (s.reached !== null) {
          setup.log.info({ user: request.user, limit: s.reached, usedBytes: s.usedBytes, usedTime: s.usedTime, ...limits }, "quota exhausted: rejecting");
          return { status: "reject", reason: opts.message };
        }
        if (s.secondsLeft === null) return { status: "next" };
        return { status: "next", reply: { "Session-Timeout": Math.ceil(s.secondsLeft) } };
      },

      async userStatus(user) {
        const limits = limitsFor(user);
        if (limits === null) return exempt.has(user) ? { limited: false, exempt: true } : null;
        const start = periodStart(opts.period, now());
        const s = await standingOf(user, limits);
        return {
          limited: true,
          period: opts.period,
          since: start === null ? null : new Date(start).toISOString(),
          direction: opts.direction,
          limitBytes: limits.bytes ?? null,
          usedBytes: s.usedBytes,
          bytesLeft: s.bytesLeft,
          limitTime: limits.time ?? null,
          usedTime: s.usedTime,
          secondsLeft: s.secondsLeft,
          exhausted: s.reached !== null,
        };
      },

      async accounting(record, context) {
        // Spooled: the store is unreachable, so usage cannot be known; the record still counts
        // once it is replayed, and the next interim after that is judged as usual.
        if (context.spooled) return OK;
        // A NAS may send User-Name on some records only; the session knows whose it is.
        const user = record.user ?? context.session?.user ?? null;
        if (user === null || (record.kind !== "interim" && record.kind !== "start")) return OK;
        const limits = limitsFor(user);
        if (limits === null) return OK;
        const s = await standingOf(user, limits);
        const session = context.session;
        const fields = { user, sessionId: record.sessionId, limit: s.reached, usedBytes: s.usedBytes, usedTime: s.usedTime, ...limits };

        if (s.reached !== null) {
          if (record.kind === "interim") {
            setup.log.info(fields, "quota exhausted: disconnecting");
            return { status: "disconnect", reason: opts.message };
          }
          // A Start cannot be answered with a disconnect: have the first interim come soon.
          setup.log.info(fields, "quota exhausted at session start: asking for an early update");
          return soonerUpdate(session, 0);
        }
        if (session === null) return OK;

        let untilLimit = Infinity;
        if (s.secondsLeft !== null) untilLimit = s.secondsLeft;
        if (s.bytesLeft !== null && session.sessionTime > 0) {
          const rate = countedOctets(opts.direction, session) / session.sessionTime;
          if (rate > 0) untilLimit = Math.min(untilLimit, s.bytesLeft / rate);
        }
        const decision = soonerUpdate(session, untilLimit);
        if (decision.interimInterval !== undefined) {
          setup.log.debug({ ...fields, interimInterval: decision.interimInterval }, "nearing quota: shortening the interim interval");
        }
        return decision;
      },
    };
  });
}

export default createQuota();
