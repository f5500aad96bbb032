// detail-file: FreeRADIUS-style detail blocks, one file per NAS and day, appended in order
// without interleaving, with FreeRADIUS's quoting.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import detailFile, {
  createDetailFile,
  ctime,
  expandPattern,
  parseDetailFileOptions,
  quoteValue,
  safeComponent,
  type DetailFilePlugin,
} from "../../src/plugins/builtin/detail-file.ts";
import { rec, SEC, T0, tempDir } from "../store/fixtures.ts";
import { ctx, setupWith } from "./helpers.ts";

const read = (file: string) => fs.readFileSync(file, "utf8");
const HOUR_MS = 3600 * SEC;

test("two NASes over two days give four files, each with its blocks in order", async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const { setup } = setupWith({ directory: tmp.dir });
  const plugin = createDetailFile(setup);

  // T0 is 23:00 UTC on 2024-01-15; two hours later is the 16th.
  const day2 = T0 + 2 * HOUR_MS;
  const records = [
    rec({ kind: "start", nas: "nas-a", sessionId: "a1" }),
    rec({ kind: "start", nas: "10.0.0.2:1813/b", sessionId: "b1", eventTime: T0 + 5 * SEC }),
    rec({ kind: "stop", nas: "nas-a", sessionId: "a1", eventTime: T0 + 30 * 60 * SEC }),
    rec({ kind: "interim", nas: "nas-a", sessionId: "a2", eventTime: day2 }),
    rec({ kind: "stop", nas: "10.0.0.2:1813/b", sessionId: "b1", eventTime: day2 + SEC }),
    rec({ kind: "stop", nas: "nas-a", sessionId: "a2", eventTime: day2 + 2 * SEC }),
  ];
  for (const r of records) assert.deepEqual(plugin.accounting?.(r, ctx(setup)), { status: "ok" });
  await plugin.close?.();

  const files = fs
    .readdirSync(tmp.dir, { recursive: true })
    .map(String)
    .filter((f) => fs.statSync(path.join(tmp.dir, f)).isFile())
    .sort();
  assert.deepEqual(files, [
    "10.0.0.2_1813_b/detail-20240115",
    "10.0.0.2_1813_b/detail-20240116",
    "nas-a/detail-20240115",
    "nas-a/detail-20240116",
  ]);

  assert.equal(
    read(tmp.file("nas-a/detail-20240115")),
    [
      "Mon Jan 15 23:00:00 2024",
      '\tAcct-Status-Type = "start"',
      '\tNAS-Identifier = "nas-a"',
      '\tAcct-Session-Id = "a1"',
      '\tUser-Name = "alice"',
      "\tTally-Protocol = radius",
      "\tTally-Kind = start",
      "\tTimestamp = 1705359600",
      "",
      "Mon Jan 15 23:30:00 2024",
      '\tAcct-Status-Type = "stop"',
      '\tNAS-Identifier = "nas-a"',
      '\tAcct-Session-Id = "a1"',
      '\tUser-Name = "alice"',
      "\tTally-Protocol = radius",
      "\tTally-Kind = stop",
      "\tTimestamp = 1705361400",
      "",
      "",
    ].join("\n"),
  );
  const kindsIn = (f: string) => [...read(tmp.file(f)).matchAll(/\tTally-Kind = (\w+)/g)].map((m) => m[1]);
  const sessionsIn = (f: string) => [...read(tmp.file(f)).matchAll(/\tAcct-Session-Id = "(\w+)"/g)].map((m) => m[1]);
  assert.deepEqual(kindsIn("nas-a/detail-20240116"), ["interim", "stop"]);
  assert.deepEqual(sessionsIn("nas-a/detail-20240116"), ["a2", "a2"]);
  assert.deepEqual(kindsIn("10.0.0.2_1813_b/detail-20240115"), ["start"]);
  assert.deepEqual(kindsIn("10.0.0.2_1813_b/detail-20240116"), ["stop"]);
  assert.match(read(tmp.file("10.0.0.2_1813_b/detail-20240116")), /^Tue Jan 16 01:00:01 2024\n/);
  assert.deepEqual((plugin as DetailFilePlugin).stats(), { written: 6, failed: 0, pending: 0 });
});

