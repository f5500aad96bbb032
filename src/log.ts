// One structured logger (pino) for the whole process. Logs go to stderr so that CLI commands
// keep stdout for their output (JSON, tables).

import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { name: "tally" }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2));
}
