// Drop logging that a flood cannot turn into a flood of disk writes. Every dropped packet used
// to be one `warn` line, so junk from the network became as many log writes. Now, per drop
// reason and 10-second window, the first drop from each source address is logged in full (up
// to SOURCES_PER_WINDOW addresses), and the rest make one summary line with their count when
// the window ends. The counters and tally_drops_total still count every drop; only the log is
// thinned. docs/operator-guide.md ("Logs") describes what an operator sees.

import type { Logger } from "pino";

/** A reason's window: after it, the suppressed count is logged and the next drop is logged again. */
export const DROP_LOG_WINDOW_MS = 10_000;
/** Distinct source addresses logged in full per reason per window; a spoofed flood has many. */
export const SOURCES_PER_WINDOW = 10;

interface Window {
  /** The message of the window's first line, repeated in its summary. */
  message: string;
  sources: Set<string>;
  suppressed: number;
  timer: NodeJS.Timeout | null;
}

export class DropLog {
  /** By reason: a closed list, so this map is bounded too. */
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly logger: Logger,
    private readonly windowMs = DROP_LOG_WINDOW_MS,
  ) {}

  /** Logs a drop, or counts it into the reason's summary. */
  warn(reason: string, sourceAddress: string, fields: Record<string, unknown>, message: string): void {
    let window = this.windows.get(reason);
    if (window === undefined) {
      window = { message, sources: new Set(), suppressed: 0, timer: null };
      this.windows.set(reason, window);
      // The window ends after windowMs whether or not anything was suppressed; an unref'd timer
      // never holds the process open.
      window.timer = setTimeout(() => this.end(reason), this.windowMs);
      window.timer.unref();
    }
    if (!window.sources.has(sourceAddress) && window.sources.size < SOURCES_PER_WINDOW) {
      window.sources.add(sourceAddress);
      this.logger.warn({ reason, ...fields }, message);
      return;
    }
    window.suppressed++;
  }

  /** Ends every window now (logging their summaries), e.g. before stopping. */
  flush(): void {
    for (const reason of [...this.windows.keys()]) this.end(reason);
  }

  private end(reason: string): void {
    const window = this.windows.get(reason);
    if (window === undefined) return;
    if (window.timer !== null) clearTimeout(window.timer);
    this.windows.delete(reason);
    if (window.suppressed === 0) return;
    const seconds = this.windowMs / 1000;
    this.logger.warn({ reason, suppressed: window.suppressed, seconds }, `${window.message} (${window.suppressed} more in ${seconds} s not logged one by one)`);
  }
}

const byLogger = new WeakMap<Logger, Map<string, DropLog>>();

/**
 * The DropLog of a logger and protocol, made on first use: a server's drop() asks for it each
 * time, so it needs no field of its own and survives a reload (which keeps the logger).
 */
export function dropLog(logger: Logger, protocol: string): DropLog {
  let logs = byLogger.get(logger);
  if (logs === undefined) byLogger.set(logger, (logs = new Map()));
  let log = logs.get(protocol);
  if (log === undefined) logs.set(protocol, (log = new DropLog(logger)));
  return log;
}

/** Logs every pending summary of `logger`'s drop logs (at stop, so no count goes unlogged). */
export function flushDropLogs(logger: Logger): void {
  for (const log of byLogger.get(logger)?.values() ?? []) log.flush();
}
