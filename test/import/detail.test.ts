// The detail-file reader and the entry -> record conversion on vectors (test/import/vectors/):
// a file captured from FreeRADIUS 3.2 against the datagrams it replicated for the same requests
// (the import must make exactly the records the live path makes, dedupKey included), and a
// hand-written file of odd and rejected entries; then the line parser, the dates, positions
// and resuming, the state file, and `tally import detail` on the odd file.

process.env.TZ = "UTC"; // before any Date use: odd.detail has an entry without Timestamp

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { buildConfig, type ClientConfig } from "../../src/config/load.ts";
import { recordFromDetailEntry, parseFreeradiusDate, type EntryContext } from "../../src/import/detail-entry.ts";
import { parseDetailLine, readDetailEntries, type DetailEntry } from "../../src/import/detail-reader.ts";
import { fileIdentity, ImportState, resumePoint } from "../../src/import/state.ts";
import type { AccountingRecord } from "../../src/model/record.ts";
import { ClientTable } from "../../src/radius/clients.ts";
import { verifyAccountingRequest } from "../../src/radius/crypto.ts";
import { Dictionary } from "../../src/radius/dictionary.ts";
import { decodePacket } from "../../src/radius/packet.ts";
import { recordFromAccountingRequest } from "../../src/radius/to-record.ts";
import { makeTempDir, repoRoot, runCli } from "../interop/harness.ts";
import { writeSyntheticDetail } from "./synthetic.ts";

const VECTORS = join(import.meta.dirname, "vectors");
const G = 2 ** 32;

/** A client as tally.yaml makes it (buildConfig), not a hand-made partial one. */
function client(name: string, address: string, prefix: number): ClientConfig {
  return buildConfig("/test/tally.yaml", { clients: [{ name, address: `${address}/${prefix}`, secret: "s" }] }).clients[0]!;
}
const context: EntryContext = {
  dictionary: Dictionary.builtin(),
  clients: new ClientTable([client("lab", "127.0.0.0", 8), client("remote", "192.0.2.0", 24)]),
  fallbackClient: "imported",
};

async function entries(path: string, from?: { offset: number; line: number }) {
  const out = [];
  for await (const e of readDetailEntries(path, from)) out.push(e);
  return out;
}

const iso = (r: AccountingRecord) => ({ ...r, receivedAt: new Date(r.receivedAt).toISOString(), eventTime: new Date(r.eventTime).toISOString() });

describe("detail vectors captured from FreeRADIUS 3.2", () => {
  const capture = JSON.parse(readFileSync(join(VECTORS, "freeradius-3.2.replicated.json"), "utf8")) as { secret: string; datagrams: string[] };

  it("each entry is the record the live path makes of the datagram FreeRADIUS replicated (same dedupKey)", async () => {
    const all = (await entries(join(VECTORS, "freeradius-3.2.detail"))).filter((e): e is DetailEntry => e.kind === "entry");
    assert.equal(all.length, capture.datagrams.length);
    assert.equal(all.length, 4);
    const records: AccountingRecord[] = [];
    all.forEach((entry, i) => {
      const imported = recordFromDetailEntry(entry, context);
      assert.ok(imported.ok, `entry at line ${entry.line}: ${JSON.stringify(imported)}`);
      const raw = Buffer.from(capture.datagrams[i]!, "hex");
      assert.ok(verifyAccountingRequest(raw, Buffer.from(capture.secret)), "a genuine Accounting-Request");
      const decoded = decodePacket(raw);
      assert.ok(decoded.ok, "the datagram decodes");
      const live = recordFromAccountingRequest(decoded.packet, { client: "lab", sourceAddress: "127.0.0.1", receivedAt: imported.record.receivedAt, dictionary: context.dictionary });
      assert.ok(live.ok, "the live path accepts it");
      assert.deepEqual(imported.record, live.record, `entry at line ${entry.line}`);
      records.push(imported.record);
    });
    // What FreeRADIUS made of radclient's input, read back.
    const [start, interim, stop, off] = records as [AccountingRecord, AccountingRecord, AccountingRecord, AccountingRecord];
    assert.deepEqual(start.attributes.find((a) => a.name === "Connect-Info"), { name: "Connect-Info", value: 'tab\there "q" back\\slash \u0001 café' });
    assert.deepEqual(start.attributes.find((a) => a.name === "Framed-IPv6-Prefix"), { name: "Framed-IPv6-Prefix", value: "2001:db8:1::/64" });
    assert.equal(interim.inputOctets, 3 * G + 7);
    assert.equal(interim.eventTime, 1795300000 * 1000, "the client's own Event-Timestamp");
    assert.deepEqual(interim.attributes.find((a) => a.name === "Tunnel-Type"), { name: "Tunnel-Type", value: "VLAN", tag: 1 });
    assert.deepEqual(interim.attributes.find((a) => a.name === "Class"), { name: "Class", value: "0xdeadbeef" });
    assert.deepEqual([stop.inputOctets, stop.outputOctets, stop.terminateCause], [4 * G + 8, G + 10, "Lost-Carrier"]);
    assert.equal(stop.receivedAt - stop.eventTime, 2000, "Acct-Delay-Time = 2");
    assert.deepEqual([off.kind, off.nas, off.sessionId], ["off", "nas-v", null]);
    assert.equal(new Set(records.map((r) => r.dedupKey)).size, 4);
  });
});

