// Tests for the OpenVPN management codec, driven first by transcripts captured from a
// real OpenVPN 2.6 (vectors/*.txt, see capture-transcripts.sh) and the expected events
// written by hand from reading them (vectors/*.expected.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import {
  ManagementParser,
  parseStatus3,
  clientAuth,
  clientAuthNt,
  clientDeny,
  clientKill,
  bytecount,
  status,
  clientPendingAuth,
  quoteArg,
} from "../../src/openvpn/management-codec.ts";
import type { ManagementEvent, ClientEvent } from "../../src/openvpn/management-codec.ts";

const VEC = fileURLToPath(new URL("./vectors/", import.meta.url));

interface Expected {
  expectMultilineBeforeLines?: number[];
  events: Array<Record<string, unknown>>;
}

/** Byte offsets where each line starts (lines end with LF). */
function lineStarts(buf: Buffer): number[] {
  const starts = [0];
  for (let i = 0; i < buf.length; i++) if (buf[i] === 0x0a && i + 1 < buf.length) starts.push(i + 1);
  return starts;
}

/** Small deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 0x100000000;
  };
}

type Chunker = (seg: Buffer) => Buffer[];
const whole: Chunker = (seg) => [seg];
const byteByByte: Chunker = (seg) => Array.from({ length: seg.length }, (_, i) => seg.subarray(i, i + 1));
const randomChunks = (seed: number): Chunker => (seg) => {
  const r = rng(seed);
  const out: Buffer[] = [];
  for (let i = 0; i < seg.length; ) {
    const n = 1 + Math.floor(r() * 97);
    out.push(seg.subarray(i, i + n));
    i += n;
  }
  return out;
};

/** Feed a transcript, calling expectMultiline() right before the given line indices. */
function run(buf: Buffer, multilineAt: number[], chunker: Chunker): { events: ManagementEvent[]; rest: ManagementEvent[] } {
  const starts = lineStarts(buf);
  const cuts = multilineAt.map((i) => {
    const off = starts[i];
    if (off === undefined) throw new Error(`no line ${i}`);
    return off;
  });
  const p = new ManagementParser();
  const events: ManagementEvent[] = [];
  let prev = 0;
  for (const cut of [...cuts, buf.length]) {
    for (const c of chunker(buf.subarray(prev, cut))) events.push(...p.push(c));
    if (cut !== buf.length) p.expectMultiline();
    prev = cut;
  }
  return { events, rest: p.end() };
}

function matchEvent(actual: ManagementEvent, exp: Record<string, unknown>, where: string): void {
  const a = actual as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(exp)) {
    if (k === "envCount") {
      assert.equal(Object.keys((actual as ClientEvent).env).length, v, `${where}: ENV size`);
    } else if (k === "envIncludes") {
      for (const [name, value] of Object.entries(v as Record<string, string>)) {
        assert.equal((actual as ClientEvent).env[name], value, `${where}: env.${name}`);
      }
    } else if (k === "lineCount" || k === "firstLine" || k === "lastLine") {
      assert.equal(actual.type, "response", `${where}: is a response`);
      const lines = (actual as { lines: string[] }).lines;
      const got = k === "lineCount" ? lines.length : k === "firstLine" ? lines[0] : lines[lines.length - 1];
      assert.equal(got, v, `${where}: ${k}`);
    } else {
      assert.deepEqual(a[k], v, `${where}: ${k}`);
    }
  }
}

const vectorFiles = readdirSync(VEC).filter((f) => f.endsWith(".txt")).sort();

test("there are captured vectors, each with its expected events", () => {
  assert.ok(vectorFiles.length >= 9, `found ${vectorFiles.length} vectors`);
  for (const f of vectorFiles) {
    const raw = readFileSync(join(VEC, f));
    assert.ok(raw.includes("\r\n"), `${f} keeps OpenVPN's CRLF line ends`);
    assert.doesNotThrow(() => readFileSync(join(VEC, f.replace(/\.txt$/, ".expected.json")), "utf8"), `${f} has expected.json`);
  }
});

