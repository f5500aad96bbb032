// The accounting core: every transport hands its AccountingRecords here. Records that arrive
// together are committed together (group commit): one durable transaction per batch instead of
// one disk flush per packet. A caller's promise resolves only after its record is durable, so
// the transport acknowledges nothing that could still be lost.

import { secondsSince, type CommitMetrics } from "../metrics/sink.ts";
import type { AccountingRecord } from "../model/record.ts";
import type { AppendResult, Store } from "../store/store.ts";

interface Pending {
  record: AccountingRecord;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

export interface AccountingCoreOptions {
  /** Seconds; the interim interval a new session is expected to report at. */
  defaultInterimInterval: number;
  /** Most records in one transaction. */
  maxBatch: number;
  /**
   * Batches handed to the store before the first is committed (default 1). A store that runs
   * its calls in order on another thread (WorkerStore) can take the next batch while it
   * commits one, so the two threads overlap.
   */
  maxBatchesInFlight?: number;
}

export interface AccountingStats {
  committed: number;
  duplicates: number;
  batches: number;
  failedBatches: number;
  largestBatch: number;
}

/** Longest a batch waits for more records while each loop turn keeps bringing some. */
const MAX_GATHER_MS = 2;

export class AccountingCore {
  private queue: Pending[] = [];
  private flushScheduled = false;
  private inFlight = 0;
  private idle: (() => void)[] = [];
  private closed = false;
  readonly stats: AccountingStats = { committed: 0, duplicates: 0, batches: 0, failedBatches: 0, largestBatch: 0 };

  constructor(
    private readonly store: Store,
    private readonly options: AccountingCoreOptions,
    private readonly onBatchError: (error: unknown, size: number) => void = () => {},
    private readonly metrics: CommitMetrics | null = null,
  ) {}

  /** Resolves once the record is durably stored (or known to be a duplicate of a stored one). */
  submit(record: AccountingRecord): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error("accounting core is closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.inFlight >= (this.options.maxBatchesInFlight ?? 1)) return;
    this.flushScheduled = true;
    const since = performance.now();
    let seen = -1;
    // setImmediate runs after the I/O callbacks of this loop turn: every datagram already
    // read joins the batch. libuv reads at most 32 datagrams per socket per turn, so under
    // load (another batch in flight) the batch waits while each turn still brings more (up to
    // maxBatch records or MAX_GATHER_MS): one commit then serves hundreds of requests instead
    // of 32. When a turn brings nothing new, or the store has nothing in flight, it commits
    // at once.
    const gather = () => {
      const full = this.queue.length >= this.options.maxBatch;
      const grew = this.queue.length > seen;
      const waited = performance.now() - since >= MAX_GATHER_MS;
      // With nothing in flight the store is idle: waiting would only add latency (at half of
      // peak it was most of the p50). Gathering pays while another batch is being committed.
      const storeIdle = this.inFlight === 0;
      if (!full && grew && !waited && !storeIdle) {
        seen = this.queue.length;
        setImmediate(gather);
        return;
      }
      this.flushScheduled = false;
      if (this.queue.length === 0) return;
      this.inFlight++;
      void this.flush().finally(() => {
        this.inFlight--;
        if (this.queue.length > 0) this.scheduleFlush();
        else if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
      });
      // Room for another batch in flight: start gathering it now.
      if (this.queue.length > 0) this.scheduleFlush();
    };
    setImmediate(gather);
  }

  /** Commits one batch (and, if it fails, its records one by one). */
  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, this.options.maxBatch);
    this.stats.batches++;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    try {
      this.settle(batch, await this.commit(batch));
    } catch (e) {
      this.stats.failedBatches++;
      this.onBatchError(e, batch.length);
      if (batch.length === 1) {
        batch[0]!.reject(e);
        return;
      }
      // One bad record must not hold back the others (the whole transaction rolled back):
      // commit them one by one so only the record that fails stays unacknowledged.
      for (const p of batch) {
        try {
          this.settle([p], await this.commit([p]));
        } catch (single) {
          p.reject(single);
        }
      }
    }
  }

  /** One store transaction, timed for the metrics. */
  private async commit(batch: Pending[]): Promise<AppendResult[]> {
    const started = performance.now();
    try {
      const results = await this.store.appendRecords(batch.map((p) => p.record), this.interval());
      this.metrics?.commit(secondsSince(started), batch.length, true);
      return results;
    } catch (e) {
      this.metrics?.commit(secondsSince(started), batch.length, false);
      throw e;
    }
  }

  private interval(): number | null {
    return this.options.defaultInterimInterval > 0 ? this.options.defaultInterimInterval : null;
  }

  private settle(batch: Pending[], results: AppendResult[]): void {
    batch.forEach((p, i) => {
      const r = results[i]!;
      if (r.duplicate) this.stats.duplicates++;
      else this.stats.committed++;
      p.resolve(r);
    });
  }

  /** Waits for everything queued to be committed, then refuses new records. */
  async close(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight > 0 || this.flushScheduled) {
      await new Promise<void>((r) => (this.inFlight > 0 ? this.idle.push(r) : setImmediate(r)));
    }
    this.closed = true;
  }
}