describe("odd.detail: odd and rejected entries", () => {
  const expected = JSON.parse(readFileSync(join(VECTORS, "odd.expected.json"), "utf8")) as {
    entries: { line: number; why: string; record?: Record<string, unknown>; rejected?: { line: number; reason: string } }[];
  };

  it("every entry becomes the record, or the rejection at the line, that odd.expected.json says", async () => {
    const got = await entries(join(VECTORS, "odd.detail"));
    const last = got.pop();
    assert.deepEqual(last, { kind: "end", end: { offset: readFileSync(join(VECTORS, "odd.detail")).length, line: 91 } });
    assert.deepEqual(got.map((e) => (e as DetailEntry).line), expected.entries.map((e) => e.line));
    got.forEach((entry, i) => {
      const want = expected.entries[i]!;
      const result = recordFromDetailEntry(entry as DetailEntry, context);
      if (want.rejected) {
        assert.deepEqual(result, { ok: false, ...want.rejected }, `line ${want.line}: ${want.why}`);
      } else {
        assert.ok(result.ok, `line ${want.line} (${want.why}): ${JSON.stringify(result)}`);
        const r = iso(result.record) as unknown as Record<string, unknown>;
        const subset = Object.fromEntries(Object.keys(want.record!).map((k) => [k, r[k]]));
        assert.deepEqual(subset, want.record, `line ${want.line}: ${want.why}`);
      }
    });
  });
});

describe("parsing", () => {
  it("attribute lines: quoted values unescaped as FreeRADIUS writes them, tags, bad lines said why", () => {
    assert.deepEqual(parseDetailLine('\tCalling-Station-Id = "a\\"b\\\\c\\td\\n\\101\\0012"', 3), {
      name: "Calling-Station-Id", value: 'a"b\\c\td\nA\u00012', quoted: true, line: 3,
    });
    assert.deepEqual(parseDetailLine("\tTunnel-Type:1 = VLAN", 4), { name: "Tunnel-Type", tag: 1, value: "VLAN", quoted: false, line: 4 });
    assert.deepEqual(parseDetailLine("\tClass = 0x00ff  ", 5), { name: "Class", value: "0x00ff", quoted: false, line: 5 });
    assert.equal(parseDetailLine('\tUser-Name = "open', 6), "User-Name: the quoted value has no closing quote");
    assert.equal(parseDetailLine('\tUser-Name = "a" b', 7), "User-Name: text after the closing quote");
    assert.match(parseDetailLine("\tjust words", 8) as string, /^not an "Attribute = value" line/);
  });

  it("dates as FreeRADIUS prints them: UTC, numeric offsets, another zone by the server's offset", () => {
    const t = Date.UTC(2026, 10, 2, 6, 0, 0) / 1000;
    assert.equal(parseFreeradiusDate("Nov  2 2026 06:00:00 UTC", null), t, "%e pads the day with a space");
    assert.equal(parseFreeradiusDate("Nov 2 2026 06:00:00 GMT", null), t);
    assert.equal(parseFreeradiusDate("Nov  2 2026 07:30:00 +0130", null), t);
    assert.equal(parseFreeradiusDate("Nov  2 2026 01:00:00 EST", -5 * 3600_000), t);
    assert.equal(parseFreeradiusDate("Nov  2 2026 06:00:00 XYZ", null), t, "an unknown zone with no offset: this process's zone (TZ=UTC)");
    assert.equal(parseFreeradiusDate("2026-11-02 06:00:00", null), undefined);
    assert.equal(parseFreeradiusDate("Foo  2 2026 06:00:00 UTC", null), undefined);
  });
});