for (const file of vectorFiles) {
  test(`vector ${file}: expected events, same under any chunking`, () => {
    const buf = readFileSync(join(VEC, file));
    const exp = JSON.parse(readFileSync(join(VEC, file.replace(/\.txt$/, ".expected.json")), "utf8")) as Expected;
    const at = exp.expectMultilineBeforeLines ?? [];
    const base = run(buf, at, whole);
    assert.deepEqual(base.rest, [], "nothing left incomplete at the end");
    assert.equal(base.events.length, exp.events.length, `event count: ${JSON.stringify(base.events.map((e) => e.type))}`);
    exp.events.forEach((e, i) => matchEvent(base.events[i] as ManagementEvent, e, `${file} event ${i}`));
    assert.ok(!base.events.some((e) => e.type === "malformed" || e.type === "unexpected"), "no malformed/unexpected events in a real transcript");

    assert.deepEqual(run(buf, at, byteByByte), base, "byte-by-byte");
    for (const seed of [1, 2, 3, 42, 1234]) assert.deepEqual(run(buf, at, randomChunks(seed)), base, `random chunks seed ${seed}`);
    // LF-only line ends must give the same events.
    const lf = Buffer.from(buf.toString("latin1").replace(/\r\n/g, "\n"), "latin1");
    assert.deepEqual(run(lf, at, whole), base, "LF line ends");
  });
}

test("status 3 answer without expectMultiline is not mistaken for anything else", () => {
  const buf = readFileSync(join(VEC, "status3.txt"));
  const evs = new ManagementParser().push(buf);
  assert.equal(evs.length, 9, "one unexpected event per line");
  assert.ok(evs.every((e) => e.type === "unexpected"), "all unexpected");
});

test("parseStatus3 on the captured status 3 answer", () => {
  const p = new ManagementParser();
  p.expectMultiline();
  const [ev] = p.push(readFileSync(join(VEC, "status3.txt")));
  assert.ok(ev && ev.type === "response", "a response event");
  const s = parseStatus3(ev.lines);
  assert.deepEqual(s.problems, [], "all rows understood");
  assert.equal(s.time, 1795315245, "TIME time_t");
  assert.match(s.title ?? "", /^OpenVPN 2\.6\.14 /, "title");
  assert.equal(s.clients.length, 1, "one client");
  const c = s.clients[0];
  assert.ok(c, "client row");
  assert.equal(c.cid, 1, "CID");
  assert.equal(c.commonName, "client1", "common name");
  assert.equal(c.username, "alice", "username");
  assert.equal(c.realAddress, "10.231.0.2:39818", "real address");
  assert.equal(c.virtualAddress, "10.232.0.2", "virtual address");
  assert.equal(c.virtualIPv6Address, "", "no IPv6");
  assert.equal(c.bytesReceived, 2240, "bytes received");
  assert.equal(c.bytesSent, 2132, "bytes sent");
  assert.equal(c.connectedSince, 1795315239, "connected since");
  assert.equal(c.peerId, 0, "peer id");
  assert.equal(c.cipher, "AES-256-GCM", "cipher");
  assert.deepEqual(s.routes, [
    {
      virtualAddress: "10.232.0.2",
      commonName: "client1",
      realAddress: "10.231.0.2:39818",
      lastRef: 1795315240,
      columns: {
        "Virtual Address": "10.232.0.2",
        "Common Name": "client1",
        "Real Address": "10.231.0.2:39818",
        "Last Ref": "2026-11-22 02:40:40",
        "Last Ref (time_t)": "1795315240",
      },
    },
  ], "routing table");
  assert.deepEqual(s.globalStats, { "Max bcast/mcast queue length": "1", dco_enabled: "0" }, "global stats");
});

