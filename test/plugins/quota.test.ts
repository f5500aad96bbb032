import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AccountingRecord } from "../../src/model/record.ts";
import type {
  AccountingDecision,
  AuthenticateDecision,
  Plugin,
  PluginContext,
  PluginStoreView,
} from "../../src/plugins/api.ts";
import quotaDefault, { createQuota, parseQuotaOptions, periodStart } from "../../src/plugins/builtin/quota.ts";
import { storeView } from "../../src/plugins/store-view.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { MIN, SEC, T0, rec, tempDir } from "../store/fixtures.ts";
import type { TempDir } from "../store/fixtures.ts";
import { authRequest, captureLog, ctx, pluginContext, setupWith, type LogLine } from "./helpers.ts";

// ---- helpers (those shared with the other plugin tests are in helpers.ts) ----------------

/** The clock of most tests: five days after T0 (2024-01-15 23:00Z), still in January. */
const JAN_20 = Date.UTC(2024, 0, 20, 12, 0, 0);

let tmp: TempDir;
let n = 0;
before(() => {
  tmp = tempDir();
});
after(() => tmp.cleanup());

interface Harness {
  store: SqliteStore;
  view: PluginStoreView;
  plugin: Plugin;
  lines: LogLine[];
  context: PluginContext;
  authenticate(user: string): Promise<AuthenticateDecision>;
  /** Appends `record` (seeding a new session's interim interval), then asks the plugin about it. */
  deliver(record: AccountingRecord, interimInterval?: number): Promise<AccountingDecision>;
  /** Appends without asking the plugin (history). */
  seed(...records: AccountingRecord[]): Promise<void>;
}

async function withQuota(options: Record<string, unknown>, fn: (h: Harness) => Promise<void>, now = JAN_20): Promise<void> {
  const store = SqliteStore.open(tmp.file(`quota-${++n}.db`));
  try {
    const view = storeView(store);
    const { setup, lines } = setupWith(options, view);
    const plugin = await createQuota(() => now)(setup);
    const context: PluginContext = pluginContext(setup);
    const h: Harness = {
      store,
      view,
      plugin,
      lines,
      context,
      async authenticate(user) {
        assert.ok(plugin.authenticate, "quota has an authenticate hook");
        return plugin.authenticate(authRequest(user), context);
      },
      async deliver(record, interimInterval = 600) {
        assert.ok(plugin.accounting, "quota has an accounting hook");
        const [res] = await store.appendRecords([record], interimInterval);
        assert.ok(res, "appendRecords returned a result");
        const session = res.sessionPk === null ? null : await store.getSession(res.sessionPk);
        return plugin.accounting(record, ctx(setup, session));
      },
      async seed(...records) {
        await store.appendRecords(records, 600);
      },
    };
    await fn(h);
  } finally {
    await store.close();
  }
}

/** A finished session of `user` at `at` with the given counters. */
function used(user: string, sessionId: string, at: number, c: { in?: number; out?: number; time?: number }): AccountingRecord {
  return rec({
    kind: "stop",
    user,
    sessionId,
    eventTime: at,
    inputOctets: c.in ?? 0,
    outputOctets: c.out ?? 0,
    sessionTime: c.time ?? 0,
  });
}

// ---- authentication ---------------------------------------------------------------------

