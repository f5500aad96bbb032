// Plugins in a real `tally serve`, driven by radclient, pyrad and Tally's TACACS+ client:
// quota disconnect on the crossing interim, `error` makes the NAS retry with exactly one record
// stored, a hanging plugin is cut off, per-session order with 50 concurrent sessions, an
// interval from authenticate in the Access-Accept, TACACS+ records with the same fields, and
// SIGHUP reloads.

import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { TacacsClient } from "../../src/tacacs/client.ts";
import { AcctFlag, AcctStatus } from "../../src/tacacs/constants.ts";
import { BASE_CONFIG, makeTempDir, python, radclient, SECRET, sleep, startTally, TACACS_KEY, type TallyProcess } from "./harness.ts";

const probe = join(import.meta.dirname, "..", "plugins", "fixtures", "probe.ts");
const pyrad = join(import.meta.dirname, "pyrad", "client.py");

function calls(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function sessionsOf(tally: TallyProcess, user: string) {
  return JSON.parse(await tally.cli(["sessions", "--json", "--user", user])) as Record<string, unknown>[];
}

const acct = (fields: Record<string, string | number>) =>
  Object.entries(fields)
    .map(([k, v]) => `${k} = ${typeof v === "number" || /^[A-Z][A-Za-z-]+$/.test(v) ? v : `"${v}"`}`)
    .join("\n");

describe("plugins in a running server", () => {
  let tally: TallyProcess;
  let file: string;

  before(async () => {
    const dir = makeTempDir();
    file = join(dir, "probe.jsonl");
    tally = await startTally({
      ...BASE_CONFIG,
      tacacs: { listen: "127.0.0.1:0" },
      clients: [{ name: "lab", address: "127.0.0.0/8", secret: SECRET, tacacsKey: TACACS_KEY }],
      users: [...BASE_CONFIG.users, { name: "bob", password: "bobpass" }, { name: "hang", password: "x" }],
      plugins: [
        { module: "quota", options: { bytes: 10000, period: "total" } },
        { module: probe, options: { name: "probe", file, hangUser: "hang", authInterval: 42, maxDelayMs: 15 }, timeout: 0.5 },
      ],
    }, dir);
  });
  after(async () => {
    await tally.cleanup();
  });

  it("authenticate's interimInterval shows in the Access-Accept", async () => {
    const r = await radclient(`127.0.0.1:${tally.authPort}`, "auth", 'User-Name = "alice"\nUser-Password = "alicepass"');
    assert.match(r.stdout, /Received Access-Accept/);
    assert.match(r.stdout, /Acct-Interim-Interval = 42/, "the plugin's 42 wins over alice's configured 60");
    assert.ok(calls(file).some((c) => c.hook === "authenticate" && c.user === "alice" && c.method === "pap"), "the probe saw the PAP request");
  });

  it("quota: ok below the limit, disconnect on the interim that crosses it, reject at the next login", async () => {
    const base = { "User-Name": "bob", "NAS-Identifier": "nas-q", "Acct-Session-Id": "q-1" };
    for (const [status, extra] of [
      ["Start", {}],
      ["Interim-Update", { "Acct-Session-Time": 60, "Acct-Input-Octets": 4000, "Acct-Output-Octets": 1000 }],
    ] as const) {
      const r = await radclient(`127.0.0.1:${tally.acctPort}`, "acct", acct({ ...base, "Acct-Status-Type": status, ...extra }));
      assert.match(r.stdout, /Received Accounting-Response/);
    }
    let [s] = await sessionsOf(tally, "bob");
    assert.equal(s!.disconnect, null, "below the quota");
    const crossing = await radclient(`127.0.0.1:${tally.acctPort}`, "acct", acct({ ...base, "Acct-Status-Type": "Interim-Update", "Acct-Session-Time": 120, "Acct-Input-Octets": 9000, "Acct-Output-Octets": 3000 }));
    assert.match(crossing.stdout, /Received Accounting-Response/, "a disconnect is still acknowledged");
    // The request is acted on at once; this client has no CoA address configured (and the
    // records carry no NAS-IP-Address), so the attempt is refused with that reason.
    await tally.waitForLog((l) => l.msg === "disconnect" && l.user === "bob");
    [s] = await sessionsOf(tally, "bob");
    assert.equal(s!.disconnect, "refused");
    assert.match(String(s!.disconnectReason), /quota exhausted; no address for the NAS's dynamic-authorization server/);
    const login = await radclient(`127.0.0.1:${tally.authPort}`, "auth", 'User-Name = "bob"\nUser-Password = "bobpass"');
    assert.match(login.stdout, /Received Access-Reject/);
  });

  it("a hanging plugin is cut off at its limit: no answer for that record, the next request is served", async () => {
    const hung = await radclient(`127.0.0.1:${tally.acctPort}`, "acct", acct({ "User-Name": "hang", "Acct-Session-Id": "h-1", "Acct-Status-Type": "Start" }), ["-t", "1", "-r", "1"]);
    assert.doesNotMatch(hung.stdout, /Received Accounting-Response/);
    await tally.waitForLog((l) => l.plugin === "probe" && l.hook === "accounting" && l.why === "timeout");
    const next = await radclient(`127.0.0.1:${tally.acctPort}`, "acct", acct({ "User-Name": "alice", "Acct-Session-Id": "after-hang", "Acct-Status-Type": "Start" }));
    assert.match(next.stdout, /Received Accounting-Response/);
    const [h] = await sessionsOf(tally, "hang");
    assert.equal(h!.sessionId, "h-1", "the record was stored although the plugin hung");
  });

  it("records of one session reach the plugin in arrival order; sessions run concurrently", async () => {
    const out = JSON.parse(await python(pyrad, ["order", "127.0.0.1", String(tally.acctPort), SECRET, "ord", "50", "5"])) as { acknowledged: number };
    assert.equal(out.acknowledged, 250);
    const seen = calls(file).filter((c) => c.hook === "accounting" && String(c.sessionId).startsWith("ord-"));
    const bySession = new Map<string, string[]>();
    for (const c of seen) bySession.set(String(c.sessionId), [...(bySession.get(String(c.sessionId)) ?? []), `${c.kind}:${c.sessionTime ?? 0}`]);
    assert.equal(bySession.size, 50);
    for (const [id, order] of bySession) {
      assert.deepEqual(order, ["start:0", "interim:10", "interim:20", "interim:30", "stop:40"], `order of ${id}`);
    }
    assert.ok(seen.some((c) => (c.concurrent as number) > 1), "calls of different sessions overlapped");
    assert.ok(seen.every((c) => c.frozen === true), "records reach plugins frozen");
  });

  it("sessionClosed is called once when a session stops", async () => {
    await tally.waitForLog(() => calls(file).some((c) => c.hook === "sessionClosed" && c.sessionId === "ord-7"));
    assert.equal(calls(file).filter((c) => c.hook === "sessionClosed" && c.sessionId === "ord-7").length, 1);
  });

  it("the same accounting plugin sees TACACS+ records with the same fields", async () => {
    const client = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY });
    const r = await client.account({ user: "carol", port: "tty1", flags: AcctFlag.Stop, args: ["task_id=9", "service=shell", "bytes_in=111", "bytes_out=222", "elapsed_time=33"] });
    assert.equal(r.status, AcctStatus.Success);
    await client.close();
    const c = calls(file).find((x) => x.hook === "accounting" && x.protocol === "tacacs" && x.user === "carol");
    assert.ok(c, "the probe saw the TACACS+ record");
    assert.deepEqual(
      { kind: c.kind, sessionId: c.sessionId, nas: c.nas, inputOctets: c.inputOctets, outputOctets: c.outputOctets, sessionTime: c.sessionTime, sessionStatus: c.sessionStatus },
      { kind: "stop", sessionId: "9", nas: "127.0.0.1", inputOctets: 111, outputOctets: 222, sessionTime: 33, sessionStatus: "closed" },
    );
  });
});

