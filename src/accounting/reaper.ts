// The reaper: every `accounting.reapInterval` seconds, closes as `stale` the open sessions whose
// updates stopped without a Stop (last update + interval x 2 + staleGrace has passed, and as
// long has passed since the reaper started), logs each, and tells the plugins as for any other
// close. The store does the closing, conditional
// on the session still being open, so several nodes may reap one database. A failed run is
// logged and the next one tries again; nothing here can stop the server.

import type { Logger } from "pino";
import type { Session } from "../model/session.ts";
import type { Store } from "../store/store.ts";

export interface ReaperOptions {
  /** Seconds between runs; 0 disables the reaper. */
  reapInterval: number;
  /** Seconds beyond two interim intervals before an open session counts as stale. */
  staleGrace: number;
}

export class Reaper {
  #timer: NodeJS.Timeout | null = null;
  /** The run under way, so stop() can wait for it (it may be in the store or the plugins). */
  #running: Promise<unknown> | null = null;
  #stopped = false;
  /** When start() was called: silence before it (the server was not running) does not count. */
  #since: number | undefined;

  constructor(
    private readonly store: Store,
    private readonly options: ReaperOptions,
    private readonly logger: Logger,
    /** Told of each reaped session (the plugins' sessionClosed); must not reject. */
    private readonly announce: (session: Session) => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * One run: closes what is overdue now (counting silence from start() at the earliest, once
   * started), logs and announces each; rejects when the store fails.
   */
  async run(): Promise<Session[]> {
    const reaped = await this.store.reapOverdue(this.now(), this.options.staleGrace * 1000, this.#since);
    for (const s of reaped) {
      this.logger.info(
        {
          session: s.id,
          user: s.user,
          nas: s.nas,
          sessionId: s.sessionId,
          protocol: s.protocol,
          lastUpdate: new Date(s.updatedAt).toISOString(),
          interimInterval: s.interimInterval,
        },
        "session reaped: stale",
      );
    }
    await Promise.all(reaped.map((s) => this.announce(s)));
    return reaped;
  }

  /**
   * Runs every reapInterval seconds (the first run one interval from now) until stop(). Silence
   * before now does not count: after an outage, a NAS whose updates went nowhere gets the
   * whole interval x 2 + grace from now before its sessions count as stale.
   */
  start(): void {
    if (this.options.reapInterval === 0 || this.#stopped || this.#timer !== null) return;
    this.#since ??= this.now();
    this.#schedule();
  }

  #schedule(): void {
    // The next run is timed from the end of this one, so runs never overlap.
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const run = this.run().catch((err: unknown) => this.logger.error({ err }, "reaper run failed; trying again at the next run"));
      this.#running = run;
      void run.finally(() => {
        this.#running = null;
        if (!this.#stopped) this.#schedule();
      });
    }, this.options.reapInterval * 1000);
    // The listeners keep the process alive; a pending run alone should not.
    this.#timer.unref();
  }

  /** No more runs; resolves once a run under way has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}
