// `tally import detail` on a detail file written by a real FreeRADIUS 3.2 (Debian's package)
// from radclient traffic. FreeRADIUS also replicates every Accounting-Request to a running
// `tally serve` (rlm_replicate), as a site that puts FreeRADIUS in front of Tally would: the
// imported records must be the very records Tally received live (all duplicates), an import
// into a fresh store must give the same sessions, a second import must change nothing, and an
// import stopped partway (--limit) and resumed must store every entry exactly once.

import assert from "node:assert/strict";
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "csv-parse/sync";
import { freeRadiusUnavailable, startFreeRadius, type FreeRadiusAnchor } from "../../bench/anchors/freeradius.ts";
import { BASE_CONFIG, makeTempDir, radclient, runCli, SECRET, startTally, until, type TallyProcess } from "../interop/harness.ts";
import { replicateTo } from "./replicate.ts";

const G = 2 ** 32;
const NAS = 'NAS-Identifier = "nas-a"\nNAS-IP-Address = 127.0.0.1';
// An Accounting-On first (the NAS booted), then four sessions: s1 complete with Gigawords,
// s2 left open, s3 a Stop without a Start, s4 with a quoted string FreeRADIUS must escape.
const PACKETS = [
  `Acct-Status-Type = Accounting-On\n${NAS}`,
  `Acct-Status-Type = Start\nUser-Name = "alice"\nAcct-Session-Id = "s1"\n${NAS}\nFramed-IP-Address = 10.0.0.1\nCalling-Station-Id = "02-00-00-00-00-01"\nClass = 0x0102ff`,
  `Acct-Status-Type = Interim-Update\nUser-Name = "alice"\nAcct-Session-Id = "s1"\n${NAS}\nAcct-Input-Octets = 1000\nAcct-Output-Octets = 2000\nAcct-Input-Gigawords = 1\nAcct-Session-Time = 60`,
  `Acct-Status-Type = Stop\nUser-Name = "alice"\nAcct-Session-Id = "s1"\n${NAS}\nAcct-Input-Octets = 5000\nAcct-Output-Octets = 9000\nAcct-Input-Gigawords = 2\nAcct-Output-Gigawords = 1\nAcct-Input-Packets = 70\nAcct-Output-Packets = 80\nAcct-Session-Time = 120\nAcct-Terminate-Cause = User-Request\nCisco-AVPair = "ip:addr-pool=one"`,
  `Acct-Status-Type = Start\nUser-Name = "bob"\nAcct-Session-Id = "s2"\n${NAS}\nNAS-Port = 7`,
  `Acct-Status-Type = Interim-Update\nUser-Name = "bob"\nAcct-Session-Id = "s2"\n${NAS}\nNAS-Port = 7\nAcct-Input-Octets = 300\nAcct-Output-Octets = 400\nAcct-Session-Time = 30`,
  `Acct-Status-Type = Stop\nUser-Name = "carol"\nAcct-Session-Id = "s3"\n${NAS}\nAcct-Input-Octets = 10\nAcct-Output-Octets = 20\nAcct-Session-Time = 45\nAcct-Delay-Time = 5\nAcct-Terminate-Cause = Idle-Timeout`,
  `Acct-Status-Type = Start\nUser-Name = "dave"\nAcct-Session-Id = "s4"\n${NAS}\nConnect-Info = "café \\"fast\\", 100\\\\M"`,
  `Acct-Status-Type = Stop\nUser-Name = "dave"\nAcct-Session-Id = "s4"\n${NAS}\nConnect-Info = "café \\"fast\\", 100\\\\M"\nAcct-Session-Time = 5\nAcct-Input-Octets = 1\nAcct-Output-Octets = 2\nAcct-Terminate-Cause = Session-Timeout`,
];
const ENTRIES = PACKETS.length;

interface SessionJson {
  id: number;
  user: string;
  nas: string;
  sessionId: string;
  status: string;
  inputOctets: number;
  outputOctets: number;
  inputPackets: number;
  outputPackets: number;
  sessionTime: number;
  terminateCause: string | null;
  startedAt: string;
  stoppedAt: string | null;
}

interface ImportJson {
  entries: number;
  imported: number;
  duplicates: number;
  rejected: number;
  limited: boolean;
  interrupted: boolean;
  files: { startLine: number; nextLine: number; start: string }[];
}