test("numbers are bare, tags follow the name, and Timestamp is when Tally received the record", async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const { setup } = setupWith({ directory: tmp.dir, pattern: "detail" });
  const plugin = createDetailFile(setup);
  plugin.accounting?.(
    rec({
      kind: "stop",
      eventTime: T0,
      receivedAt: T0 + 42 * SEC + 999,
      attributes: [
        { name: "Acct-Session-Time", value: 60 },
        { name: "Tunnel-Type", value: "L2TP", tag: 1 },
        { name: "Framed-IP-Address", value: "192.0.2.7" },
      ],
    }),
    ctx(setup),
  );
  await plugin.close?.();
  assert.equal(
    read(tmp.file("detail")),
    'Mon Jan 15 23:00:00 2024\n\tAcct-Session-Time = 60\n\tTunnel-Type:1 = "L2TP"\n\tFramed-IP-Address = "192.0.2.7"\n' +
      "\tTally-Protocol = radius\n\tTally-Kind = stop\n\tTimestamp = 1705359642\n\n",
  );
});

test("records arriving concurrently for one file are appended whole and in order", async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const { setup } = setupWith({ directory: tmp.dir });
  const plugin = createDetailFile(setup);
  const n = 300;
  // Large blocks (about 40 KB each) so that unserialized appends would overlap.
  const filler = "x".repeat(40_000);
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      // Some arrive at once, some after a tick, as hooks do from concurrent packets.
      if (i % 3 === 0) await Promise.resolve();
      return plugin.accounting?.(
        rec({
          kind: "interim",
          sessionId: `s${i}`,
          eventTime: T0 + i,
          attributes: [
            { name: "Acct-Session-Id", value: `s${i}` },
            { name: "Filler", value: filler },
            { name: "Acct-Session-Id", value: `s${i}` },
          ],
        }),
        ctx(setup),
      );
    }),
  );
  await plugin.close?.();

  const text = read(tmp.file("nas-a/detail-20240115"));
  const blocks = text.split("\n\n");
  assert.equal(blocks.pop(), "", "the file ends with an empty line");
  assert.equal(blocks.length, n);
  const order: number[] = [];
  for (const b of blocks) {
    const m = /^Mon Jan 15 23:00:00 2024\n\tAcct-Session-Id = "s(\d+)"\n\tFiller = "x{40000}"\n\tAcct-Session-Id = "s(\d+)"\n\tTally-Protocol = radius\n\tTally-Kind = interim\n\tTimestamp = \d+$/.exec(b);
    assert.ok(m !== null, `a whole block: ${b.slice(0, 80)}...`);
    assert.equal(m[1], m[2], "a block holds one record only");
    order.push(Number(m[1]));
  }
  // The hooks were called for i % 3 !== 0 first (synchronously), then the deferred ones.
  const expected = [...Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 !== 0), ...Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 === 0)];
  assert.deepEqual(order, expected);
});

test("string values are quoted and escaped as FreeRADIUS does", async (t) => {
  assert.equal(quoteValue('say "hi"'), '"say \\"hi\\""');
  assert.equal(quoteValue("C:\\dir"), '"C:\\\\dir"');
  assert.equal(quoteValue("a\nb\tc\rd\u0001e\u007f"), '"a\\nb\\tc\\rd\\001e\\177"');
  assert.equal(quoteValue("caf\u00e9 \u{1F600}"), '"caf\u00e9 \u{1F600}"', "printable UTF-8 is kept");

  const tmp = tempDir();
  t.after(tmp.cleanup);
  const { setup } = setupWith({ directory: tmp.dir, pattern: "detail" });
  const plugin = createDetailFile(setup);
  plugin.accounting?.(rec({ kind: "start", attributes: [{ name: "Class", value: 'he said "no"\n' }] }), ctx(setup));
  await plugin.close?.();
  const lines = read(tmp.file("detail")).split("\n");
  assert.equal(lines[1], '\tClass = "he said \\"no\\"\\n"');
  assert.equal(lines.length, 7, "the newline in the value did not split the block");
});

test("ctime matches C's format, with the day of the month space-padded", () => {
  assert.equal(ctime(0), "Thu Jan  1 00:00:00 1970");
  assert.equal(ctime(Date.UTC(2026, 10, 22, 1, 2, 3)), "Sun Nov 22 01:02:03 2026");
  assert.equal(ctime(Date.UTC(2026, 10, 2, 1, 2, 3, 999)), "Mon Nov  2 01:02:03 2026");
});

