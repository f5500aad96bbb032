// A fault injector for the spool tests: a Store that passes every call to a real one unless
// switched off (then every call fails as node-postgres does when PostgreSQL is down:
// ECONNREFUSED), and that can refuse chosen records, hold appends behind a gate, or commit a
// batch and then lose the answer (the connection dropped after COMMIT).

import type { AccountingRecord } from "../../src/model/record.ts";
import type { AppendResult, Store } from "../../src/store/store.ts";

export function unreachable(): Error {
  return Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED", errno: -111, syscall: "connect" });
}

export interface Faults {
  /** Every call fails with ECONNREFUSED. */
  down: boolean;
  /** Records the store refuses (a non-unavailability error, like a constraint violation). */
  refuse: (r: AccountingRecord) => boolean;
  /** While set, appends wait for it before doing anything. */
  gate: Promise<void> | null;
  /** The next N appends commit, then fail with ECONNRESET as if the answer were lost. */
  loseAnswers: number;
  /** Called when an answer is lost (before the failure is thrown). */
  onLoss: () => void;
  /** Delay (ms) before answering an append, per call, by call number (0-based). */
  delay: (call: number) => number;
  /** appendRecords calls so far, and the batches that reached the real store. */
  calls: number;
  stored: AccountingRecord[][];
}

export function faultyStore(inner: Store): { store: Store; faults: Faults } {
  const faults: Faults = { down: false, refuse: () => false, gate: null, loseAnswers: 0, onLoss: () => {}, delay: () => 0, calls: 0, stored: [] };
  const appendRecords = async (records: readonly AccountingRecord[], interval: number | null): Promise<AppendResult[]> => {
    const call = faults.calls++;
    const wait = faults.delay(call);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (faults.gate !== null) await faults.gate;
    if (faults.down) throw unreachable();
    const refused = records.find(faults.refuse);
    if (refused !== undefined) {
      throw Object.assign(new Error(`duplicate key value violates unique constraint (${refused.dedupKey})`), { code: "23505" });
    }
    const results = await inner.appendRecords(records, interval);
    faults.stored.push([...records]);
    if (faults.loseAnswers > 0) {
      faults.loseAnswers--;
      faults.onLoss();
      throw Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    }
    return results;
  };
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "appendRecords") return appendRecords;
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (faults.down && prop !== "close") return Promise.reject(unreachable());
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, faults };
}