describe("quota: authenticate", () => {
  test("rejects a user whose bytes reached the limit; passes one just under it", () =>
    withQuota({ bytes: 1000 }, async (h) => {
      await h.seed(used("alice", "a1", T0, { in: 600, out: 400 }), used("bob", "b1", T0, { in: 600, out: 399 }));
      assert.deepEqual(await h.authenticate("alice"), { status: "reject", reason: "quota exhausted" });
      assert.deepEqual(await h.authenticate("bob"), { status: "next" });
      const line = h.lines.find((l) => l.msg === "quota exhausted: rejecting");
      assert.ok(line, "the reject is logged");
      assert.equal((line.fields as { user?: string }).user, "alice");
    }));

  test("rejects a user whose session time reached the limit, with the configured message", () =>
    withQuota({ time: 3600, message: "monthly time used up" }, async (h) => {
      await h.seed(used("alice", "a1", T0, { time: 1800 }), used("alice", "a2", T0 + 60 * MIN, { time: 1800 }));
      assert.deepEqual(await h.authenticate("alice"), { status: "reject", reason: "monthly time used up" });
    }));

  test("passes with Session-Timeout = the seconds left of a time limit", () =>
    withQuota({ time: 3600, bytes: 1e9 }, async (h) => {
      await h.seed(used("alice", "a1", T0, { in: 10, time: 1000 }));
      assert.deepEqual(await h.authenticate("alice"), { status: "next", reply: { "Session-Timeout": 2600 } });
      // No usage at all: the whole allowance.
      assert.deepEqual(await h.authenticate("carol"), { status: "next", reply: { "Session-Timeout": 3600 } });
    }));

  test("a bytes-only quota adds no Session-Timeout", () =>
    withQuota({ bytes: 1000 }, async (h) => {
      await h.seed(used("alice", "a1", T0, { in: 10, time: 1000 }));
      assert.deepEqual(await h.authenticate("alice"), { status: "next" });
    }));

  test("per-user overrides replace the global limit field by field", () =>
    withQuota({ bytes: 1000, users: { bob: { bytes: 10_000 }, carol: { time: 100 } } }, async (h) => {
      await h.seed(
        used("alice", "a1", T0, { in: 5000 }),
        used("bob", "b1", T0, { in: 5000 }),
        // carol's own time limit; her bytes fall back to the global 1000.
        used("carol", "c1", T0, { in: 2000, time: 10 }),
      );
      assert.deepEqual(await h.authenticate("alice"), { status: "reject", reason: "quota exhausted" });
      assert.deepEqual(await h.authenticate("bob"), { status: "next" });
      assert.deepEqual(await h.authenticate("carol"), { status: "reject", reason: "quota exhausted" });
    }));

  test("a per-user time limit replaces the global one (and sets Session-Timeout from it)", () =>
    withQuota({ time: 100, users: { bob: { time: 1000 } } }, async (h) => {
      await h.seed(used("alice", "a1", T0, { time: 500 }), used("bob", "b1", T0, { time: 500 }));
      assert.deepEqual(await h.authenticate("alice"), { status: "reject", reason: "quota exhausted" });
      assert.deepEqual(await h.authenticate("bob"), { status: "next", reply: { "Session-Timeout": 500 } });
    }));

  test("a per-user limit applies when there is no global one; other users are not limited", () =>
    withQuota({ users: { bob: { time: 100 } } }, async (h) => {
      await h.seed(used("alice", "a1", T0, { in: 1e12, time: 1e6 }), used("bob", "b1", T0, { time: 40 }));
      assert.deepEqual(await h.authenticate("alice"), { status: "next" });
      assert.deepEqual(await h.authenticate("bob"), { status: "next", reply: { "Session-Timeout": 60 } });
    }));

  test("an exempt user passes whatever the usage", () =>
    withQuota({ bytes: 1000, time: 10, exempt: ["alice"] }, async (h) => {
      await h.seed(used("alice", "a1", T0, { in: 1e9, time: 1e5 }), used("bob", "b1", T0, { in: 1e9 }));
      assert.deepEqual(await h.authenticate("alice"), { status: "next" });
      assert.deepEqual(await h.authenticate("bob"), { status: "reject", reason: "quota exhausted" });
    }));

  test("direction: only the configured direction counts", () =>
    withQuota({ bytes: 1000, direction: "output" }, async (h) => {
      await h.seed(used("alice", "a1", T0, { in: 5000, out: 999 }), used("bob", "b1", T0, { in: 0, out: 1000 }));
      assert.deepEqual(await h.authenticate("alice"), { status: "next" });
      assert.deepEqual(await h.authenticate("bob"), { status: "reject", reason: "quota exhausted" });
    }));
});