test("parseStatus3 maps columns by HEADER names, not positions", () => {
  const s = parseStatus3([
    "HEADER\tCLIENT_LIST\tClient ID\tUsername\tBytes Sent\tBytes Received\tCommon Name\tConnected Since (time_t)",
    "CLIENT_LIST\t7\tbob\t10\t20\tcn-bob\t1700000000",
    "CLIENT_LIST\tx\tbad\t1\t2\tcn\t3",
    "ROUTING_TABLE\t10.0.0.1\tcn\t1.2.3.4:5\tt\t1",
    "END",
  ]);
  assert.equal(s.clients.length, 1, "one good row");
  assert.equal(s.clients[0]?.cid, 7, "cid");
  assert.equal(s.clients[0]?.username, "bob", "username");
  assert.equal(s.clients[0]?.bytesSent, 10, "sent");
  assert.equal(s.clients[0]?.bytesReceived, 20, "received");
  assert.equal(s.clients[0]?.peerId, null, "no Peer ID column");
  assert.equal(s.problems.length, 2, `bad number row and header-less routing row: ${s.problems.join(" | ")}`);
});

// ------------------------------------------------------------------ parser unit cases

function feed(...chunks: Array<string | Buffer>): ManagementEvent[] {
  const p = new ManagementParser();
  return chunks.flatMap((c) => p.push(c));
}

test("ENV values containing = and commas; DISCONNECT with byte counts", () => {
  const evs = feed(
    ">CLIENT:DISCONNECT,17\r\n",
    ">CLIENT:ENV,X509_0_subject=C=DE, O=Acme, CN=a=b\r\n",
    ">CLIENT:ENV,bytes_received=123456789012\r\n>CLIENT:ENV,bytes_sent=42\r\n",
    ">CLIENT:ENV,time_duration=3600\r\n>CLIENT:ENV,empty=\r\n>CLIENT:ENV,END\r\n",
  );
  assert.deepEqual(evs, [{
    type: "client", kind: "disconnect", cid: 17, kid: null,
    env: { X509_0_subject: "C=DE, O=Acme, CN=a=b", bytes_received: "123456789012", bytes_sent: "42", time_duration: "3600", empty: "" },
  }], "disconnect event");
});

test("real-time messages: STATE, LOG, HOLD, PASSWORD, BYTECOUNT, others", () => {
  const evs = feed(
    ">STATE:1700000000,CONNECTED,SUCCESS,10.8.0.2,1.2.3.4,1194,,\n",
    ">LOG:1700000001,W,a, message, with commas\n",
    ">HOLD:Waiting for hold release:0\n",
    ">PASSWORD:Need 'Auth' username/password\n",
    ">BYTECOUNT:100,200\n",
    ">FATAL:something broke\n",
    ">CLIENT:CR_RESPONSE,4,2,dGVzdA==\n>CLIENT:ENV,END\n",
    ">CLIENT:SOMETHING_NEW,1\n",
  );
  assert.deepEqual(evs, [
    { type: "state", time: 1700000000, state: "CONNECTED", fields: ["SUCCESS", "10.8.0.2", "1.2.3.4", "1194", "", ""] },
    { type: "log", time: 1700000001, flags: "W", message: "a, message, with commas" },
    { type: "hold", text: "Waiting for hold release:0" },
    { type: "password", text: "Need 'Auth' username/password" },
    { type: "bytecount", cid: null, bytesIn: 100, bytesOut: 200 },
    { type: "notify", name: "FATAL", payload: "something broke" },
    { type: "client", kind: "cr_response", cid: 4, kid: 2, env: {}, response: "dGVzdA==" },
    { type: "notify", name: "CLIENT", payload: "SOMETHING_NEW,1" },
  ], "events");
});

