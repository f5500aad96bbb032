// One structured logger (pino) for the whole process. Logs go to stderr so that CLI commands
// keep stdout for their output (JSON, tables).

import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Fields that hold secrets are censored wherever a log call puts them, at the top level or one
 * level down. Tally's own log calls never pass them (test/interop/secrets.test.ts searches a
 * whole run's log); this is the second line, for a plugin's `log` or a future mistake.
 */
export const REDACTED_LOG_FIELDS = ["password", "secret", "tacacsKey", "key", "token", "authorization", "enable", "passphrase"].flatMap((f) => [f, `*.${f}`]);

/** The process's logger, to stderr; `destination` is for tests. */
export function createLogger(level: string, destination: pino.DestinationStream = pino.destination(2)): Logger {
  return pino(
    { level, base: { name: "tally" }, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACTED_LOG_FIELDS, censor: "[redacted]" } },
    destination,
  );
}
