// The import loop on its own (src/import/import-detail.ts), with a real SQLite store: a run
// that dies after a batch is committed but before its position is saved (the window a SIGKILL
// can hit) is followed by a run that reads that batch again and counts it as duplicates, and
// in the end every entry is stored once.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { buildConfig } from "../../src/config/load.ts";
import { importDetailFiles, type ImportOptions } from "../../src/import/import-detail.ts";
import { ImportState } from "../../src/import/state.ts";
import { ClientTable } from "../../src/radius/clients.ts";
import { Dictionary } from "../../src/radius/dictionary.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { tempDir } from "../store/fixtures.ts";
import { writeSyntheticDetail } from "./synthetic.ts";

describe("importDetailFiles", () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it("dies between a commit and its state write: the next run counts that batch as duplicates, all stored once", async () => {
    const file = join(tmp.dir, "detail");
    const total = await writeSyntheticDetail(file, 50); // 200 entries
    const store = SqliteStore.open(tmp.file("tally.db"));
    try {
      const context = { dictionary: Dictionary.builtin(), clients: new ClientTable(buildConfig("/test/tally.yaml", { clients: [{ name: "lab", address: "127.0.0.0/8", secret: "s" }] }).clients) };
      const base = (state: ImportState): ImportOptions => ({ files: [file], store, state, context, defaultInterimInterval: null, batchSize: 30, shouldStop: () => false });

      const state = await ImportState.load(tmp.file("state.json"));
      let saves = 0;
      const dying = {
        path: state.path,
        get: (f: string) => state.get(f),
        save: async (...args: Parameters<ImportState["save"]>) => {
          if (++saves === 3) throw new Error("killed after the third batch's commit");
          return state.save(...args);
        },
      } as unknown as ImportState;
      await assert.rejects(importDetailFiles(base(dying)), /killed after the third batch's commit/);
      assert.equal((await store.exportRecords({}, 0, 1000)).length, 90, "three batches committed");

      const report = await importDetailFiles(base(await ImportState.load(tmp.file("state.json"))));
      assert.deepEqual(report.files[0]!.start, "resume");
      assert.deepEqual([report.entries, report.imported, report.duplicates, report.rejected], [total - 60, total - 90, 30, 0]);
      assert.equal((await store.exportRecords({}, 0, 1000)).length, total);
      assert.equal((await store.exportSessions({}, 0, 1000)).filter((s) => s.status === "closed").length, 50);
    } finally {
      await store.close();
    }
  });
});
