// One structured logger (pino) for the whole process. Logs go to stderr so that CLI commands
// keep stdout for their output (JSON, tables).

import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Fields that hold secrets are censored when a log call puts them at the top level (and the
 * usual places of an Authorization header). Tally's own log calls never pass them
 * (test/interop/secrets.test.ts searches a whole run's log); this is the second line, for a
 * plugin's `log` or a future mistake. Only fixed paths: wildcard paths ("*.password") made every
 * log line walk its fields and cost 15 % of the RADIUS authentication rate (BENCHMARKS.md).
 */
export const REDACTED_LOG_FIELDS = [
  ...["password", "secret", "tacacsKey", "key", "token", "authorization", "enable", "passphrase"],
  "headers.authorization",
  "req.headers.authorization",
];

/** The process's logger, to stderr; `destination` is for tests. */
export function createLogger(level: string, destination: pino.DestinationStream = pino.destination(2)): Logger {
  return pino(
    { level, base: { name: "tally" }, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACTED_LOG_FIELDS, censor: "[redacted]" } },
    destination,
  );
}
