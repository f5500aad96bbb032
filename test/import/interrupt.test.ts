// `tally import detail` stopped partway through a large file: by SIGINT (it commits what it
// read, records that position, says so, exits 130; the next run starts exactly there) and by
// SIGKILL (the state can be one batch behind the store; the next run counts that batch as
// duplicates). Either way every entry is stored exactly once. Only the import processes this
// test starts are signalled, by PID.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir, repoRoot, runCli, within } from "../interop/harness.ts";
import { ENTRIES_PER_SESSION, writeSyntheticDetail } from "./synthetic.ts";

const SESSIONS = 5000;
const BATCH = 100;

interface Summary {
  entries: number;
  imported: number;
  duplicates: number;
  rejected: number;
  interrupted: boolean;
  files: { startLine: number; nextLine: number; start: string }[];
}

function storeConfig(dir: string): string {
  const config = join(dir, "tally.yaml");
  writeFileSync(config, JSON.stringify({ store: { sqlite: "./tally.db" }, radius: { auth: null, acct: null }, clients: [{ name: "lab", address: "127.0.0.0/8", secret: "s" }] }));
  return config;
}

/** Starts the import, waits until its first batch is committed (the state file appears), then sends `signal`. */
async function importAndSignal(config: string, file: string, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const state = join(config, "..", "tally-import-state.json");
  const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "src/cli/main.ts"), "--config", config, "import", "detail", file, "--batch", String(BATCH), "--json"], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, sig) => resolve({ code, signal: sig })));
  try {
    await within(30_000, "the first committed batch", (async () => {
      while (!existsSync(state)) {
        if (child.exitCode !== null) throw new Error(`the import ended before its first batch: ${stderr}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    })());
    child.kill(signal);
    return { ...(await within(30_000, "the import to exit", exited)), stdout, stderr };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

async function recordCount(config: string): Promise<number> {
  const r = await runCli(config, ["export", "records", "--format", "jsonl"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter(Boolean).length;
}

async function closedSessions(config: string): Promise<number> {
  const r = await runCli(config, ["export", "sessions", "--format", "jsonl"]);
  return r.stdout.split("\n").filter((l) => l.includes('"status":"closed"')).length;
}

describe("tally import detail, interrupted", () => {
  const work = makeTempDir("tally-import-int-");
  const file = join(work, "detail-big");
  let total = 0;
  before(async () => {
    total = await writeSyntheticDetail(file, SESSIONS);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it("SIGINT: what was read is committed and recorded; exit 130; the rerun starts there and stores the rest once", async (t) => {
    const dir = makeTempDir("tally-import-sigint-");
    try {
      const config = storeConfig(dir);
      const first = await importAndSignal(config, file, "SIGINT");
      assert.equal(first.code, 130, first.stderr);
      assert.match(first.stderr, /SIGINT: stopping after committing what was read/);
      const s1 = JSON.parse(first.stdout) as Summary;
      assert.ok(s1.interrupted, "the summary says interrupted");
      assert.ok(s1.imported > 0 && s1.imported < total, `stopped partway: ${s1.imported} of ${total}`);
      assert.equal(s1.imported, s1.entries, "every entry read was committed");
      assert.equal(await recordCount(config), s1.imported, "the store holds exactly what the summary says");
      const state = JSON.parse(readFileSync(join(dir, "tally-import-state.json"), "utf8")) as { files: Record<string, { line: number }> };
      assert.equal(state.files[file]!.line, s1.files[0]!.nextLine);

      const second = await runCli(config, ["import", "detail", file, "--json"]);
      assert.equal(second.code, 0, second.stderr);
      const s2 = JSON.parse(second.stdout) as Summary;
      assert.deepEqual([s2.files[0]!.start, s2.files[0]!.startLine], ["resume", s1.files[0]!.nextLine]);
      assert.deepEqual([s2.entries, s2.imported, s2.duplicates], [total - s1.entries, total - s1.entries, 0]);
      assert.equal(await recordCount(config), total);
      assert.equal(await closedSessions(config), SESSIONS);
      t.diagnostic(`SIGINT after ${s1.entries} of ${total} entries (line ${s1.files[0]!.nextLine}); the rerun imported ${s2.imported}, ${s2.duplicates} duplicates`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("SIGKILL: the rerun reads at most one batch again, as duplicates; every entry stored once", async (t) => {
    const dir = makeTempDir("tally-import-sigkill-");
    try {
      const config = storeConfig(dir);
      const first = await importAndSignal(config, file, "SIGKILL");
      assert.equal(first.signal, "SIGKILL");
      const stored = await recordCount(config);
      assert.ok(stored > 0 && stored < total, `killed partway: ${stored} of ${total}`);

      const second = await runCli(config, ["import", "detail", file, "--json"]);
      assert.equal(second.code, 0, second.stderr);
      const s2 = JSON.parse(second.stdout) as Summary;
      assert.equal(s2.files[0]!.start, "resume");
      assert.ok(s2.duplicates <= BATCH, `at most the batch committed after the last state write: ${s2.duplicates}`);
      assert.equal(s2.imported + s2.duplicates, s2.entries);
      assert.equal(stored + s2.imported, total, "what the killed run stored plus what the rerun added");
      assert.equal(await recordCount(config), total);
      assert.equal(await closedSessions(config), SESSIONS);
      assert.equal(total, SESSIONS * ENTRIES_PER_SESSION);
      t.diagnostic(`SIGKILL with ${stored} of ${total} records stored; the rerun read ${s2.entries}: ${s2.imported} imported, ${s2.duplicates} duplicates`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
