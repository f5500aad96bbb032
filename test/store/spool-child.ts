// Child process for the spool crash test, killed with SIGKILL by the parent.
//   spool JOURNAL DB:  the store is down; appends batch after batch through the spool,
//                      printing "acked <n>" once each is acknowledged (in the journal, fsync'd).
//   replay JOURNAL DB: the store is up; replays the journal one batch per call, printing
//                      "replayed <records>" after each.
// Batch n is one whole session "dur-<n>": start, interim and stop (durability-batch.ts).

import { SpoolingStore } from "../../src/store/spooling-store.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { batchFor } from "./durability-batch.ts";
import { faultyStore } from "./faulty-store.ts";

const [mode, journal, db] = process.argv.slice(2);
if ((mode !== "spool" && mode !== "replay") || journal === undefined || db === undefined) {
  throw new Error("usage: spool-child.ts spool|replay JOURNAL DB");
}
const { store, faults } = faultyStore(SqliteStore.open(db));

if (mode === "spool") {
  faults.down = true;
  const spool = await SpoolingStore.open(store, journal, { retryMinMs: 60_000 });
  for (let n = 0; ; n++) {
    const results = await spool.appendRecords(batchFor(n), 600);
    if (!results.every((r) => r.spooled === true)) throw new Error(`batch ${n} was not spooled`);
    process.stdout.write(`acked ${n}\n`);
    // Let the event loop run (and the parent's signal land) between batches.
    await new Promise((resolve) => setImmediate(resolve));
  }
} else {
  const spool = await SpoolingStore.open(store, journal, { replayBatch: 3, replayInFlight: 2 });
  let replayed = 0;
  spool.onReplayed((records) => {
    replayed += records.length;
    process.stdout.write(`replayed ${replayed}\n`);
  });
  await spool.replay();
  process.stdout.write("drained\n");
  await new Promise(() => {});
}
