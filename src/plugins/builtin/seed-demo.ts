// seed-demo: the demo OpenVPN accounting plugin of the proposal Tally started from, in
// TypeScript. It pretends to talk to an accounting server: it logs what it would send and,
// at every start and interim update, asks the NAS for the next update after a random
// interval of `min`..`max` seconds. Useful to watch the accounting flow (and interim
// intervals) end to end; not for production.
//
// Log lines (info, with the line itself in the `line` field; times in UTC):
//   ACCT <ctime> Sending start time to accounting server <start unix seconds>
//   ACCT <ctime> Plugin requested accounting update in <N> seconds
//   ACCT <ctime> Sending accounting information to server <tx>tx/<rx>rx
//   ACCT <ctime> Accounting server requesting new update in <N> seconds
//   ACCT <ctime> Sending accounting information to server <tx>tx/<rx>rx, session started at <start unix> and last <seconds>
// where tx is the record's output octets and rx its input octets.
//
// Options:
//   min  shortest interval asked for, whole seconds >= 1 (default 1)
//   max  longest interval asked for, whole seconds >= min (default 20)
//
// Example (tally.yaml):
//   plugins:
//     - module: seed-demo
//       options: { min: 5, max: 30 }

import { parseOptions } from "./options.ts";
import { randomInt } from "node:crypto";
import { z } from "zod";
import type { AccountingContext, AccountingDecision, AccountingRecord, Plugin, PluginSetup } from "../api.ts";
import { definePlugin } from "../api.ts";
import { ctime } from "./detail-file.ts";

const NAME = "seed-demo";
/** RADIUS Acct-Interim-Interval is 32 bits; crypto.randomInt needs max - min < 2^48. */
const MAX_INTERVAL = 2 ** 31 - 1;

const seconds = (what: string) =>
  z
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what}` })
    .min(1, { error: `expected ${what}` })
    .max(MAX_INTERVAL, { error: `expected ${what} <= ${MAX_INTERVAL}` });

export const seedDemoOptions = z
  .strictObject({
    min: seconds("a whole number of seconds >= 1").default(1),
    max: seconds("a whole number of seconds >= 1").default(20),
  })
  .superRefine((o, ctx) => {
    if (o.min > o.max) ctx.addIssue({ code: "custom", path: ["max"], message: `expected a number >= min (${o.min}), got ${o.max}` });
  });

export type SeedDemoOptions = z.output<typeof seedDemoOptions>;

/** Validates options; the error names the option and what was expected. */
export function parseSeedDemoOptions(options: unknown): SeedDemoOptions {
  return parseOptions(NAME, seedDemoOptions, options);
}

const unix = (ms: number) => Math.floor(ms / 1000);

export function createSeedDemo(setup: PluginSetup, now: () => number = Date.now): Plugin {
  const { min, max } = parseSeedDemoOptions(setup.options);
  const log = setup.log;

  function say(text: string): void {
    const line = `ACCT ${ctime(now())} ${text}`;
    log.info({ line }, line);
  }

  function accounting(record: Readonly<AccountingRecord>, context: AccountingContext): AccountingDecision {
    const tx = record.outputOctets ?? context.session?.outputOctets ?? 0;
    const rx = record.inputOctets ?? context.session?.inputOctets ?? 0;
    switch (record.kind) {
      case "start": {
        const n = randomInt(min, max + 1);
        say(`Sending start time to accounting server ${unix(record.eventTime)}`);
        say(`Plugin requested accounting update in ${n} seconds`);
        return { status: "ok", interimInterval: n };
      }
      case "interim": {
        const n = randomInt(min, max + 1);
        say(`Sending accounting information to server ${tx}tx/${rx}rx`);
        say(`Accounting server requesting new update in ${n} seconds`);
        return { status: "ok", interimInterval: n };
      }
      case "stop": {
        const lasted = record.sessionTime ?? context.session?.sessionTime ?? 0;
        const startedAt = context.session?.startedAt ?? record.eventTime - lasted * 1000;
        say(`Sending accounting information to server ${tx}tx/${rx}rx, session started at ${unix(startedAt)} and last ${lasted}`);
        return { status: "ok" };
      }
      default:
        // Accounting-On/Off concern the whole NAS; the seed's demo had nothing to say.
        return { status: "ok" };
    }
  }

  return { name: NAME, accounting };
}

export default definePlugin((setup) => createSeedDemo(setup));
