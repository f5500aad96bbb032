import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AccountingRecord } from "../../src/model/record.ts";
import type { AuthenticateDecision } from "../../src/plugins/api.ts";
import simultaneousUse, { parseSimultaneousUseOptions } from "../../src/plugins/builtin/simultaneous-use.ts";
import { storeView } from "../../src/plugins/store-view.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { MIN, T0, rec, tempDir } from "../store/fixtures.ts";
import type { TempDir } from "../store/fixtures.ts";
import { authRequest, captureLog, pluginContext, setupWith, type LogLine } from "./helpers.ts";

// ---- helpers (those shared with the other plugin tests are in helpers.ts) ----------------

let tmp: TempDir;
let n = 0;
before(() => {
  tmp = tempDir();
});
after(() => tmp.cleanup());

interface Harness {
  lines: LogLine[];
  authenticate(user: string): Promise<AuthenticateDecision>;
  append(...records: AccountingRecord[]): Promise<void>;
}

async function withPlugin(options: Record<string, unknown>, fn: (h: Harness) => Promise<void>): Promise<void> {
  const store = SqliteStore.open(tmp.file(`simuse-${++n}.db`));
  try {
    const view = storeView(store);
    const { setup, lines } = setupWith(options, view);
    const plugin = await simultaneousUse(setup);
    assert.equal(plugin.name, "simultaneous-use");
    await fn({
      lines,
      async authenticate(user) {
        assert.ok(plugin.authenticate, "simultaneous-use has an authenticate hook");
        return plugin.authenticate(authRequest(user), pluginContext(setup));
      },
      async append(...records) {
        await store.appendRecords(records, 600);
      },
    });
  } finally {
    await store.close();
  }
}

const start = (user: string, sessionId: string, nas = "nas-a"): AccountingRecord =>
  rec({ kind: "start", user, sessionId, nas, eventTime: T0 });
const stop = (user: string, sessionId: string, nas = "nas-a"): AccountingRecord =>
  rec({ kind: "stop", user, sessionId, nas, eventTime: T0 + 10 * MIN, sessionTime: 600 });

const NEXT: AuthenticateDecision = { status: "next" };

