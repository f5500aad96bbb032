// Two Tally nodes on one PostgreSQL, as an ISP runs them behind its NASes' failover lists.
// Debian's radclient sends the packets of 100 sessions alternately to each node (Start to one,
// Interim-Update to the other, Stop to the first...), from two processes at once, and sends
// every seventh packet to both (a NAS retransmitting to its second server). Every session must
// come out as one closed session with its bytes counted once.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PostgresServer, postgresUnavailable } from "../support/postgres.ts";
import { BASE_CONFIG, radclient, startTally, type TallyProcess } from "./harness.ts";

const SESSIONS = 100;
const T0 = Math.floor(Date.now() / 1000) - 3600;
const GIGA = 2 ** 32;

interface Expected {
  sessionId: string;
  user: string;
  input: number;
  output: number;
  time: number;
}

/** The three packets of session i, as radclient input; Event-Timestamp orders them whatever node gets which first. */
function sessionPackets(i: number): { packets: string[]; expected: Expected } {
  const sessionId = `pg-${i}`;
  const user = `user${i % 7}`;
  const inLow = (i * 1_000_003) % GIGA;
  const inGiga = i % 3;
  const outLow = (i * 7_919) % GIGA;
  const common = [`User-Name = "${user}"`, `Acct-Session-Id = "${sessionId}"`, `NAS-Identifier = "nas-pg"`, `NAS-Port = ${i}`];
  const start = [...common, "Acct-Status-Type = Start", `Event-Timestamp = ${T0 + i}`];
  const interim = [
    ...common,
    "Acct-Status-Type = Interim-Update",
    `Event-Timestamp = ${T0 + i + 60}`,
    `Acct-Input-Octets = ${Math.floor(inLow / 2)}`,
    `Acct-Output-Octets = ${Math.floor(outLow / 2)}`,
    "Acct-Session-Time = 60",
  ];
  const stop = [
    ...common,
    "Acct-Status-Type = Stop",
    `Event-Timestamp = ${T0 + i + 120}`,
    `Acct-Input-Octets = ${inLow}`,
    `Acct-Input-Gigawords = ${inGiga}`,
    `Acct-Output-Octets = ${outLow}`,
    "Acct-Session-Time = 120",
    "Acct-Terminate-Cause = User-Request",
  ];
  return {
    packets: [start, interim, stop].map((p) => p.join("\n")),
    expected: { sessionId, user, input: inGiga * GIGA + inLow, output: outLow, time: 120 },
  };
}

const why = postgresUnavailable();

describe("two Tally nodes on one PostgreSQL", { skip: why ?? false }, () => {
  let server: PostgresServer;
  let url: string;
  let nodes: TallyProcess[] = [];

  before(async () => {
    server = await PostgresServer.start();
    url = await server.createDatabase("nodes");
    const config = { ...BASE_CONFIG, store: { postgres: url, spool: false } };
    // One after the other would hide the migration race; both start at once.
    nodes = await Promise.all([startTally(config), startTally(config)]);
  });
  after(async () => {
    for (const n of nodes) await n.cleanup();
    server?.destroy();
  });

  it("both nodes migrated one schema: version 1 recorded once; tally migrate finds nothing to do", async () => {
    const { rows } = await server.sql("SELECT version FROM schema_migrations ORDER BY version", new URL(url).pathname.slice(1));
    assert.deepEqual(rows, [{ version: 1 }]);
    const m = JSON.parse(await nodes[0]!.cli(["migrate", "--json"])) as { store: string; version: number; applied: number[] };
    assert.deepEqual(m, { store: url, version: 1, applied: [] });
  });

  it("alternate packets of 100 sessions to each node, retransmissions to both: every session right, every byte once", async () => {
    const toNode: string[][] = [[], []];
    const expected: Expected[] = [];
    let k = 0;
    let copies = 0;
    for (let i = 0; i < SESSIONS; i++) {
      const s = sessionPackets(i);
      expected.push(s.expected);
      for (const p of s.packets) {
        toNode[k % 2]!.push(p);
        if (k % 7 === 0) {
          toNode[(k + 1) % 2]!.push(p);
          copies++;
        }
        k++;
      }
    }
    const results = await Promise.all(
      nodes.map((n, i) => radclient(`127.0.0.1:${n.acctPort}`, "acct", `${toNode[i]!.join("\n\n")}\n`, ["-p", "8", "-t", "5", "-r", "3"])),
    );
    for (const [i, r] of results.entries()) {
      const acks = (r.stdout.match(/Received Accounting-Response/g) ?? []).length;
      assert.equal(acks, toNode[i]!.length, `node ${i} acknowledged every packet it got (${r.stderr.slice(-500)})`);
    }
    assert.equal(copies, Math.ceil((SESSIONS * 3) / 7), "the test did send retransmissions to both nodes");

    const db = new URL(url).pathname.slice(1);
    const records = await server.sql("SELECT count(*)::int AS n FROM records", db);
    assert.equal(records.rows[0].n, SESSIONS * 3, "one record per packet, however many nodes got it");
    const doubled = await server.sql("SELECT session_pk, dedup_key FROM records GROUP BY 1, 2 HAVING count(*) > 1", db);
    assert.deepEqual(doubled.rows, [], "no record stored twice");

    const sessions = JSON.parse(await nodes[0]!.cli(["sessions", "--json", "--nas", "nas-pg", "--limit", "1000"])) as {
      sessionId: string;
      user: string;
      status: string;
      inputOctets: number;
      outputOctets: number;
      sessionTime: number;
      terminateCause: string;
    }[];
    assert.equal(sessions.length, SESSIONS, "one session per Acct-Session-Id");
    const byId = new Map(sessions.map((s) => [s.sessionId, s]));
    for (const e of expected) {
      const s = byId.get(e.sessionId);
      assert.ok(s, `session ${e.sessionId} exists`);
      assert.deepEqual(
        { user: s.user, status: s.status, input: s.inputOctets, output: s.outputOctets, time: s.sessionTime, cause: s.terminateCause },
        { user: e.user, status: "closed", input: e.input, output: e.output, time: e.time, cause: "User-Request" },
        `session ${e.sessionId}`,
      );
    }
    // Usage sums what each record added: the totals of all sessions, nothing twice.
    const usage = await server.sql("SELECT sum(delta_input_octets)::bigint AS i, sum(delta_output_octets)::bigint AS o FROM records", db);
    assert.equal(Number(usage.rows[0].i), expected.reduce((a, e) => a + e.input, 0));
    assert.equal(Number(usage.rows[0].o), expected.reduce((a, e) => a + e.output, 0));

    // What a FreeRADIUS reporting tool sees through the radacct view.
    const radacct = await server.sql(
      "SELECT count(*)::int AS n, sum(acctinputoctets)::bigint AS i FROM radacct WHERE nasidentifier = 'nas-pg' AND acctstoptime IS NOT NULL",
      db,
    );
    assert.equal(radacct.rows[0].n, SESSIONS);
    assert.equal(Number(radacct.rows[0].i), expected.reduce((a, e) => a + e.input, 0));
  });
});