test("file names: unsafe characters become _, and no value can leave the directory", async (t) => {
  assert.equal(safeComponent("nas a/b\\c:d"), "nas_a_b_c_d");
  assert.equal(safeComponent(".."), "__");
  assert.equal(safeComponent(""), "_");
  assert.equal(safeComponent("..x"), "..x");
  const r = rec({ kind: "start", nas: "../../etc", client: "core sw", eventTime: Date.UTC(2025, 2, 4, 5, 6, 7), protocol: "tacacs" });
  assert.equal(expandPattern("%{nas}/detail-%Y%m%d", r), ".._.._etc/detail-20250304");
  assert.equal(expandPattern("%{protocol}/%{client}/%Y-%m-%d_%H.log%%", r), "tacacs/core_sw/2025-03-04_05.log%");

  const tmp = tempDir();
  t.after(tmp.cleanup);
  const dir = path.join(tmp.dir, "new", "nested");
  const { setup } = setupWith({ directory: dir });
  const plugin = createDetailFile(setup);
  plugin.accounting?.(rec({ kind: "start", nas: ".." }), ctx(setup));
  await plugin.close?.();
  assert.ok(fs.existsSync(path.join(dir, "__", "detail-20240115")), "written under the directory, which was created");
  assert.deepEqual(fs.readdirSync(path.join(tmp.dir, "new")), ["nested"], "nothing written beside it");
});

test("a directory removed between writes (rotation) is made again", async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const { setup, lines } = setupWith({ directory: tmp.dir });
  const plugin = createDetailFile(setup);
  plugin.accounting?.(rec({ kind: "start", sessionId: "first" }), ctx(setup));
  // close() only waits; a new instance would not know the directory was made, so reuse this one.
  const waitIdle = async () => {
    for (let i = 0; i < 100 && (plugin as DetailFilePlugin).stats().pending > 0; i++) await new Promise((r) => setTimeout(r, 10));
  };
  await waitIdle();
  fs.rmSync(path.join(tmp.dir, "nas-a"), { recursive: true });
  plugin.accounting?.(rec({ kind: "stop", sessionId: "second" }), ctx(setup));
  await plugin.close?.();
  assert.match(read(tmp.file("nas-a/detail-20240115")), /^Mon Jan 15 23:00:00 2024\n\tAcct-Status-Type = "stop"\n\tNAS-Identifier = "nas-a"\n\tAcct-Session-Id = "second"/);
  assert.deepEqual((plugin as DetailFilePlugin).stats(), { written: 2, failed: 0, pending: 0 });
  assert.equal(lines.filter((l) => l.level === "error").length, 0);
});

test("a failed write is logged and counted, and close() still returns", async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  // A file where the directory should be.
  fs.writeFileSync(tmp.file("blocked"), "");
  const { setup, lines } = setupWith({ directory: tmp.file("blocked") });
  const plugin = createDetailFile(setup);
  plugin.accounting?.(rec({ kind: "start" }), ctx(setup));
  await plugin.close?.();
  assert.deepEqual((plugin as DetailFilePlugin).stats(), { written: 0, failed: 1, pending: 0 });
  const error = lines.find((l) => l.level === "error");
  assert.match(error?.msg ?? "", /cannot append 1 record\(s\)/);
});

test("the default export is a factory; bad options throw naming the option", async () => {
  const tmp = tempDir();
  try {
    const plugin = await detailFile(setupWith({ directory: tmp.dir }).setup);
    assert.equal(plugin.name, "detail-file");
    await plugin.close?.();
  } finally {
    tmp.cleanup();
  }
  const cases: [Record<string, unknown>, RegExp][] = [
    [{}, /^detail-file: options\.directory: expected a directory path/],
    [{ directory: "" }, /^detail-file: options\.directory: expected a directory path/],
    [{ directory: 5 }, /^detail-file: options\.directory: expected a directory path/],
    [{ directory: "/x", pattern: "%{user}/d" }, /^detail-file: options\.pattern: unknown %\{user\}/],
    [{ directory: "/x", pattern: "d-%Q" }, /^detail-file: options\.pattern: unknown %Q/],
    [{ directory: "/x", pattern: "d-%" }, /^detail-file: options\.pattern: a lone %/],
    [{ directory: "/x", pattern: "%{nas" }, /^detail-file: options\.pattern: unknown %\{/],
    [{ directory: "/x", pattern: "../d" }, /^detail-file: options\.pattern: expected a path without "\.\."/],
    [{ directory: "/x", pattern: "/var/d" }, /^detail-file: options\.pattern: expected a path relative to directory/],
    [{ directory: "/x", pattern: "%{nas}/" }, /^detail-file: options\.pattern: expected a file name at the end/],
    [{ directory: "/x", dir: "/y" }, /^detail-file: options\.dir: unknown option \(expected directory, pattern\)/],
  ];
  for (const [options, expected] of cases) {
    assert.throws(() => createDetailFile(setupWith(options).setup), { message: expected }, JSON.stringify(options));
  }
  assert.deepEqual(parseDetailFileOptions({ directory: "/x" }), { directory: "/x", pattern: "%{nas}/detail-%Y%m%d" });
});
