// The SQLite store on a worker thread. better-sqlite3 is synchronous: on the main thread every
// statement and every commit (with its fsync) holds up the sockets. Here the main thread only
// posts calls and awaits their answers, so decoding, answering and plugins go on while the
// worker folds and commits, and the group commit naturally gathers what arrives meanwhile.
// Same Store interface, same durability: an append resolves after the worker's commit.

import { Worker } from "node:worker_threads";
import type { AccountingRecord } from "../model/record.ts";
import type { Session, SessionStatus } from "../model/session.ts";
import type { AppendResult, CommandFilter, NasSummary, PruneResult, SessionControl, SessionFilter, Store, StoredUser, TimeRange, Usage } from "./store.ts";
import type { StoredRecord } from "../model/record.ts";
import { packRecords, unpackResults, type PackedResults } from "./record-transfer.ts";

interface Answer {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: { name: string; message: string };
}

function asError(e: { name: string; message: string }): Error {
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

export class WorkerStore implements Store {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on("message", (a: Answer) => {
      const p = this.pending.get(a.id);
      if (p === undefined) return;
      this.pending.delete(a.id);
      if (a.ok) p.resolve(a.value);
      else p.reject(asError(a.error!));
    });
    const fail = (e: Error) => {
      this.failure = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`store worker exited (${code})`)));
  }

  /** Starts the worker and opens (and migrates) the database there; rejects as SqliteStore.open would throw. */
  static open(file: string): Promise<WorkerStore> {
    const worker = new Worker(new URL("./sqlite-worker.mjs", import.meta.url), { workerData: { file } });
    return new Promise((resolve, reject) => {
      const onMessage = (m: { ready?: boolean; error?: { name: string; message: string } }) => {
        if (m.ready === undefined) return;
        worker.off("message", onMessage);
        if (m.ready) resolve(new WorkerStore(worker));
        else {
          void worker.terminate();
          reject(asError(m.error!));
        }
      };
      worker.on("message", onMessage);
      worker.once("error", reject);
    });
  }

  private call<T>(method: keyof Store, args: unknown[]): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, method, args });
    });
  }

  appendRecords(records: readonly AccountingRecord[], defaultInterimInterval: number | null): Promise<AppendResult[]> {
    // Packed (record-transfer.ts): the worker unpacks the first argument of appendRecords.
    // The answer comes packed as well.
    return this.call<PackedResults>("appendRecords", [packRecords(records), defaultInterimInterval]).then(unpackResults);
  }
  listSessions(filter?: SessionFilter): Promise<Session[]> {
    return this.call("listSessions", [filter]);
  }
  countSessions(status: SessionStatus): Promise<number> {
    return this.call("countSessions", [status]);
  }
  getSession(id: number): Promise<Session | null> {
    return this.call("getSession", [id]);
  }
  updateSessionControl(id: number, control: SessionControl): Promise<Session | null> {
    return this.call("updateSessionControl", [id, control]);
  }
  listRecords(sessionPk: number): Promise<StoredRecord[]> {
    return this.call("listRecords", [sessionPk]);
  }
  listCommands(filter?: CommandFilter): Promise<StoredRecord[]> {
    return this.call("listCommands", [filter]);
  }
  usage(user: string, since: number | null, bucket?: "day" | "hour"): Promise<Usage> {
    return this.call("usage", [user, since, bucket]);
  }
  listNas(): Promise<NasSummary[]> {
    return this.call("listNas", []);
  }
  reapOverdue(now: number, graceMs: number, since?: number): Promise<Session[]> {
    return this.call("reapOverdue", [now, graceMs, since]);
  }
  exportRecords(range: TimeRange, afterId: number, limit: number): Promise<StoredRecord[]> {
    return this.call("exportRecords", [range, afterId, limit]);
  }
  exportSessions(range: TimeRange, afterId: number, limit: number): Promise<Session[]> {
    return this.call("exportSessions", [range, afterId, limit]);
  }
  prune(before: number): Promise<PruneResult> {
    return this.call("prune", [before]);
  }
  getUser(name: string): Promise<StoredUser | null> {
    return this.call("getUser", [name]);
  }
  listUsers(): Promise<StoredUser[]> {
    return this.call("listUsers", []);
  }
  putUser(user: StoredUser): Promise<void> {
    return this.call("putUser", [user]);
  }
  removeUser(name: string): Promise<boolean> {
    return this.call("removeUser", [name]);
  }
  async close(): Promise<void> {
    if (this.failure === null) await this.call("close", []);
    await this.worker.terminate();
  }
}