/** A store-only config (no listeners) in a fresh directory. */
function storeConfig(): { dir: string; config: string } {
  const dir = makeTempDir("tally-import-");
  const config = join(dir, "tally.yaml");
  writeFileSync(config, JSON.stringify({ ...BASE_CONFIG, radius: { auth: null, acct: null } }));
  return { dir, config };
}

async function cli(config: string, args: string[]): Promise<string> {
  const r = await runCli(config, args);
  assert.equal(r.code, 0, `tally ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function sessions(config: string): Promise<SessionJson[]> {
  return (JSON.parse(await cli(config, ["sessions", "--json"])) as SessionJson[]).sort((a, b) => a.sessionId.localeCompare(b.sessionId));
}

const withoutIds = (ss: SessionJson[]) => ss.map(({ id: _id, ...rest }) => rest);

const skip = await freeRadiusUnavailable("detail");

describe("tally import detail: a detail file from FreeRADIUS 3.2", { skip: skip ?? false }, () => {
  let tally: TallyProcess;
  let fr: FreeRadiusAnchor | undefined;
  const work = makeTempDir("tally-import-detail-");
  const detail = join(work, "detail");
  const fresh = storeConfig();

  before(async () => {
    tally = await startTally();
    try {
      fr = await startFreeRadius({ mode: "detail", secret: SECRET, customize: replicateTo(tally.acctPort, SECRET) });
      const r = await radclient(`127.0.0.1:${fr.acctPort}`, "acct", `${PACKETS.join("\n\n")}\n`, ["-p", "1"]);
      assert.equal(r.code, 0, `radclient: ${r.stderr}`);
      assert.equal(r.stdout.match(/Received Accounting-Response/g)?.length, ENTRIES, r.stdout);
      // rlm_replicate does not wait for Tally: wait until every record is in Tally's store.
      await until(10_000, "the replicated records in tally serve's store", async () => {
        const out = await tally.cli(["export", "records", "--format", "jsonl"]);
        return out.trim().split("\n").filter(Boolean).length === ENTRIES ? true : undefined;
      });
      const dir = join(fr.radacctDir, "127.0.0.1");
      const files = readdirSync(dir);
      assert.equal(files.length, 1, `one detail file, got ${files.join(", ")}`);
      copyFileSync(join(dir, files[0]!), detail);
    } finally {
      await fr?.stop();
    }
  });
  after(async () => {
    await fr?.stop();
    await tally.cleanup();
    rmSync(work, { recursive: true, force: true });
    rmSync(fresh.dir, { recursive: true, force: true });
  });

  it("FreeRADIUS wrote every entry, with its own attributes besides the packet's", () => {
    const text = readFileSync(detail, "utf8");
    assert.equal(text.match(/^\tAcct-Status-Type = /gm)?.length, ENTRIES, text);
    // What the import has to leave out or read: FreeRADIUS's additions and escapes.
    assert.match(text, /^\tAcct-Unique-Session-Id = "[0-9a-f]{32}"$/m);
    assert.match(text, /^\tTimestamp = \d+$/m);
    assert.match(text, /^\tEvent-Timestamp = "[A-Z][a-z]{2} [ \d]\d \d{4} \d\d:\d\d:\d\d [A-Z]+"$/m);
    assert.ok(text.includes('\tConnect-Info = "café \\"fast\\", 100\\\\M"'), text);
  });

  it("imports into a fresh store: the sessions and totals radclient sent, counts printed", async () => {
    const out = await cli(fresh.config, ["import", "detail", detail]);
    assert.match(out, new RegExp(`${ENTRIES} entries from the start: ${ENTRIES} imported, 0 duplicates, 0 rejected`), out);
    assert.match(out, new RegExp(`^total: ${ENTRIES} imported, 0 duplicates, 0 rejected$`, "m"), out);

    const ss = await sessions(fresh.config);
    assert.deepEqual(
      ss.map((s) => [s.sessionId, s.user, s.nas, s.status, s.inputOctets, s.outputOctets, s.sessionTime, s.terminateCause]),
      [
        ["s1", "alice", "nas-a", "closed", 2 * G + 5000, G + 9000, 120, "User-Request"],
        ["s2", "bob", "nas-a", "open", 300, 400, 30, null],
        ["s3", "carol", "nas-a", "closed", 10, 20, 45, "Idle-Timeout"],
        ["s4", "dave", "nas-a", "closed", 1, 2, 5, "Session-Timeout"],
      ],
    );
    const s1 = ss[0]!;
    assert.deepEqual([s1.inputPackets, s1.outputPackets], [70, 80]);
    // A Stop without a Start began Acct-Session-Time before its event (which is 5 s of delay before receipt).
    const s3 = ss[2]!;
    assert.equal(Date.parse(s3.stoppedAt!) - Date.parse(s3.startedAt), 45_000);

    const records = JSON.parse(await cli(fresh.config, ["records", "--session", String(ss[3]!.id), "--json"])) as { attributes: { name: string; value: string }[] }[];
    assert.equal(records.length, 2);
    assert.deepEqual(records[0]!.attributes.find((a) => a.name === "Connect-Info"), { name: "Connect-Info", value: 'café "fast", 100\\M' });
    assert.equal(records[0]!.attributes.find((a) => /Unique|Timestamp$/.test(a.name) && a.name !== "Event-Timestamp"), undefined, "no FreeRADIUS-internal attribute in the record");
  });

  it("the same records Tally received live from FreeRADIUS: all duplicates, the same sessions", async () => {
    const live = await sessions(tally.configPath);
    const out = await cli(tally.configPath, ["import", "detail", detail, "--json"]);
    const summary = JSON.parse(out) as ImportJson;
    assert.deepEqual([summary.entries, summary.imported, summary.duplicates, summary.rejected], [ENTRIES, 0, ENTRIES, 0], out);
    assert.deepEqual(await sessions(tally.configPath), live, "the import changed the live store");
    assert.deepEqual(withoutIds(await sessions(fresh.config)), withoutIds(live), "imported sessions differ from those received live");
  });

  it("a second import changes nothing: with the state nothing is read, without it all are duplicates", async () => {
    const before = await sessions(fresh.config);
    const again = await cli(fresh.config, ["import", "detail", detail]);
    assert.match(again, /: 0 entries from line \d+: 0 imported, 0 duplicates, 0 rejected/, again);
    const state = join(fresh.dir, "other-state.json");
    const reread = JSON.parse(await cli(fresh.config, ["import", "detail", detail, "--state", state, "--json"])) as ImportJson;
    assert.deepEqual([reread.entries, reread.imported, reread.duplicates], [ENTRIES, 0, ENTRIES]);
    assert.deepEqual(await sessions(fresh.config), before);
  });

  it("exported after the import: CSV (read back with csv-parse) and JSON Lines hold what the store holds", async () => {
    const listed = (JSON.parse(await cli(fresh.config, ["sessions", "--json"])) as Record<string, unknown>[]).sort((a, b) => (a.id as number) - (b.id as number));
    const csvSessions = parse(await cli(fresh.config, ["export", "sessions", "--format", "csv"]), { columns: true }) as Record<string, string>[];
    assert.deepEqual(csvSessions, listed.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? "" : String(v)]))));
    const jsonl = (await cli(fresh.config, ["export", "records", "--format", "jsonl"])).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(jsonl.length, ENTRIES);
    const csvRecords = parse(await cli(fresh.config, ["export", "records", "--format", "csv"]), { columns: true }) as Record<string, string>[];
    assert.deepEqual(
      csvRecords,
      jsonl.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v)]))),
    );
    const connect = csvRecords.find((r) => r.attributes!.includes("Connect-Info"))!;
    assert.ok(connect.attributes!.includes('"value":"café \\"fast\\", 100\\\\M"'), connect.attributes);
  });

  it("stopped partway (--limit) and run again: every entry stored exactly once", async () => {
    const c = storeConfig();
    try {
      const first = JSON.parse(await cli(c.config, ["import", "detail", detail, "--limit", "4", "--batch", "3", "--json"])) as ImportJson;
      assert.deepEqual([first.entries, first.imported, first.duplicates, first.limited], [4, 4, 0, true]);
      assert.ok(first.files[0]!.nextLine > 1, `the state moved: ${JSON.stringify(first.files)}`);
      const second = JSON.parse(await cli(c.config, ["import", "detail", detail, "--batch", "3", "--json"])) as ImportJson;
      assert.deepEqual([second.entries, second.imported, second.duplicates, second.limited], [ENTRIES - 4, ENTRIES - 4, 0, false]);
      assert.equal(second.files[0]!.startLine, first.files[0]!.nextLine);
      assert.equal(second.files[0]!.start, "resume");
      const records = (await cli(c.config, ["export", "records", "--format", "jsonl"])).trim().split("\n");
      assert.equal(records.length, ENTRIES);
      assert.deepEqual(withoutIds(await sessions(c.config)), withoutIds(await sessions(fresh.config)));
    } finally {
      rmSync(c.dir, { recursive: true, force: true });
    }
  });
});
