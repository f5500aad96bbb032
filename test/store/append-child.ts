// Child process for the durability test: appends batches to the store at argv[2] as fast as it
// can, printing "committed <n>" after each appendRecords resolves, until it is killed.
// Batch n is one whole session "dur-<n>": start, interim and stop.

import { SqliteStore } from "../../src/store/sqlite.ts";
import type { Store } from "../../src/store/store.ts";
import { WorkerStore } from "../../src/store/worker-store.ts";
import { batchFor } from "./durability-batch.ts";

const file = process.argv[2];
if (file === undefined) throw new Error("usage: append-child.ts <db file> [worker]");
// "worker": the store on a worker thread, as `tally serve` runs it.
const store: Store = process.argv[3] === "worker" ? await WorkerStore.open(file) : SqliteStore.open(file);

for (let n = 0; ; n++) {
  await store.appendRecords(batchFor(n), 600);
  process.stdout.write(`committed ${n}\n`);
  // Let the event loop run (and the parent's signal land) between batches.
  await new Promise((resolve) => setImmediate(resolve));
}