// ---- accounting -------------------------------------------------------------------------

describe("quota: accounting", () => {
  test("ok on the interim before the limit, disconnect on the interim that crosses it", () =>
    withQuota({ bytes: 1_000_000 }, async (h) => {
      assert.deepEqual(await h.deliver(rec({ kind: "start", eventTime: T0 })), { status: "ok" });
      // 300 kB in 600 s: 500 B/s, 700 kB left = 1400 s, later than the next update (600 s).
      const before = await h.deliver(rec({ kind: "interim", eventTime: T0 + 10 * MIN, inputOctets: 100_000, outputOctets: 200_000, sessionTime: 600 }));
      assert.deepEqual(before, { status: "ok" });
      const crossing = await h.deliver(rec({ kind: "interim", eventTime: T0 + 20 * MIN, inputOctets: 400_000, outputOctets: 600_000, sessionTime: 1200 }));
      assert.deepEqual(crossing, { status: "disconnect", reason: "quota exhausted" });
      assert.ok(
        h.lines.some((l) => l.msg === "quota exhausted: disconnecting"),
        "the disconnect is logged",
      );
    }));

  test("the time limit disconnects on the interim that reaches it", () =>
    withQuota({ time: 1200, message: "out of time" }, async (h) => {
      await h.deliver(rec({ kind: "start", eventTime: T0 }));
      assert.deepEqual(await h.deliver(rec({ kind: "interim", eventTime: T0 + 10 * MIN, sessionTime: 600 })), { status: "ok" });
      assert.deepEqual(await h.deliver(rec({ kind: "interim", eventTime: T0 + 20 * MIN, sessionTime: 1200 })), {
        status: "disconnect",
        reason: "out of time",
      });
    }));

  test("the interval shrinks to the time the remaining bytes last at this session's rate", () =>
    withQuota({ bytes: 1_000_000 }, async (h) => {
      // An earlier session used 500 kB: it counts against the quota but not in this session's rate.
      await h.seed(used("alice", "old", T0 - 60 * MIN, { in: 500_000, time: 60 }));
      await h.deliver(rec({ kind: "start", eventTime: T0 }));
      // This session: 300 kB in 600 s = 500 B/s; 200 kB left -> 400 s < 600 s.
      const d = await h.deliver(rec({ kind: "interim", eventTime: T0 + 10 * MIN, inputOctets: 100_000, outputOctets: 200_000, sessionTime: 600 }));
      assert.deepEqual(d, { status: "ok", interimInterval: 400 });
    }));

  test("the rate is direction-aware", () =>
    withQuota({ bytes: 500_000, direction: "output" }, async (h) => {
      await h.deliver(rec({ kind: "start", eventTime: T0 }));
      // Output 300 kB in 600 s = 500 B/s, 200 kB left -> 400 s. (Counting both, 700 kB would be over.)
      const d = await h.deliver(rec({ kind: "interim", eventTime: T0 + 10 * MIN, inputOctets: 400_000, outputOctets: 300_000, sessionTime: 600 }));
      assert.deepEqual(d, { status: "ok", interimInterval: 400 });
    }));

  test("the interval is rounded up and never below minInterval", () =>
    withQuota({ bytes: 1_000_000 }, async (h) => {
      await h.deliver(rec({ kind: "start", eventTime: T0 }));
      // 990 kB in 600 s = 1650 B/s; 10 kB left -> ~6.06 s -> below the default minInterval of 10.
      const d = await h.deliver(rec({ kind: "interim", eventTime: T0 + 10 * MIN, inputOctets: 990_000, sessionTime: 600 }));
      assert.deepEqual(d, { status: "ok", interimInterval: 10 });
    }));

  test("a configured minInterval is the floor", () =>
    withQuota({ bytes: 1_000_000, minInterval: 60 }, async (h) => {
      await h.deliver(rec({ kind: "start", eventTime: T0, sessionId: "s1" }));
      const low = await h.deliver(rec({ kind: "interim", sessionId: "s1", eventTime: T0 + 10 * MIN, inputOctets: 990_000, sessionTime: 600 }));
      assert.deepEqual(low, { status: "ok", interimInterval: 60 });
    }));

  test("a fractional estimate is rounded up", () =>
    withQuota({ bytes: 1_000_000 }, async (h) => {
      await h.deliver(rec({ kind: "start", eventTime: T0 }));
      // 600 kB in 700 s = 857.14 B/s; 400 kB left -> 466.67 s -> 467.
      const d = await h.deliver(rec({ kind: "interim", eventTime: T0 + 700 * SEC, inputOctets: 600_000, sessionTime: 700 }));
      assert.deepEqual(d, { status: "ok", interimInterval: 467 });
    }));

  test("no change when the interval is already at or below what it would ask", () =>
    withQuota({ bytes: 1_000_000 }, async (h) => {
      // The session's interval is already 10 s (the minInterval): nothing to shorten.
      await h.deliver(rec({ kind: "start", eventTime: T0 }), 10);
      const d = await h.deliver(rec({ kind: "interim", eventTime: T0 + 10 * MIN, inputOctets: 990_000, sessionTime: 600 }), 10);
      assert.deepEqual(d, { status: "ok" });
    }));

  test("a time limit shortens the interval to the seconds left", () =>
    withQuota({ time: 1000 }, async (h) => {
      assert.deepEqual(await h.deliver(rec({ kind: "start", eventTime: T0 })), { status: "ok" });
      const d = await h.deliver(rec({ kind: "interim", eventTime: T0 + 15 * MIN, sessionTime: 900 }));
      assert.deepEqual(d, { status: "ok", interimInterval: 100 });
    }));

  test("a start with little time left asks for an update when the time runs out", () =>
    withQuota({ time: 1000 }, async (h) => {
      await h.seed(used("alice", "old", T0 - 60 * MIN, { time: 700 }));
      assert.deepEqual(await h.deliver(rec({ kind: "start", eventTime: T0 })), { status: "ok", interimInterval: 300 });
    }));

  test("a session without a known interval gets one when nearing the limit", () =>
    withQuota({ time: 1000 }, async (h) => {
      await h.deliver(rec({ kind: "start", eventTime: T0 }), 0);
      const d = await h.deliver(rec({ kind: "interim", eventTime: T0 + 5 * MIN, sessionTime: 300 }), 0);
      assert.deepEqual(d, { status: "ok", interimInterval: 700 });
    }));

  test("start and stop over the limit are ok (start asks for an early update), never disconnect", () =>
    withQuota({ bytes: 1000 }, async (h) => {
      await h.seed(used("alice", "old", T0 - 60 * MIN, { in: 5000 }));
      assert.deepEqual(await h.deliver(rec({ kind: "start", eventTime: T0 })), { status: "ok", interimInterval: 10 });
      assert.deepEqual(await h.deliver(rec({ kind: "stop", eventTime: T0 + MIN, inputOctets: 100, sessionTime: 60 })), { status: "ok" });
    }));

  test("records without a user, Accounting-On/Off and exempt users are left alone", () =>
    withQuota({ bytes: 1000, exempt: ["bob"] }, async (h) => {
      await h.seed(used("bob", "b-old", T0 - 60 * MIN, { in: 5000 }));
      const anon = await h.deliver(rec({ kind: "interim", user: null, sessionId: "anon", eventTime: T0, inputOctets: 1e9, sessionTime: 60 }));
      assert.deepEqual(anon, { status: "ok" });
      const bob = await h.deliver(rec({ kind: "interim", user: "bob", sessionId: "b1", eventTime: T0, inputOctets: 1e9, sessionTime: 60 }));
      assert.deepEqual(bob, { status: "ok" });
      assert.deepEqual(await h.deliver(rec({ kind: "on", eventTime: T0 + MIN })), { status: "ok" });
      // Control: the same interim for a user who is not exempt is disconnected.
      const alice = await h.deliver(rec({ kind: "interim", user: "alice", sessionId: "a1", eventTime: T0 + 2 * MIN, inputOctets: 1e9, sessionTime: 60 }));
      assert.deepEqual(alice, { status: "disconnect", reason: "quota exhausted" });
    }));
});

