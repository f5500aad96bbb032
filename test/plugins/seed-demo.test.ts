// seed-demo: random interim intervals within [min, max] and the seed's ACCT log lines.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { Session } from "../../src/plugins/api.ts";
import seedDemo, { createSeedDemo, parseSeedDemoOptions } from "../../src/plugins/builtin/seed-demo.ts";
import { foldRecord } from "../../src/model/session.ts";
import { rec, SEC, T0 } from "../store/fixtures.ts";
import { ctx, setupWith } from "./helpers.ts";

/** A closed session as the store would pass it with its stop (built with the real fold). */
const session: Session = {
  ...foldRecord(
    foldRecord(null, rec({ kind: "start", protocol: "openvpn", eventTime: T0 - 90 * SEC }), null),
    rec({ kind: "stop", protocol: "openvpn", eventTime: T0, inputOctets: 5000, outputOctets: 7000, sessionTime: 90 }),
    null,
  ),
  id: 1,
};

async function intervals(options: Record<string, unknown>, n: number): Promise<number[]> {
  const { setup } = setupWith(options);
  const plugin = await seedDemo(setup);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const d = await plugin.accounting?.(rec({ kind: i % 2 === 0 ? "start" : "interim", protocol: "openvpn" }), ctx(setup));
    assert.equal(d?.status, "ok");
    assert.ok(d?.interimInterval !== undefined, "start and interim ask for an update");
    out.push(d.interimInterval);
  }
  return out;
}

test("intervals stay within the default [1, 20], reach both ends and vary", async () => {
  const got = await intervals({}, 600);
  for (const n of got) assert.ok(Number.isInteger(n) && n >= 1 && n <= 20, `interval ${n} in [1, 20]`);
  assert.ok(new Set(got).size > 1, "not all equal");
  // 600 draws of 20 values: missing an end has a probability of about 1e-13.
  assert.ok(got.includes(1) && got.includes(20), `both ends are reachable (min ${Math.min(...got)}, max ${Math.max(...got)})`);
});

test("intervals stay within configured bounds", async () => {
  const got = await intervals({ min: 30, max: 33 }, 200);
  for (const n of got) assert.ok(n >= 30 && n <= 33, `interval ${n} in [30, 33]`);
  assert.deepEqual([...new Set(got)].sort(), [30, 31, 32, 33]);
  assert.deepEqual(new Set(await intervals({ min: 7, max: 7 }, 20)), new Set([7]));
});

test("the log lines have the seed's shape", () => {
  const { setup, lines } = setupWith({ min: 5, max: 5 });
  const now = Date.UTC(2026, 10, 2, 1, 2, 3);
  const plugin = createSeedDemo(setup, () => now);
  const c = "ACCT Mon Nov  2 01:02:03 2026";

  assert.deepEqual(plugin.accounting?.(rec({ kind: "start", protocol: "openvpn", eventTime: T0 - 90 * SEC }), ctx(setup)), {
    status: "ok",
    interimInterval: 5,
  });
  assert.deepEqual(
    plugin.accounting?.(rec({ kind: "interim", protocol: "openvpn", eventTime: T0 - 30 * SEC, inputOctets: 1200, outputOctets: 3400 }), ctx(setup)),
    { status: "ok", interimInterval: 5 },
  );
  assert.deepEqual(
    plugin.accounting?.(rec({ kind: "stop", protocol: "openvpn", eventTime: T0, inputOctets: 5000, outputOctets: 7000, sessionTime: 90 }), ctx(setup, session)),
    { status: "ok" },
  );
  // A stop without a session: the start is worked out from the session time.
  plugin.accounting?.(rec({ kind: "stop", protocol: "openvpn", eventTime: T0, sessionTime: 10 }), ctx(setup));
  assert.deepEqual(plugin.accounting?.(rec({ kind: "on", protocol: "openvpn" }), ctx(setup)), { status: "ok" });

  const start = Math.floor((T0 - 90 * SEC) / 1000);
  assert.deepEqual(
    lines.map((l) => l.msg),
    [
      `${c} Sending start time to accounting server ${start}`,
      `${c} Plugin requested accounting update in 5 seconds`,
      `${c} Sending accounting information to server 3400tx/1200rx`,
      `${c} Accounting server requesting new update in 5 seconds`,
      `${c} Sending accounting information to server 7000tx/5000rx, session started at ${start} and last 90`,
      `${c} Sending accounting information to server 0tx/0rx, session started at ${Math.floor(T0 / 1000) - 10} and last 10`,
    ],
  );
  for (const l of lines) {
    assert.equal(l.level, "info");
    assert.equal(l.fields.line, l.msg, "the line is a field too, so it can be searched for");
  }
});

test("bad options throw naming the option", async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ min: 10, max: 5 }, /^seed-demo: options\.max: expected a number >= min \(10\), got 5$/],
    [{ min: 21 }, /^seed-demo: options\.max: expected a number >= min \(21\), got 20$/],
    [{ min: 0 }, /^seed-demo: options\.min: expected a whole number of seconds >= 1$/],
    [{ max: 2.5 }, /^seed-demo: options\.max: expected a whole number of seconds >= 1$/],
    [{ max: "20" }, /^seed-demo: options\.max: expected a whole number of seconds >= 1$/],
    [{ maximum: 20 }, /^seed-demo: options\.maximum: unknown option \(expected min, max\)$/],
  ];
  for (const [options, expected] of cases) {
    assert.throws(() => createSeedDemo(setupWith(options).setup), { message: expected }, JSON.stringify(options));
  }
  await assert.rejects(async () => seedDemo(setupWith({ min: 3, max: 2 }).setup), { message: /options\.max/ });
  assert.deepEqual(parseSeedDemoOptions({}), { min: 1, max: 20 });
});
