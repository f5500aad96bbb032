// The spool: a Store in front of another (PostgreSQL) that keeps acknowledging accounting
// records while that store is unreachable. A batch the store cannot take because it is down
// (isStoreUnavailable) goes to a local journal and resolves once the journal has fsync'd it;
// from then on every new batch queues in the journal behind it, so records reach the store in
// the order they were acknowledged. A replayer drains the journal into the store, oldest
// first, retrying with backoff while the store stays down; once the journal is empty, appends
// go straight to the store again.
//
// Exactly once: the store deduplicates by record identity (dedupKey), so a batch replayed
// twice (a crash between storing it and recording that it was replayed) yields duplicates,
// never double counts; the journal's replay position keeps such repeats to the last batch.
//
// Any other error (the store refused the records) still rejects: nothing is acknowledged. A
// record the store refuses during a replay (it was acknowledged while the store was down) is
// tried a few times and then set aside in JOURNAL.rejected for an operator, never dropped.
// Reads go to the store and fail, saying so, while it is down.

import type { Logger } from "pino";
import type { AccountingRecord, StoredRecord } from "../model/record.ts";
import type { Session } from "../model/session.ts";
import { Journal, type JournalBatch } from "./journal.ts";
import type { AppendResult, CommandFilter, NasSummary, PruneResult, SessionControl, SessionFilter, Store, StoredUser, TimeRange, Usage } from "./store.ts";
import { isStoreUnavailable } from "./unavailable.ts";

export { isStoreUnavailable };

export interface SpoolingStoreOptions {
  logger?: Logger;
  /** Most records per replayed appendRecords call (default 1000). */
  replayBatch?: number;
  /**
   * Replay calls in flight at once (default 4). The store must keep the order of calls in
   * flight, as both stores do (SQLite runs them in turn; PostgreSQL takes their locks in turn).
   */
  replayInFlight?: number;
  /** Wait after the first failed replay attempt, doubling up to retryMaxMs (defaults 250 and 5000 ms). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Attempts at a record the store refuses (not unreachable) during a replay before it is set aside (default 3). */
  rejectAttempts?: number;
}

/** Told what a replay stored (for what those records closed: plugins' sessionClosed). */
export type ReplayListener = (records: readonly AccountingRecord[], results: readonly AppendResult[]) => void;

export interface SpoolStats {
  /** Records acknowledged from the journal. */
  spooled: number;
  /** Records replayed into the store (duplicates included). */
  replayed: number;
  /** Of those, the store already had. */
  duplicates: number;
  /** Set aside in JOURNAL.rejected. */
  rejected: number;
}

const SPOOLED: AppendResult = Object.freeze({ recordId: 0, sessionPk: null, duplicate: false, spooled: true }) as AppendResult;
interface ReplayRun {
  records: number;
  duplicates: number;
  batches: number;
  rejected: number;
  /** ms before the next attempt while the store is unreachable. */
  wait: number;
  failedSince: number | null;
  loggedAt: number;
  /** When progress was last logged during a long replay. */
  progressAt: number;
}

interface ReplayGroup {
  interval: number | null;
  records: AccountingRecord[];
  /** Journal batches in the group, and the seq of the last. */
  batches: number;
  lastSeq: number;
}

/**
 * Consecutive readable batches with the same interval, up to `maxRecords` a group (a batch is
 * never split); stops at the first unreadable batch.
 */
function groupBatches(batches: readonly JournalBatch[], maxRecords: number): ReplayGroup[] {
  const groups: ReplayGroup[] = [];
  for (const b of batches) {
    if ("unreadable" in b) break;
    const last = groups[groups.length - 1];
    if (last !== undefined && last.interval === b.interval && last.records.length + b.records.length <= maxRecords) {
      last.records.push(...b.records);
      last.batches++;
      last.lastSeq = b.seq;
    } else {
      groups.push({ interval: b.interval, records: [...b.records], batches: 1, lastSeq: b.seq });
    }
  }
  return groups;
}