// ---- periods ----------------------------------------------------------------------------

describe("quota: periods", () => {
  test("periodStart: 00:00 UTC of the day, the 1st of the month, or null", () => {
    const now = Date.UTC(2024, 1, 29, 23, 59, 59, 999);
    assert.equal(periodStart("day", now), Date.UTC(2024, 1, 29));
    assert.equal(periodStart("month", now), Date.UTC(2024, 1, 1));
    assert.equal(periodStart("total", now), null);
    assert.equal(periodStart("month", Date.UTC(2024, 2, 1)), Date.UTC(2024, 2, 1));
  });

  test("month: last month's usage does not count; total: it does", async () => {
    const feb10 = Date.UTC(2024, 1, 10, 12);
    const history = [used("alice", "jan", T0, { in: 5000 }), used("alice", "feb", Date.UTC(2024, 1, 2), { in: 600 })];
    await withQuota(
      { bytes: 1000, period: "month" },
      async (h) => {
        await h.seed(...history);
        assert.deepEqual(await h.authenticate("alice"), { status: "next" });
        // 600 this month + 500 more crosses the limit.
        await h.seed(used("alice", "feb2", Date.UTC(2024, 1, 9), { in: 500 }));
        assert.deepEqual(await h.authenticate("alice"), { status: "reject", reason: "quota exhausted" });
      },
      feb10,
    );
    await withQuota(
      { bytes: 1000, period: "total" },
      async (h) => {
        await h.seed(...history);
        assert.deepEqual(await h.authenticate("alice"), { status: "reject", reason: "quota exhausted" });
      },
      feb10,
    );
  });

  test("the default period is the month", () =>
    withQuota(
      { time: 100 },
      async (h) => {
        await h.seed(used("alice", "jan", T0, { time: 5000 }));
        assert.deepEqual(await h.authenticate("alice"), { status: "next", reply: { "Session-Timeout": 100 } });
      },
      Date.UTC(2024, 1, 1, 0, 0, 1),
    ));

  test("day: yesterday's usage does not count (the UTC day boundary)", async () => {
    // T0 is 23:00 on Jan 15; the clock is 01:00 on Jan 16.
    const jan16 = T0 + 2 * 60 * MIN;
    await withQuota(
      { bytes: 1000, period: "day" },
      async (h) => {
        await h.seed(used("alice", "late", T0, { in: 5000 }));
        assert.deepEqual(await h.authenticate("alice"), { status: "next" });
      },
      jan16,
    );
    await withQuota(
      { bytes: 1000, period: "day" },
      async (h) => {
        await h.seed(used("alice", "late", T0, { in: 5000 }));
        assert.deepEqual(await h.authenticate("alice"), { status: "reject", reason: "quota exhausted" });
      },
      T0 + 30 * MIN,
    );
  });

  test("accounting uses the period too: an interim early in the month counts only this month", () =>
    withQuota(
      { bytes: 1000 },
      async (h) => {
        await h.seed(used("alice", "jan", T0, { in: 5000 }));
        await h.deliver(rec({ kind: "start", sessionId: "feb", eventTime: Date.UTC(2024, 1, 1, 0, 0, 0) }));
        const d = await h.deliver(rec({ kind: "interim", sessionId: "feb", eventTime: Date.UTC(2024, 1, 1, 0, 10), inputOctets: 100, sessionTime: 600 }));
        assert.deepEqual(d, { status: "ok" });
      },
      Date.UTC(2024, 1, 1, 0, 10),
    ));
});