describe("simultaneous-use", () => {
  test("max 1: 0 open passes, 1 open is rejected", () =>
    withPlugin({ max: 1 }, async (h) => {
      assert.deepEqual(await h.authenticate("alice"), NEXT);
      await h.append(start("alice", "a1"));
      assert.deepEqual(await h.authenticate("alice"), { status: "reject", reason: "already 1 session open (max 1)" });
      const line = h.lines.find((l) => l.msg === "too many open sessions: rejecting");
      assert.ok(line, "the reject is logged");
      assert.equal((line.fields as { open?: number }).open, 1);
    }));

  test("max 2: 1 open passes, 2 open (on two NASes) are rejected", () =>
    withPlugin({ max: 2 }, async (h) => {
      await h.append(start("alice", "a1", "nas-a"));
      assert.deepEqual(await h.authenticate("alice"), NEXT);
      await h.append(start("alice", "a2", "nas-b"));
      assert.deepEqual(await h.authenticate("alice"), { status: "reject", reason: "already 2 sessions open (max 2)" });
    }));

  test("an interim for a session never started counts it as open", () =>
    withPlugin({}, async (h) => {
      await h.append(rec({ kind: "interim", user: "alice", sessionId: "a1", eventTime: T0, sessionTime: 60 }));
      assert.deepEqual(await h.authenticate("alice"), { status: "reject", reason: "already 1 session open (max 1)" });
    }));

  test("the default max is 1", () =>
    withPlugin({}, async (h) => {
      assert.deepEqual(await h.authenticate("alice"), NEXT);
      await h.append(start("alice", "a1"));
      assert.deepEqual(await h.authenticate("alice"), { status: "reject", reason: "already 1 session open (max 1)" });
    }));

  test("per-user max overrides the global one", () =>
    withPlugin({ max: 1, users: { alice: 2, carol: 3 } }, async (h) => {
      await h.append(start("alice", "a1"), start("bob", "b1"));
      assert.deepEqual(await h.authenticate("alice"), NEXT);
      assert.deepEqual(await h.authenticate("bob"), { status: "reject", reason: "already 1 session open (max 1)" });
      await h.append(start("alice", "a2"));
      assert.deepEqual(await h.authenticate("alice"), { status: "reject", reason: "already 2 sessions open (max 2)" });
    }));

  test("exempt users are never limited", () =>
    withPlugin({ max: 1, exempt: ["alice"] }, async (h) => {
      await h.append(start("alice", "a1"), start("alice", "a2"), start("alice", "a3"), start("bob", "b1"));
      assert.deepEqual(await h.authenticate("alice"), NEXT);
      assert.deepEqual(await h.authenticate("bob"), { status: "reject", reason: "already 1 session open (max 1)" });
    }));

  test("closed sessions don't count: after a Stop, and after the NAS's Accounting-On", () =>
    withPlugin({ max: 2 }, async (h) => {
      await h.append(start("alice", "a1"), start("alice", "a2"));
      assert.deepEqual(await h.authenticate("alice"), { status: "reject", reason: "already 2 sessions open (max 2)" });
      await h.append(stop("alice", "a1"));
      assert.deepEqual(await h.authenticate("alice"), NEXT);
      // A session that ended without a Stop stays open until its NAS reboots (Accounting-On).
      await h.append(start("alice", "a3", "nas-b"));
      assert.deepEqual(await h.authenticate("alice"), { status: "reject", reason: "already 2 sessions open (max 2)" });
      await h.append(rec({ kind: "on", nas: "nas-a", eventTime: T0 + 20 * MIN }));
      assert.deepEqual(await h.authenticate("alice"), NEXT);
    }));

  test("other users' sessions don't count", () =>
    withPlugin({ max: 1 }, async (h) => {
      await h.append(start("bob", "b1"), start("carol", "c1"));
      assert.deepEqual(await h.authenticate("alice"), NEXT);
    }));

  test("a user named like an Object.prototype member gets the global max", () =>
    withPlugin({ max: 1, users: { alice: 5 } }, async (h) => {
      await h.append(start("constructor", "x1"));
      assert.deepEqual(await h.authenticate("constructor"), { status: "reject", reason: "already 1 session open (max 1)" });
    }));

  test("options: defaults, and bad options throw naming the option", async () => {
    assert.deepEqual(parseSimultaneousUseOptions({}), { max: 1, users: {}, exempt: [] });
    const fails = (options: Record<string, unknown>, message: string) =>
      assert.throws(() => parseSimultaneousUseOptions(options), { message });
    fails({ max: 0 }, "simultaneous-use: options.max: expected an integer >= 1");
    fails({ max: 1.5 }, "simultaneous-use: options.max: expected an integer >= 1");
    fails({ max: "two" }, "simultaneous-use: options.max: expected an integer >= 1");
    fails({ users: { alice: 0 } }, "simultaneous-use: options.users.alice: expected an integer >= 1");
    fails({ users: [] }, "simultaneous-use: options.users: expected a mapping of user name to an integer >= 1");
    fails({ exempt: "alice" }, "simultaneous-use: options.exempt: expected a list of user names");
    fails({ exempt: [1] }, "simultaneous-use: options.exempt[0]: expected a user name");
    fails({ maximum: 2 }, "simultaneous-use: options.maximum: unknown option (expected max, users, exempt)");
    // The factory itself validates.
    const { log } = captureLog();
    const store = SqliteStore.open(tmp.file(`simuse-${++n}.db`));
    try {
      await assert.rejects(async () => simultaneousUse({ options: { max: -1 }, log, store: storeView(store) }), {
        message: "simultaneous-use: options.max: expected an integer >= 1",
      });
    } finally {
      await store.close();
    }
  });
});