describe("reading positions and resuming", () => {
  const dir = makeTempDir("tally-detail-");
  after(() => spawnSync("rm", ["-rf", dir]));

  it("reading from an entry's end gives exactly the entries after it; CRLF lines read the same", async () => {
    const file = join(dir, "crlf");
    writeFileSync(file, readFileSync(join(VECTORS, "freeradius-3.2.detail"), "latin1").replace(/\n/g, "\r\n"), "latin1");
    const full = (await entries(file)).filter((e): e is DetailEntry => e.kind === "entry");
    assert.equal(full.length, 4);
    assert.deepEqual(full.map((e) => recordFromDetailEntry(e, context).ok), [true, true, true, true]);
    const rest = (await entries(file, full[1]!.end)).filter((e): e is DetailEntry => e.kind === "entry");
    assert.deepEqual(rest, full.slice(2));
    assert.equal(rest[0]!.line, full[2]!.line);
  });

  it("a file that ends inside a line: the entry is incomplete and reading resumes at its start", async () => {
    const file = join(dir, "growing");
    const text = readFileSync(join(VECTORS, "freeradius-3.2.detail"), "latin1");
    const cut = text.indexOf("\tAcct-Input-Octets = 8") + 10; // inside the Stop entry
    writeFileSync(file, text.slice(0, cut), "latin1");
    const got = await entries(file);
    const last = got[got.length - 1]!;
    assert.equal(last.kind, "incomplete");
    assert.equal(got.filter((e) => e.kind === "entry").length, 2);
    const start = last.kind === "incomplete" ? last.start : { offset: -1, line: -1 };
    assert.equal(start.offset, text.indexOf("Sun", text.indexOf("Acct-Status-Type = Interim")));
    // Once FreeRADIUS has finished the entry, it is read from there.
    appendFileSync(file, text.slice(cut), "latin1");
    const more = (await entries(file, start)).filter((e): e is DetailEntry => e.kind === "entry");
    assert.deepEqual(more.map((e) => e.lines[0]!.value), ["Stop", "Accounting-Off"]);
  });

  it("a saved position is kept for the same file, and dropped when it was replaced or truncated", async () => {
    const file = join(dir, "rotating");
    copyFileSync(join(VECTORS, "freeradius-3.2.detail"), file);
    const statePath = join(dir, "state.json");
    const state = await ImportState.load(statePath);
    const id = await fileIdentity(file);
    assert.deepEqual(resumePoint(state.get(file), id), { from: { offset: 0, line: 1 }, why: "new" });
    await state.save(file, id, { offset: 500, line: 14 });
    const reloaded = await ImportState.load(statePath);
    assert.deepEqual(resumePoint(reloaded.get(file), id), { from: { offset: 500, line: 14 }, why: "resume" });
    // Appended to (FreeRADIUS still writing): the same file.
    appendFileSync(file, "Sun Nov 22 06:31:40 2026\n\tAcct-Status-Type = Accounting-On\n\n");
    assert.equal(resumePoint(reloaded.get(file), await fileIdentity(file)).why, "resume");
    // Rotated: another file under the name.
    writeFileSync(file, readFileSync(join(VECTORS, "odd.detail")));
    assert.equal(resumePoint(reloaded.get(file), await fileIdentity(file)).why, "changed");
    // Cut shorter than the bytes its identity was taken from: not known to be the same file.
    writeFileSync(file, readFileSync(join(VECTORS, "freeradius-3.2.detail")).subarray(0, 400));
    await reloaded.save(file, await fileIdentity(file), { offset: 400, line: 12 });
    writeFileSync(file, readFileSync(join(VECTORS, "freeradius-3.2.detail")).subarray(0, 300));
    assert.equal(resumePoint(reloaded.get(file), await fileIdentity(file)).why, "changed", "shorter than the hashed head");
    const text = JSON.parse(readFileSync(statePath, "utf8")) as { version: number; files: Record<string, unknown> };
    assert.equal(text.version, 1);
    assert.deepEqual(Object.keys(text.files), [file]);
  });

  it("a truncated file (same start, shorter than the position) is read again from the start", async () => {
    const file = join(dir, "big");
    await writeSyntheticDetail(file, 100); // > 4 KiB, so the hashed head stays the same when cut
    const state = await ImportState.load(join(dir, "state-big.json"));
    const id = await fileIdentity(file);
    await state.save(file, id, { offset: id.size, line: 1000 });
    writeFileSync(file, readFileSync(file).subarray(0, 10_000));
    assert.deepEqual(resumePoint(state.get(file), await fileIdentity(file)), { from: { offset: 0, line: 1 }, why: "truncated" });
  });

  it("a state file that is not one is refused with its path", async () => {
    const bad = join(dir, "not-state.json");
    writeFileSync(bad, "hello");
    await assert.rejects(ImportState.load(bad), new RegExp(`${bad}: not an import state file`));
  });
});

