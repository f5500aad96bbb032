// `tally reap` and `tally prune` as an operator runs them, on a store file prepared with
// sessions that went silent in January 2024: --dry-run lists without changing anything, a run
// closes and tells the plugins, --grace, and prune's counts and its refusals.

import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { makeTempDir, runCli } from "../interop/harness.ts";
import { MIN, T0, rec } from "../store/fixtures.ts";

const probe = join(import.meta.dirname, "..", "plugins", "fixtures", "probe.ts");

interface SessionJson {
  id: number;
  sessionId: string;
  status: string;
  terminateCause: string | null;
  stoppedAt: string | null;
  updatedAt: string;
}

describe("tally reap and tally prune", () => {
  let dir: string;
  let configPath: string;
  let dbPath: string;
  let probeFile: string;

  const cli = async (...args: string[]) => {
    const r = await runCli(configPath, args);
    assert.equal(r.code, 0, `tally ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const sessions = async () => JSON.parse(await cli("sessions", "--json")) as SessionJson[];
  const statusOf = async () => Object.fromEntries((await sessions()).map((s) => [s.sessionId, s.status]));
  const closes = () =>
    existsSync(probeFile)
      ? readFileSync(probeFile, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { hook: string; sessionId: string; status: string })
      : [];

  before(async () => {
    dir = makeTempDir();
    configPath = join(dir, "tally.yaml");
    dbPath = join(dir, "tally.db");
    probeFile = join(dir, "probe.jsonl");
    writeFileSync(
      configPath,
      JSON.stringify({ store: { sqlite: "./tally.db" }, accounting: { staleGrace: 60 }, plugins: [{ module: probe, options: { file: probeFile } }] }),
    );
    const store = SqliteStore.open(dbPath);
    try {
      // Silent since January 2024, expected every 60 s: overdue.
      await store.appendRecords([rec({ kind: "start", sessionId: "a", interimInterval: 60 })], null);
      await store.appendRecords([rec({ kind: "start", sessionId: "b", interimInterval: 60 })], null);
      await store.appendRecords([rec({ kind: "interim", sessionId: "b", eventTime: T0 + MIN, inputOctets: 10 })], null);
      // Silent as long, but no interval: never overdue.
      await store.appendRecords([rec({ kind: "start", sessionId: "none" })], null);
      // Started now, every 300 s: not overdue.
      await store.appendRecords([rec({ kind: "start", sessionId: "fresh", interimInterval: 300, eventTime: Date.now() })], null);
      // Stopped properly.
      await store.appendRecords([rec({ kind: "start", sessionId: "done", interimInterval: 60 })], null);
      await store.appendRecords([rec({ kind: "stop", sessionId: "done", eventTime: T0 + MIN, terminateCause: "User-Request" })], null);
    } finally {
      await store.close();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reap --dry-run lists the overdue sessions and changes nothing", async () => {
    const before = await sessions();
    const listed = JSON.parse(await cli("reap", "--dry-run", "--json")) as SessionJson[];
    assert.deepEqual(listed.map((s) => [s.sessionId, s.status]), [["a", "open"], ["b", "open"]]);
    const text = await cli("reap", "--dry-run");
    assert.match(text, /^ID\s+USER\s+NAS\s+SESSION-ID\s+LAST-UPDATE\s+INTERVAL\s+SILENT$/m);
    assert.match(text, /\ba\s+2024-01-15T23:00:00Z\s+60s/);
    assert.match(text, /\bb\s+2024-01-15T23:01:00Z\s+60s/);
    assert.match(text, /would close 2 sessions as stale \(no update for interval x 2 \+ 60 s\); dry run, nothing changed/);
    assert.deepEqual(await sessions(), before, "every session exactly as before");
    assert.deepEqual(closes(), [], "no plugin was told anything");
  });

  it("reap --grace larger than the silence closes nothing", async () => {
    // Since January 2024 is under 100 years.
    const out = JSON.parse(await cli("reap", "--grace", String(100 * 365 * 86400), "--json")) as SessionJson[];
    assert.deepEqual(out, []);
    assert.equal((await statusOf()).a, "open");
  });

  it("reap closes them as stale, tells the plugins once each, and a second run closes nothing", async () => {
    const reaped = JSON.parse(await cli("reap", "--json")) as SessionJson[];
    assert.deepEqual(reaped.map((s) => [s.sessionId, s.status, s.terminateCause]), [
      ["a", "stale", "Lost-Service"],
      ["b", "stale", "Lost-Service"],
    ]);
    assert.equal(reaped[1]!.stoppedAt, "2024-01-15T23:01:00.000Z", "b stopped at its last update");
    assert.deepEqual(await statusOf(), { a: "stale", b: "stale", none: "open", fresh: "open", done: "closed" });
    assert.deepEqual(
      closes().filter((c) => c.hook === "sessionClosed"),
      [
        { hook: "sessionClosed", sessionId: "a", status: "stale" },
        { hook: "sessionClosed", sessionId: "b", status: "stale" },
      ],
    );
    assert.match(await cli("reap"), /^closed 0 sessions as stale/m);
    assert.equal(closes().length, 2, "nothing more announced");
  });

  it("prune --before counts what it removed: old records, emptied closed and stale sessions; never open ones", async () => {
    const out = JSON.parse(await cli("prune", "--before", "2024-01-16", "--json")) as { before: string; records: number; sessions: number };
    // records: a 1, b 2, none 1, done 2 (fresh's Start is recent); sessions: a, b, done.
    assert.deepEqual(out, { before: "2024-01-16T00:00:00.000Z", records: 6, sessions: 3 });
    assert.deepEqual(await statusOf(), { none: "open", fresh: "open" });
    assert.match(await cli("prune", "--before", "2024-01-16"), /^removed 0 records received before 2024-01-16T00:00:00.000Z, and 0 closed or stale sessions left without records$/m);
  });

  it("prune refuses a date in the future, an unreadable one and one not on the calendar, with exit code 2", async () => {
    const cases: [string, RegExp][] = [
      ["2999-01-01", /--before: 2999-01-01T00:00:00.000Z is in the future/],
      ["yesterday", /--before: expected a date like 2026-11-01 .*got "yesterday"/],
      ["1", /--before: expected a date like/],
      ["2024-01-01T12:00:00", /--before: expected a date like/],
      ["2024-02-30", /--before: 2024-02-30 is not a day of the calendar/],
    ];
    for (const [arg, message] of cases) {
      const r = await runCli(configPath, ["prune", "--before", arg]);
      assert.equal(r.code, 2, `--before ${arg}: exit code`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "", `--before ${arg}: nothing done`);
    }
    assert.deepEqual(await statusOf(), { none: "open", fresh: "open" }, "the store untouched");
  });
});
