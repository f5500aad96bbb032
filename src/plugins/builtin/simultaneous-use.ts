// Built-in plugin "simultaneous-use": limits how many sessions a user may have open at once
// (FreeRADIUS's Simultaneous-Use).
//
// authenticate: counts the user's open sessions in the store; when there are already `max`
// (or more), the request is rejected ("already 2 sessions open (max 2)"); otherwise the plugin
// has no opinion ("next"). It has no accounting hook: sessions open and close as the store
// folds Start and Stop records.
//
// A session counts as open from its first record until its Stop. A session that ended without
// a Stop (a lost packet, a NAS that crashed) stays open, and counts against the user, until
// that NAS sends Accounting-On or Accounting-Off or the reaper closes it as stale (no update
// for two interim intervals plus accounting.staleGrace; never for a session without an
// interval). Sessions are matched by user name exactly as the NAS reported it.
//
// Options
//   max:    sessions a user may have open at once, an integer >= 1 (default 1)
//   users:  per-user maximum, e.g. { alice: 3 }
//   exempt: user names that are never limited
//
// Example (tally.yaml):
//   plugins:
//     - module: simultaneous-use
//       options: { max: 1, users: { alice: 3 }, exempt: [monitor] }

import { parseOptions } from "./options.ts";
import { z } from "zod";
import { definePlugin } from "../api.ts";
import type { PluginFactory } from "../api.ts";

const NAME = "simultaneous-use";

const sessionCount = z
  .number({ error: "expected an integer >= 1" })
  .int({ error: "expected an integer >= 1" })
  .min(1, { error: "expected an integer >= 1" });

export const simultaneousUseOptionsSchema = z.strictObject(
  {
    max: sessionCount.default(1),
    users: z.record(z.string(), sessionCount, { error: "expected a mapping of user name to an integer >= 1" }).default({}),
    exempt: z.array(z.string({ error: "expected a user name" }), { error: "expected a list of user names" }).default([]),
  },
  { error: "expected a mapping of options" },
);

export type SimultaneousUseOptions = z.infer<typeof simultaneousUseOptionsSchema>;

/** Validates `options`; throws an Error naming the option and what was expected. */
export function parseSimultaneousUseOptions(options: unknown): SimultaneousUseOptions {
  return parseOptions(NAME, simultaneousUseOptionsSchema, options);
}

const factory: PluginFactory = definePlugin((setup) => {
  const opts = parseSimultaneousUseOptions(setup.options);
  const exempt = new Set(opts.exempt);
  // A Map, so a user named "constructor" or "__proto__" finds nothing inherited.
  const perUser = new Map(Object.entries(opts.users));
  return {
    name: NAME,
    async authenticate(request) {
      if (exempt.has(request.user)) return { status: "next" };
      const max = perUser.get(request.user) ?? opts.max;
      const open = await setup.store.openSessions(request.user);
      if (open.length < max) return { status: "next" };
      setup.log.info(
        { user: request.user, open: open.length, max, sessions: open.map((s) => ({ id: s.id, nas: s.nas, sessionId: s.sessionId })) },
        "too many open sessions: rejecting",
      );
      return { status: "reject", reason: `already ${open.length} session${open.length === 1 ? "" : "s"} open (max ${max})` };
    },
  };
});

export default factory;