test("malformed lines are reported and parsing continues", () => {
  const evs = feed(
    ">BYTECOUNT_CLI:1,x,3\n",
    ">BYTECOUNT_CLI:1,2\n",
    ">CLIENT:CONNECT,abc,1\n",
    ">CLIENT:ENV,orphan=1\n",
    ">nocolon\n",
    ">CLIENT:ADDRESS,1,10.0.0.2,7\n",
    ">CLIENT:CONNECT,5,0\n>CLIENT:ENV,noequals\n>CLIENT:ENV,a=1\n",
    "SUCCESS: interrupts the block\n",
    "random text\n",
    ">INFO:still alive\n",
  );
  assert.deepEqual(evs.map((e) => e.type), [
    "malformed", "malformed", "malformed", "malformed", "malformed", "malformed",
    "malformed", // ENV without '='
    "malformed", // block cut by the SUCCESS line
    "success", "unexpected", "info",
  ], JSON.stringify(evs));
  const cut = evs[7];
  assert.ok(cut?.type === "malformed" && cut.line === ">CLIENT:CONNECT,5,0", "the cut block's header is reported");
});

test("over-long line yields one malformed event, then parsing continues", () => {
  const max = 1024;
  const long = "x".repeat(5000);
  for (const chunking of ["whole", "bytes"] as const) {
    const p = new ManagementParser({ maxLineLength: max });
    const input = `>INFO:a\n${long}\r\n>INFO:b\n`;
    const evs = chunking === "whole" ? p.push(input) : [...input].flatMap((ch) => p.push(ch));
    assert.equal(evs.length, 3, `${chunking}: ${JSON.stringify(evs.map((e) => e.type))}`);
    assert.deepEqual(evs[0], { type: "info", text: "a" }, "before");
    const m = evs[1];
    assert.ok(m?.type === "malformed" && /longer than 1024/.test(m.reason) && m.line.length === 200, "malformed with a short sample");
    assert.deepEqual(evs[2], { type: "info", text: "b" }, "after");
  }
  // Exactly at the limit is accepted (CR counts, LF does not).
  const p = new ManagementParser({ maxLineLength: 10 });
  assert.deepEqual(p.push(">INFO:123\r\n"), [{ type: "info", text: "123" }], "10 bytes before LF is fine");
  assert.equal(p.push(">INFO:1234\r\n")[0]?.type, "malformed", "11 bytes is too long");
  // The default limit is 64 KiB.
  const d = new ManagementParser();
  assert.equal(d.push(`>INFO:${"y".repeat(65536)}\n`)[0]?.type, "malformed", "over 64 KiB");
  assert.equal(d.push(`>INFO:${"y".repeat(60000)}\n`)[0]?.type, "info", "under 64 KiB");
});

test("UTF-8 split across chunks decodes correctly", () => {
  const bytes = Buffer.from(">CLIENT:CONNECT,1,0\n>CLIENT:ENV,common_name=Jürgen €\n>CLIENT:ENV,END\n", "utf8");
  const p = new ManagementParser();
  const evs: ManagementEvent[] = [];
  for (let i = 0; i < bytes.length; i++) evs.push(...p.push(bytes.subarray(i, i + 1)));
  assert.equal((evs[0] as ClientEvent).env.common_name, "Jürgen €", "decoded");
});

test("multi-line answers: queued expectations, ERROR answer, empty answer, interleaved real-time lines", () => {
  const p = new ManagementParser();
  p.expectMultiline();
  p.expectMultiline();
  p.expectMultiline();
  const evs = p.push(
    ">BYTECOUNT_CLI:1,2,3\n" +
      "ERROR: status command failed\n" + // first command failed
      "line one\n>INFO:between\nline two\nEND\n" + // second
      "END\n" + // third: empty
      "SUCCESS: pid=42\n", // back to single-line answers
  );
  assert.deepEqual(evs, [
    { type: "bytecount", cid: 1, bytesIn: 2, bytesOut: 3 },
    { type: "error", text: "status command failed" },
    { type: "info", text: "between" },
    { type: "response", lines: ["line one", "line two"] },
    { type: "response", lines: [] },
    { type: "success", text: "pid=42" },
  ], "events");
});

test("end() reports what was left incomplete", () => {
  const p = new ManagementParser();
  p.push(">CLIENT:CONNECT,1,0\n>CLIENT:ENV,a=1\n>CLIENT:ENV,b");
  const rest = p.end();
  assert.deepEqual(rest.map((e) => e.type === "malformed" && e.reason), [
    "unterminated line at end of stream",
    "CLIENT block without ENV,END at end of stream",
  ], "two problems");
  assert.deepEqual(p.end(), [], "reset after end()");
});