// ---- options ----------------------------------------------------------------------------

describe("quota: options", () => {
  const fails = (options: Record<string, unknown>, message: string | RegExp) =>
    assert.throws(() => parseQuotaOptions(options), { message });

  test("defaults", () => {
    assert.deepEqual(parseQuotaOptions({ bytes: 5e9 }), {
      bytes: 5e9,
      period: "month",
      direction: "both",
      users: {},
      exempt: [],
      minInterval: 10,
      message: "quota exhausted",
    });
  });

  test("bad options throw naming the option and what was expected", () => {
    fails({ bytes: 1, period: "week" }, 'quota: options.period: expected "day", "month" or "total"');
    fails({ bytes: 1, direction: "up" }, 'quota: options.direction: expected "both", "input" or "output"');
    fails({}, "quota: options: expected a limit: bytes or time, globally or under users");
    fails({ period: "day" }, "quota: options: expected a limit: bytes or time, globally or under users");
    fails({ bytes: -1 }, "quota: options.bytes: expected octets (a positive number)");
    fails({ bytes: "5GB" }, "quota: options.bytes: expected octets (a positive number)");
    fails({ time: 0 }, "quota: options.time: expected seconds (a positive number)");
    fails({ bytes: 1, users: { bob: { bytes: "lots" } } }, "quota: options.users.bob.bytes: expected octets (a positive number)");
    fails({ bytes: 1, users: { bob: {} } }, "quota: options.users.bob: expected bytes or time (or both)");
    fails({ bytes: 1, users: { bob: { byte: 1 } } }, /^quota: options\.users\.bob\.byte: unknown option \(expected bytes, time\)/);
    fails({ bytes: 1, exempt: "bob" }, "quota: options.exempt: expected a list of user names");
    fails({ bytes: 1, exempt: ["bob", 7] }, "quota: options.exempt[1]: expected a user name");
    fails({ bytes: 1, minInterval: 0 }, "quota: options.minInterval: expected seconds (an integer >= 1)");
    fails({ bytes: 1, minInterval: 2.5 }, "quota: options.minInterval: expected seconds (an integer >= 1)");
    fails({ bytes: 1, message: "" }, "quota: options.message: expected a non-empty string");
    fails(
      { byts: 1, bytes: 1 },
      "quota: options.byts: unknown option (expected bytes, time, period, direction, users, exempt, minInterval, message)",
    );
  });

  test("the default export is a factory that validates its options", async () => {
    const { log } = captureLog();
    const store = SqliteStore.open(tmp.file(`quota-${++n}.db`));
    try {
      const view = storeView(store);
      await assert.rejects(async () => quotaDefault({ options: { period: "year", bytes: 1 }, log, store: view }), {
        message: 'quota: options.period: expected "day", "month" or "total"',
      });
      const plugin = await quotaDefault({ options: { bytes: 5e9, period: "month" }, log, store: view });
      assert.equal(plugin.name, "quota");
      assert.equal(typeof plugin.authenticate, "function");
      assert.equal(typeof plugin.accounting, "function");
    } finally {
      await store.close();
    }
  });
});

describe("quota and the spool", () => {
  test("a spooled record (store unreachable) is answered ok without asking the store", async () => {
    // The default setup's store view rejects every usage call, as an unreachable store would.
    const { setup } = setupWith({ bytes: 1000, period: "total" });
    const plugin = await createQuota(() => JAN_20)(setup);
    const interim = rec({ kind: "interim", sessionId: "sp-1", inputOctets: 5000, sessionTime: 60 });
    assert.deepEqual(await plugin.accounting!(interim, { ...ctx(setup), spooled: true }), { status: "ok" });
    await assert.rejects(async () => plugin.accounting!(interim, ctx(setup)), /not used/);
  });
});