describe("tally import detail on odd.detail", () => {
  const dir = makeTempDir("tally-import-odd-");
  const config = join(dir, "tally.yaml");
  writeFileSync(
    config,
    JSON.stringify({
      store: { sqlite: "./tally.db" },
      radius: { auth: null, acct: null },
      clients: [{ name: "lab", address: "127.0.0.0/8", secret: "s" }, { name: "remote", address: "192.0.2.0/24", secret: "s" }],
    }),
  );
  const file = join(dir, "odd.detail");
  copyFileSync(join(VECTORS, "odd.detail"), file);
  after(() => spawnSync("rm", ["-rf", dir]));

  it("prints each rejected entry with file:line and why, counts in --json, exit code 1", async () => {
    const r = await runCli(config, ["import", "detail", file, "--client", "imported", "--json"]);
    assert.equal(r.code, 1, r.stderr);
    const summary = JSON.parse(r.stdout) as { entries: number; imported: number; duplicates: number; rejected: number; rejections: { line: number; reason: string }[] };
    assert.deepEqual([summary.entries, summary.imported, summary.duplicates, summary.rejected], [12, 4, 0, 8]);
    assert.deepEqual(summary.rejections.map((x) => x.line), [17, 20, 30, 35, 65, 73, 75, 86]);
    assert.ok(r.stderr.includes(`${file}:17: rejected: unknown attribute Foo-Bar`), r.stderr);
    assert.ok(r.stderr.includes(`${file}:20: rejected: missing-status-type`), r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 8, r.stderr);
    const sessions = JSON.parse((await runCli(config, ["sessions", "--json"])).stdout) as { sessionId: string; status: string; sessionTime: number; client: string }[];
    assert.deepEqual(sessions.map((s) => [s.sessionId, s.status, s.sessionTime, s.client]), [["o1", "closed", 57, "imported"]]);
  });

  it("without --client, entries no configured client covers are rejected and say what to do", async () => {
    const r = await runCli(config, ["import", "detail", file, "--state", join(dir, "s2.json")]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`${file}:1: rejected: no address to find the client by (Packet-Src-IP-Address, Client-IP-Address or NAS-IP-Address); give --client NAME`), r.stderr);
    assert.match(r.stdout, /12 entries from the start: 0 imported, 2 duplicates, 10 rejected/);
  });

  it("bad arguments: exit 2 naming the option or file", async () => {
    for (const [args, message] of [
      [["import", "detail", join(dir, "missing")], /missing: no such file/],
      [["import", "detail", file, "--batch", "0"], /--batch: expected at least 1/],
      [["import", "detail", file, "--limit", "x"], /--limit: expected a positive whole number/],
      [["import", "detail", dir], /not a regular file/],
    ] as [string[], RegExp][]) {
      const r = await runCli(config, args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  it("on a terminal, a progress bar on stderr (cleared at the end)", { skip: spawnSync("script", ["--version"]).status === 0 ? false : "needs script(1) for a pseudo-terminal" }, () => {
    const big = join(dir, "big.detail");
    spawnSync(process.execPath, ["--import", "tsx", "-e", `import("${join(import.meta.dirname, "synthetic.ts")}").then((m) => m.writeSyntheticDetail("${big}", 2000))`], { cwd: repoRoot });
    const cmd = `${process.execPath} --import tsx src/cli/main.ts --config ${config} import detail ${big} --client imported --batch 100`;
    const r = spawnSync("script", ["-q", "-e", "-c", cmd, "/dev/null"], { cwd: repoRoot, encoding: "utf8", env: { ...process.env, COLUMNS: "160" } });
    assert.equal(r.status, 0, r.stdout);
    // eslint-disable-next-line no-control-regex -- the terminal escape that clears the line
    assert.match(r.stdout, /\r\x1b\[K\[=* *\] +\d+% [\d.]+ (B|KiB|MiB) of [\d.]+ MiB, \d+ entries/, JSON.stringify(r.stdout.slice(0, 300)));
    assert.match(r.stdout, /total: 8000 imported, 0 duplicates, 0 rejected/);
    // Without a terminal (as in every other test here), no progress line at all.
    const plain = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "--config", config, "import", "detail", big, "--client", "imported", "--state", join(dir, "s3.json")], { cwd: repoRoot, encoding: "utf8" });
    assert.equal(plain.stderr, "");
    assert.match(plain.stdout, /8000 entries from the start: 0 imported, 8000 duplicates, 0 rejected/);
  });
});
