import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { batchFor } from "./durability-batch.ts";
import { tempDir } from "./fixtures.ts";
import type { TempDir } from "./fixtures.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, "append-child.ts");
/** Kill the child once it has acknowledged this many batches. */
const KILL_AFTER = 25;

let tmp: TempDir;
before(() => {
  tmp = tempDir();
});
after(() => tmp.cleanup());

/** Runs the child until it has acknowledged KILL_AFTER batches, SIGKILLs it, returns what it acknowledged. */
function runAndKill(file: string, variant: "direct" | "worker"): Promise<{ acked: number[]; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, file, variant], {
      cwd: path.resolve(here, "../.."),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const acked: number[] = [];
    let out = "";
    let err = "";
    let killed = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`child did not acknowledge ${KILL_AFTER} batches in time; stderr: ${err}`));
    }, 20_000);
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      let nl: number;
      while ((nl = out.indexOf("\n")) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        const m = /^committed (\d+)$/.exec(line);
        if (m?.[1] !== undefined) acked.push(Number(m[1]));
      }
      if (!killed && acked.length >= KILL_AFTER) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (!killed) reject(new Error(`child exited on its own (code ${code}); stderr: ${err}`));
      else resolve({ acked, signal });
    });
  });
}

for (const variant of ["direct", "worker"] as const) {
  test(`every batch acknowledged before a SIGKILL is in the database afterwards, whole (store ${variant === "worker" ? "on a worker thread, as tally serve runs it" : "on the main thread"})`, async () => {
    const file = tmp.file(`durable-${variant}.db`);
    const { acked, signal } = await runAndKill(file, variant);
    assert.equal(signal, "SIGKILL");
    assert.ok(acked.length >= KILL_AFTER, "acked.length >= KILL_AFTER");
    assert.deepEqual(
      acked,
      acked.map((_, i) => i),
      "batches are acknowledged in order",
    );

    const store = SqliteStore.open(file);
    try {
      const sessions = await store.listSessions({ limit: 1_000_000 });
      const bySessionId = new Map(sessions.map((s) => [s.sessionId, s]));
      for (const n of acked) {
        const s = bySessionId.get(`dur-${n}`);
        assert.ok(s, `acknowledged batch ${n} is missing`);
        const stop = batchFor(n)[2];
        assert.equal(s.status, "closed");
        assert.equal(s.inputOctets, stop?.inputOctets);
        assert.equal(s.outputOctets, stop?.outputOctets);
        const records = await store.listRecords(s.id);
        assert.deepEqual(
          records.map((r) => r.dedupKey),
          batchFor(n).map((r) => r.dedupKey),
        );
      }
      // Batches committed but not yet acknowledged may be there too, but never in part.
      for (const s of sessions) {
        assert.equal((await store.listRecords(s.id)).length, 3, `session ${s.sessionId} is partial`);
      }
      // Replaying an acknowledged batch after the crash only finds duplicates.
      const replay = await store.appendRecords(batchFor(0), 600);
      assert.ok(replay.every((r) => r.duplicate), "replay.every((r) => r.duplicate)");
    } finally {
      await store.close();
    }
  });
}
