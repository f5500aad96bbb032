// The worker-thread side of WorkerStore: one SqliteStore on its own thread, answering the
// Store calls the main thread posts. Each call runs to completion (an appendRecords has
// committed and fsynced) before its answer is posted.

import { parentPort, workerData } from "node:worker_threads";
import { packResults, unpackRecords, type PackedRecord } from "./record-transfer.ts";
import { SqliteStore } from "./sqlite.ts";
import type { AppendResult, Store } from "./store.ts";

type Method = Exclude<keyof Store, "close">;
interface Call {
  id: number;
  method: Method | "close";
  args: unknown[];
}

const port = parentPort!;
let store: SqliteStore;
try {
  store = SqliteStore.open((workerData as { file: string }).file);
} catch (e) {
  port.postMessage({ ready: false, error: { name: (e as Error).name, message: (e as Error).message } });
  process.exit(0);
}
port.postMessage({ ready: true });

port.on("message", (call: Call) => {
  void (async () => {
    try {
      if (call.method === "close") {
        await store.close();
        port.postMessage({ id: call.id, ok: true, value: undefined });
        port.close();
        return;
      }
      // appendRecords comes packed (record-transfer.ts): unpacked here, on this thread.
      if (call.method === "appendRecords") call.args[0] = unpackRecords(call.args[0] as PackedRecord[]);
      const fn = store[call.method] as (...a: unknown[]) => Promise<unknown>;
      const value = await fn.apply(store, call.args);
      if (call.method === "appendRecords") {
        const packed = packResults(value as AppendResult[]);
        port.postMessage({ id: call.id, ok: true, value: packed }, [packed.numbers.buffer]);
        return;
      }
      port.postMessage({ id: call.id, ok: true, value });
    } catch (e) {
      port.postMessage({ id: call.id, ok: false, error: { name: (e as Error).name, message: (e as Error).message } });
    }
  })();
});