describe("plugin error and reload", () => {
  let tally: TallyProcess;
  let file: string;
  before(async () => {
    tally = await startTally({
      ...BASE_CONFIG,
      tacacs: { listen: "127.0.0.1:0" },
      clients: [{ name: "lab", address: "127.0.0.0/8", secret: SECRET, tacacsKey: TACACS_KEY }],
      plugins: [],
    });
    file = join(tally.dir, "probe.jsonl");
  });
  after(async () => {
    await tally.cleanup();
  });

  async function reloadWith(plugins: object[]): Promise<void> {
    const config = JSON.parse(readFileSync(tally.configPath, "utf8"));
    config.plugins = plugins;
    writeFileSync(tally.configPath, JSON.stringify(config));
    const before = tally.logs.length;
    tally.child.kill("SIGHUP");
    await tally.waitForLog((l) => tally.logs.indexOf(l) >= before && (l.msg === "configuration reloaded" || String(l.msg).startsWith("reload failed")));
  }

  it("`error` makes radclient retry; the record is stored exactly once and the retry is a redelivery", async () => {
    await reloadWith([{ module: probe, options: { file, errorFirst: true } }]);
    const r = await radclient(`127.0.0.1:${tally.acctPort}`, "acct", acct({ "User-Name": "alice", "Acct-Session-Id": "err-1", "Acct-Status-Type": "Start" }), ["-t", "1", "-r", "3"]);
    assert.match(r.stdout, /Received Accounting-Response/, "acknowledged once the plugin says ok");
    const deliveries = calls(file).filter((c) => c.sessionId === "err-1");
    assert.deepEqual(deliveries.map((c) => c.redelivery).slice(0, 2), [false, true]);
    const [s] = (JSON.parse(await tally.cli(["sessions", "--json"])) as { id: number; sessionId: string }[]).filter((x) => x.sessionId === "err-1");
    const records = JSON.parse(await tally.cli(["records", "--session", String(s!.id), "--json"])) as unknown[];
    assert.equal(records.length, 1);
  });

  it("SIGHUP with a plugin that fails to load keeps the running set and says why", async () => {
    await reloadWith([{ module: "./no-such-plugin.ts" }]);
    const failure = await tally.waitForLog((l) => String(l.msg).startsWith("reload failed"));
    assert.match(String(failure.error), /no-such-plugin\.ts.*cannot load the module/);
    const r = await radclient(`127.0.0.1:${tally.acctPort}`, "acct", acct({ "User-Name": "alice", "Acct-Session-Id": "err-2", "Acct-Status-Type": "Start" }), ["-t", "1", "-r", "3"]);
    assert.match(r.stdout, /Received Accounting-Response/);
    assert.ok(calls(file).some((c) => c.sessionId === "err-2" && c.redelivery === true), "the old probe (errorFirst) still runs");
  });

  it("TACACS+: error answers ERROR, the resend is a redelivery; the plugin's interval lands on the session", async () => {
    const tacFile = join(tally.dir, "tacacs.jsonl");
    await reloadWith([{ module: probe, options: { file: tacFile, errorFirst: true, acctInterval: 17 } }]);
    const client = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY });
    const req = { user: "dave", port: "tty2", flags: AcctFlag.Start, args: ["task_id=77", "service=shell"] };
    assert.equal((await client.account(req)).status, AcctStatus.Error);
    assert.equal((await client.account(req)).status, AcctStatus.Success);
    await client.close();
    assert.deepEqual(calls(tacFile).filter((c) => c.user === "dave").map((c) => c.redelivery), [false, true]);
    const [s] = JSON.parse(await tally.cli(["sessions", "--json", "--user", "dave"])) as { interimInterval: number; nextUpdateDue: string; updatedAt: string }[];
    assert.equal(s!.interimInterval, 17);
    assert.equal(Date.parse(s!.nextUpdateDue) - Date.parse(s!.updatedAt), 17_000);
    const records = JSON.parse(await tally.cli(["records", "--session", String((s as unknown as { id: number }).id), "--json"])) as unknown[];
    assert.equal(records.length, 1, "stored once");
  });

  it("SIGHUP to no plugins: the next record is acknowledged at once", async () => {
    await reloadWith([]);
    await sleep(100);
    const r = await radclient(`127.0.0.1:${tally.acctPort}`, "acct", acct({ "User-Name": "alice", "Acct-Session-Id": "err-3", "Acct-Status-Type": "Start" }), ["-t", "1", "-r", "1"]);
    assert.match(r.stdout, /Received Accounting-Response/);
  });
});