test("push never throws on garbage", () => {
  const p = new ManagementParser({ maxLineLength: 16 });
  const junk = Buffer.from([0xff, 0xfe, 0x0a, 0x3e, 0x0a, 0x0d, 0x0a, 0x00, 0x3e, 0x3a, 0x0a]);
  assert.doesNotThrow(() => p.push(junk), "bytes");
  assert.doesNotThrow(() => p.push(">CLIENT:ENV,END\n>CLIENT:\n>:\n\n\r\n"), "edge lines");
});

// ------------------------------------------------------------------ command builders

test("command builders produce the exact lines", () => {
  assert.equal(clientAuthNt(1, 1), "client-auth-nt 1 1\n", "auth-nt");
  assert.equal(clientAuth(2, 1, ['push "setenv-safe TALLY_CLASS gold"', 'push "dhcp-option DOMAIN vec.test"']),
    'client-auth 2 1\npush "setenv-safe TALLY_CLASS gold"\npush "dhcp-option DOMAIN vec.test"\nEND\n', "auth block");
  assert.equal(clientAuth(2, 1), "client-auth 2 1\nEND\n", "empty auth block");
  // The same quoting was accepted by OpenVPN 2.6.14 during capture (SUCCESS: client-deny).
  assert.equal(clientDeny(0, 1, 'bad password for "alice"', "wrong credentials"),
    'client-deny 0 1 "bad password for \\"alice\\"" "wrong credentials"\n', "deny");
  assert.equal(clientDeny(3, 0, "back\\slash"), 'client-deny 3 0 "back\\\\slash"\n', "backslash escaped");
  assert.equal(clientKill(5), "client-kill 5\n", "kill");
  assert.equal(clientKill(5, "HALT"), "client-kill 5 HALT\n", "kill HALT");
  assert.equal(clientKill(5, "RESTART"), "client-kill 5 RESTART\n", "kill RESTART");
  assert.equal(clientKill(5, "bye now"), 'client-kill 5 "bye now"\n', "kill with a quoted message");
  assert.equal(bytecount(0), "bytecount 0\n", "bytecount off");
  assert.equal(bytecount(5), "bytecount 5\n", "bytecount 5");
  assert.equal(status(3), "status 3\n", "status");
  assert.equal(clientPendingAuth(1, 2, "WEB_AUTH::https://sso.example/x?a=b", 120),
    'client-pending-auth 1 2 "WEB_AUTH::https://sso.example/x?a=b" 120\n', "pending auth");
  assert.equal(quoteArg('a "b" \\c'), '"a \\"b\\" \\\\c"', "quoteArg");
});

test("command builders reject CR/LF/NUL and bad numbers", () => {
  const bad: Array<[string, () => string]> = [
    ["deny LF", () => clientDeny(1, 1, "a\nclient-kill 2")],
    ["deny CR", () => clientDeny(1, 1, "ok", "a\rb")],
    ["deny NUL", () => clientDeny(1, 1, "a\0b")],
    ["deny empty", () => clientDeny(1, 1, "")],
    ["auth LF", () => clientAuth(1, 1, ["push x\nEND"])],
    ["auth END", () => clientAuth(1, 1, [" END "])],
    ["kill LF", () => clientKill(1, "HALT\nclient-kill 2")],
    ["negative cid", () => clientAuthNt(-1, 0)],
    ["fractional kid", () => clientAuthNt(1, 0.5)],
    ["huge cid", () => clientKill(2 ** 32)],
    ["NaN", () => clientKill(Number.NaN)],
    ["bytecount negative", () => bytecount(-1)],
    ["status 4", () => status(4 as 3)],
    ["pending LF", () => clientPendingAuth(1, 1, "a\n", 10)],
    ["pending timeout 0", () => clientPendingAuth(1, 1, "a", 0)],
  ];
  for (const [name, f] of bad) assert.throws(f, Error, name);
});
