// Entry of the store's worker thread: a worker does not inherit the main thread's tsx loader,
// so it registers its own before loading the TypeScript worker (as bin/tally.mjs does).
import { register } from "tsx/esm/api";
register();
await import("./sqlite-worker.ts");