/** Logged at most this often while the store stays unreachable during a replay. */
const RETRY_LOG_EVERY_MS = 30_000;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class SpoolingStore implements Store {
  readonly #inner: Store;
  readonly #journal: Journal;
  readonly #log: Logger | null;
  readonly #replayBatch: number;
  readonly #replayInFlight: number;
  readonly #retryMinMs: number;
  readonly #retryMaxMs: number;
  readonly #rejectAttempts: number;
  readonly stats: SpoolStats = { spooled: 0, replayed: 0, duplicates: 0, rejected: 0 };
  #listener: ReplayListener | null = null;
  /**
   * Settles when the latest append that went straight to the store has either been stored or
   * been queued in the journal: an append that finds the store down joins the journal only
   * after every earlier one has, so the journal keeps their order.
   */
  #turn: Promise<void> = Promise.resolve();
  /** The replayer; `#replayerRunning` is cleared by the loop itself as it ends (not a microtask later). */
  #replaying: Promise<void> = Promise.resolve();
  #replayerRunning = false;
  /** Since when records have been waiting in the journal (ms), for the log line that ends it. */
  #spoolingSince: number | null = null;
  /** Ends the waits under way (close). */
  readonly #wake = new Set<() => void>();
  #closed = false;

  private constructor(inner: Store, journal: Journal, options: SpoolingStoreOptions) {
    this.#inner = inner;
    this.#journal = journal;
    this.#log = options.logger ?? null;
    this.#replayBatch = options.replayBatch ?? 1000;
    this.#replayInFlight = options.replayInFlight ?? 4;
    this.#retryMinMs = options.retryMinMs ?? 250;
    this.#retryMaxMs = options.retryMaxMs ?? 5000;
    this.#rejectAttempts = options.rejectAttempts ?? 3;
  }

  /**
   * Opens the journal at `journalFile` in front of the store. What the journal still holds (a
   * crash, or a stop while the store was down) waits for replay(); appends queue behind it.
   * `inner` may be a function that opens the store: while it fails because the store is
   * unreachable, it is called again with backoff, and the log says what waits in the journal.
   */
  static async open(inner: Store | (() => Promise<Store>), journalFile: string, options: SpoolingStoreOptions = {}): Promise<SpoolingStore> {
    const log = options.logger ?? null;
    const { journal, recovery } = await Journal.open(journalFile);
    try {
      if (recovery.torn !== null) {
        log?.warn({ journal: journalFile, ...recovery.torn }, "spool journal: cut off a torn last write (a crash during it; it was never acknowledged)");
      }
      if (recovery.records > 0) {
        log?.warn({ journal: journalFile, records: recovery.records, batches: recovery.batches }, "spool journal holds records from before: they go into the store before anything new");
      }
      const store = new SpoolingStore(typeof inner === "function" ? await SpoolingStore.#reach(inner, journal, options) : inner, journal, options);
      if (recovery.records > 0) store.#spoolingSince = Date.now();
      return store;
    } catch (err) {
      await journal.close();
      throw err;
    }
  }

  /** Opens the store, waiting with backoff (and saying so) while it is unreachable. */
  static async #reach(open: () => Promise<Store>, journal: Journal, options: SpoolingStoreOptions): Promise<Store> {
    let wait = options.retryMinMs ?? 250;
    let loggedAt: number | null = null;
    for (;;) {
      try {
        const store = await open();
        if (loggedAt !== null) options.logger?.info({ waiting: journal.depth }, "store reachable");
        return store;
      } catch (err) {
        if (!isStoreUnavailable(err)) throw err;
        if (loggedAt === null || Date.now() - loggedAt >= RETRY_LOG_EVERY_MS) {
          loggedAt = Date.now();
          options.logger?.warn(
            { error: message(err), waiting: journal.depth, journal: journal.file },
            journal.depth > 0
              ? "store unreachable at start-up: records wait in the spool journal; not serving until they are stored; retrying"
              : "store unreachable at start-up; retrying",
          );
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, options.retryMaxMs ?? 5000);
      }
    }
  }

  /** The journal's file. */
  get journalFile(): string {
    return this.#journal.file;
  }

  /** Records acknowledged and waiting in the journal for the store. */
  get depth(): number {
    return this.#journal.depth;
  }

  /** Who is told what each replay stored (one listener; null removes it). */
  onReplayed(listener: ReplayListener | null): void {
    this.#listener = listener;
  }

  async appendRecords(records: readonly AccountingRecord[], defaultInterimInterval: number | null): Promise<AppendResult[]> {
    if (this.#closed) throw new Error("store is closed");
    if (records.length === 0) return [];
    if (this.#journal.depth > 0) return this.#spool(records, defaultInterimInterval);

    const previous = this.#turn;
    let done!: () => void;
    this.#turn = new Promise<void>((resolve) => (done = resolve));
    try {
      const results = await this.#inner.appendRecords(records, defaultInterimInterval);
      done();
      return results;
    } catch (err) {
      if (!isStoreUnavailable(err)) {
        done();
        throw err;
      }
      await previous;
      return this.#spool(records, defaultInterimInterval, err, done);
    }
  }

  /** Appends to the journal (queued at once, in call order) and resolves once it is fsync'd. */
  async #spool(records: readonly AccountingRecord[], interval: number | null, cause?: unknown, queued?: () => void): Promise<AppendResult[]> {
    const first = this.#journal.depth === 0;
    let written: Promise<void>;
    try {
      written = this.#journal.append(records, interval);
    } finally {
      // Queued (or failed): the appends behind this one may go on.
      queued?.();
    }
    if (first && this.#spoolingSince === null) {
      this.#spoolingSince = Date.now();
      this.#log?.warn(
        { error: cause === undefined ? undefined : message(cause), journal: this.#journal.file },
        "store unreachable: acknowledging records from the spool journal until it returns",
      );
    }
    void this.replay();
    await written;
    this.stats.spooled += records.length;
    return records.map(() => SPOOLED);
  }

  /**
   * Replays the journal into the store, retrying while the store is unreachable. Resolves once
   * the journal is empty (or the store is closed). Starts the replayer if it is not running.
   */
  replay(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (!this.#replayerRunning) {
      this.#replayerRunning = true;
      this.#replaying = this.#replayLoop();
    }
    return this.#replaying;
  }

  async #replayLoop(): Promise<void> {
    const run: ReplayRun = { records: 0, duplicates: 0, batches: 0, rejected: 0, wait: this.#retryMinMs, failedSince: null, loggedAt: 0, progressAt: Date.now() };
    try {
      while (!this.#closed && this.#journal.depth > 0) await this.#replayStep(run);
    } finally {
      // In the same turn as the loop's last look at the journal (not a microtask later): an
      // append that lands after it finds the replayer stopped and starts it again.
      this.#replayerRunning = false;
      if (this.#journal.depth === 0) {
        if (run.batches > 0) {
          const since = this.#spoolingSince;
          const { records, duplicates, batches, rejected } = run;
          this.#log?.info(
            { records, duplicates, batches, rejected, spooledForMs: since === null ? undefined : Date.now() - since, journal: this.#journal.file },
            "spool replayed: the store has every acknowledged record",
          );
        }
        this.#spoolingSince = null;
      }
    }
  }

  /**
   * One turn of the replayer: the oldest waiting batches, as up to `replayInFlight` calls to
   * the store made at once (in order: the store keeps the order of calls in flight), each
   * recorded as replayed in order as it succeeds. Or a wait, when the store is unreachable.
   */
  async #replayStep(run: ReplayRun): Promise<void> {
    let batches: JournalBatch[];
    try {
      batches = await this.#journal.readPending(this.#replayBatch * this.#replayInFlight);
    } catch (err) {
      // The journal cannot be read (an I/O error): say so and try again; nothing is dropped.
      this.#log?.error({ error: message(err), journal: this.#journal.file }, "spool journal: cannot read; retrying");
      await this.#sleep(this.#retryMaxMs);
      return;
    }
    if (batches.length === 0) {
      // What waits is still being written.
      await this.#journal.settled();
      return;
    }
    const first = batches[0]!;
    if ("unreadable" in first) {
      try {
        await this.#journal.setAside({ at: new Date().toISOString(), error: "unreadable batch", seq: first.seq, frame: first.unreadable.toString("base64") });
        this.#log?.error({ journal: this.#journal.file, seq: first.seq }, "spool journal: a batch cannot be decoded; set aside in the .rejected file");
        await this.#journal.markReplayed(first.seq);
      } catch (err) {
        await this.#replayFailed(run, err);
      }
      return;
    }
    const groups = groupBatches(batches, this.#replayBatch).slice(0, this.#replayInFlight);
    const calls = groups.map((g) => this.#storeReplayed(g.records, g.interval));
    // Settled in order; a failure leaves the calls after it to settle unobserved (what they
    // stored is found as duplicates when they are replayed again).
    calls.forEach((c) => c.catch(() => undefined));
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      try {
        const { results, rejected } = await calls[i]!;
        await this.#journal.markReplayed(g.lastSeq);
        const duplicates = results.filter((r) => r.duplicate).length;
        run.records += g.records.length;
        run.duplicates += duplicates;
        run.batches += g.batches;
        run.rejected += rejected;
        this.stats.replayed += g.records.length;
        this.stats.duplicates += duplicates;
        this.stats.rejected += rejected;
        if (run.failedSince !== null) {
          this.#log?.info({ unreachableMs: Date.now() - run.failedSince, waiting: this.#journal.depth }, "store reachable again: replaying the spool journal");
          run.failedSince = null;
        }
        run.wait = this.#retryMinMs;
        if (Date.now() - run.progressAt >= RETRY_LOG_EVERY_MS) {
          run.progressAt = Date.now();
          this.#log?.info({ replayed: run.records, waiting: this.#journal.depth, journal: this.#journal.file }, "spool replay under way");
        }
        this.#notify(g.records, results);
      } catch (err) {
        await Promise.allSettled(calls.slice(i + 1));
        await this.#replayFailed(run, err);
        return;
      }
    }
  }

  /** A replay call failed: log (at most every 30 s while the store stays down) and back off. */
  async #replayFailed(run: ReplayRun, err: unknown): Promise<void> {
    if (this.#closed) return;
    if (!isStoreUnavailable(err)) {
      // Setting aside or recording the position failed (the disk): try again later.
      this.#log?.error({ error: message(err), journal: this.#journal.file }, "spool replay failed; retrying");
    } else if (run.failedSince === null || Date.now() - run.loggedAt >= RETRY_LOG_EVERY_MS) {
      run.failedSince ??= Date.now();
      run.loggedAt = Date.now();
      this.#log?.warn({ error: message(err), waiting: this.#journal.depth, journal: this.#journal.file }, "store unreachable: records wait in the spool journal; retrying");
    }
    await this.#sleep(run.wait);
    run.wait = Math.min(run.wait * 2, this.#retryMaxMs);
  }

  /**
   * Stores replayed records. If the store refuses the batch (not unreachable), the records go
   * one at a time so that only those it keeps refusing are set aside.
   */
  async #storeReplayed(records: AccountingRecord[], interval: number | null): Promise<{ results: AppendResult[]; rejected: number }> {
    try {
      return { results: await this.#inner.appendRecords(records, interval), rejected: 0 };
    } catch (err) {
      if (isStoreUnavailable(err)) throw err;
    }
    const results: AppendResult[] = [];
    let rejected = 0;
    for (const record of records) {
      for (let attempt = 1; ; attempt++) {
        try {
          results.push(...(await this.#inner.appendRecords([record], interval)));
          break;
        } catch (err) {
          if (isStoreUnavailable(err)) throw err;
          if (attempt < this.#rejectAttempts) {
            await this.#sleep(this.#retryMinMs);
            if (this.#closed) throw err;
            continue;
          }
          await this.#journal.setAside({ at: new Date().toISOString(), error: message(err), interval, record });
          this.#log?.error(
            { error: message(err), dedupKey: record.dedupKey, sessionId: record.sessionId, rejected: `${this.#journal.file}.rejected` },
            "the store refuses a spooled record: set aside in the .rejected file",
          );
          results.push(SPOOLED);
          rejected++;
          break;
        }
      }
    }
    return { results, rejected };
  }

  #notify(records: readonly AccountingRecord[], results: readonly AppendResult[]): void {
    if (this.#listener === null) return;
    try {
      this.#listener(records, results);
    } catch (err) {
      this.#log?.error({ error: message(err) }, "spool replay listener failed");
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake.add(done);
    });
  }

  /** Calls the store; an unreachable store is said to be one, with what waits in the journal. */
  async #pass<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (!isStoreUnavailable(err)) throw err;
      const waiting = this.#journal.depth;
      throw new Error(
        `${what}: the store is unreachable (${message(err)})${waiting > 0 ? `; ${waiting} records wait in the spool journal ${this.#journal.file}` : ""}`,
        { cause: err },
      );
    }
  }

  listSessions(filter?: SessionFilter): Promise<Session[]> {
    return this.#pass("listSessions", () => this.#inner.listSessions(filter));
  }
  getSession(id: number): Promise<Session | null> {
    return this.#pass("getSession", () => this.#inner.getSession(id));
  }
  updateSessionControl(id: number, control: SessionControl): Promise<Session | null> {
    return this.#pass("updateSessionControl", () => this.#inner.updateSessionControl(id, control));
  }
  listRecords(sessionPk: number): Promise<StoredRecord[]> {
    return this.#pass("listRecords", () => this.#inner.listRecords(sessionPk));
  }
  listCommands(filter?: CommandFilter): Promise<StoredRecord[]> {
    return this.#pass("listCommands", () => this.#inner.listCommands(filter));
  }
  usage(user: string, since: number | null, bucket?: "day" | "hour"): Promise<Usage> {
    return this.#pass("usage", () => this.#inner.usage(user, since, bucket));
  }
  listNas(): Promise<NasSummary[]> {
    return this.#pass("listNas", () => this.#inner.listNas());
  }
  /**
   * Reaps nothing while records wait in the journal: their sessions' latest updates may be
   * among them, and a session must not be closed as stale for a record that is on its way.
   */
  async reapOverdue(now: number, graceMs: number, since?: number): Promise<Session[]> {
    if (this.#journal.depth > 0) {
      this.#log?.debug({ waiting: this.#journal.depth }, "reaper skipped: records wait in the spool journal");
      return [];
    }
    return this.#pass("reapOverdue", () => this.#inner.reapOverdue(now, graceMs, since));
  }
  exportRecords(range: TimeRange, afterId: number, limit: number): Promise<StoredRecord[]> {
    return this.#pass("exportRecords", () => this.#inner.exportRecords(range, afterId, limit));
  }
  exportSessions(range: TimeRange, afterId: number, limit: number): Promise<Session[]> {
    return this.#pass("exportSessions", () => this.#inner.exportSessions(range, afterId, limit));
  }
  prune(before: number): Promise<PruneResult> {
    return this.#pass("prune", () => this.#inner.prune(before));
  }
  getUser(name: string): Promise<StoredUser | null> {
    return this.#pass("getUser", () => this.#inner.getUser(name));
  }
  listUsers(): Promise<StoredUser[]> {
    return this.#pass("listUsers", () => this.#inner.listUsers());
  }
  putUser(user: StoredUser): Promise<void> {
    return this.#pass("putUser", () => this.#inner.putUser(user));
  }
  removeUser(name: string): Promise<boolean> {
    return this.#pass("removeUser", () => this.#inner.removeUser(name));
  }

  /**
   * Stops the replayer (a replay under way finishes its call), closes the journal and the
   * store. What the journal still holds is replayed at the next start.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const wake of [...this.#wake]) wake();
    await this.#replaying;
    await this.#journal.close();
    if (this.#journal.depth > 0) {
      this.#log?.warn({ waiting: this.#journal.depth, journal: this.#journal.file }, "stopping with records in the spool journal: they are replayed at the next start");
    }
    await this.#inner.close();
  }
}
