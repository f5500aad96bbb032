// The `tally` CLI as an operator uses it: first start writes an example config, bad configs
// name the key, stored users authenticate (checked with radclient), usage and JSON output.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BASE_CONFIG, makeTempDir, radclient, repoRoot, runCli, startTally } from "../interop/harness.ts";

describe("tally CLI", () => {
  it("serve writes an example tally.yaml when none exists, then starts", async () => {
    const dir = makeTempDir();
    const configPath = join(dir, "tally.yaml");
    try {
      // Port 0 would not be in the example, so only check that the file appears and is valid.
      const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "src/cli/main.ts"), "--config", configPath, "serve"], {
        cwd: repoRoot,
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
      const deadline = Date.now() + 15_000;
      while (!stderr.includes("wrote an example configuration") && Date.now() < deadline && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 50));
      }
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
      assert.match(stderr, /wrote an example configuration to .*tally\.yaml/);
      assert.ok(existsSync(configPath), "existsSync(configPath)");
      assert.match(readFileSync(configPath, "utf8"), /defaultInterimInterval: 300/);
      const check = await runCli(configPath, ["config", "check"]);
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stdout, /ok \(1 clients, 1 users\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("config check names the file, the key and what was expected; exit code 2", async () => {
    const dir = makeTempDir();
    const configPath = join(dir, "tally.yaml");
    try {
      writeFileSync(configPath, "clients:\n  - { name: lab, address: 127.0.0.1/40, secret: x }\n");
      const r = await runCli(configPath, ["config", "check"]);
      assert.equal(r.code, 2);
      assert.ok(r.stderr.includes(`${configPath}: invalid configuration`), r.stderr);
      assert.match(r.stderr, /clients\[0\]\.address: expected an IP address or CIDR block/);

      writeFileSync(configPath, "users:\n  - { name: a, password: p, reply: { Sesion-Timeout: 5 } }\n");
      const bad = await runCli(configPath, ["config", "check"]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /users\[0\]\.reply: .*Sesion-Timeout/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("migrate applies the schema once and then says it is up to date; a store config with both stores is refused by key", async () => {
    const dir = makeTempDir();
    const configPath = join(dir, "tally.yaml");
    try {
      writeFileSync(configPath, "store:\n  sqlite: ./m.db\n");
      const first = await runCli(configPath, ["migrate", "--json"]);
      assert.equal(first.code, 0, first.stderr);
      const applied = JSON.parse(first.stdout) as { store: string; version: number; applied: number[] };
      assert.deepEqual(applied.applied, [1, 2, 3, 4]);
      assert.equal(applied.store, join(dir, "m.db"));
      const second = await runCli(configPath, ["migrate"]);
      assert.match(second.stdout, /m\.db: schema up to date \(version 4\)/);

      writeFileSync(configPath, "store:\n  sqlite: ./m.db\n  postgres: postgres://x@127.0.0.1/y\n");
      const both = await runCli(configPath, ["migrate"]);
      assert.equal(both.code, 2);
      assert.match(both.stderr, /store: expected exactly one of "sqlite: FILE" or "postgres: URL"/);
      writeFileSync(configPath, "store:\n  sqlite: ./m.db\n  spool: true\n");
      const spool = await runCli(configPath, ["migrate"]);
      assert.match(spool.stderr, /store\.spool: "spool" applies only to "postgres"/);
      writeFileSync(configPath, "store:\n  postgres: mysql://x\n");
      const url = await runCli(configPath, ["migrate"]);
      assert.match(url.stderr, /store\.postgres: expected a connection URL such as "postgres:\/\//);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("tally openvpn refuses a config with no openvpn entry that has a radius: section, and says so", async () => {
    const dir = makeTempDir();
    const configPath = join(dir, "tally.yaml");
    try {
      writeFileSync(configPath, "openvpn:\n  - { name: vpn1, management: /run/vpn1.sock }\n");
      const r = await runCli(configPath, ["openvpn"]);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(`${configPath}: no openvpn entry has a radius: section`), r.stderr);
      const named = await runCli(configPath, ["openvpn", "--name", "vpn2"]);
      assert.ok(named.stderr.includes("no openvpn entry named vpn2"), named.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("users add/list/remove; a hashed user passes PAP and fails CHAP, a cleartext user passes both", async () => {
    const tally = await startTally({ ...BASE_CONFIG, users: [] });
    try {
      const add = await runCli(tally.configPath, ["users", "add", "carol", "--password-stdin", "--reply", "Session-Timeout=7200"], "carolpass\n");
      assert.equal(add.code, 0, add.stderr);
      assert.match(add.stdout, /scrypt hash/);
      assert.equal((await runCli(tally.configPath, ["users", "add", "dave", "--password", "davepass", "--cleartext"])).code, 0);
      const badReply = await runCli(tally.configPath, ["users", "add", "eve", "--password", "x", "--reply", "Session-Timeout=soon"]);
      assert.equal(badReply.code, 2);
      assert.match(badReply.stderr, /--reply: .*Session-Timeout/);

      const list = JSON.parse(await tally.cli(["users", "list", "--json"])) as { name: string; password: string; reply: object }[];
      assert.deepEqual(
        list.map((u) => [u.name, u.password]),
        [
          ["carol", "scrypt"],
          ["dave", "cleartext"],
        ],
      );
      const stored = readFileSync(join(tally.dir, "tally.db"));
      assert.ok(!stored.includes(Buffer.from("carolpass")), "the hashed password is not in the database file");

      const auth = `127.0.0.1:${tally.authPort}`;
      const pap = await radclient(auth, "auth", 'User-Name = "carol"\nUser-Password = "carolpass"');
      assert.match(pap.stdout, /Received Access-Accept/);
      assert.match(pap.stdout, /Session-Timeout = 7200/);
      const chap = await radclient(auth, "auth", 'User-Name = "carol"\nCHAP-Password = "carolpass"');
      assert.match(chap.stdout, /Received Access-Reject/);
      const chapDave = await radclient(auth, "auth", 'User-Name = "dave"\nCHAP-Password = "davepass"');
      assert.match(chapDave.stdout, /Received Access-Accept/);

      assert.equal((await runCli(tally.configPath, ["users", "remove", "carol"])).code, 0);
      const gone = await radclient(auth, "auth", 'User-Name = "carol"\nUser-Password = "carolpass"');
      assert.match(gone.stdout, /Received Access-Reject/);
      const again = await runCli(tally.configPath, ["users", "remove", "carol"]);
      assert.equal(again.code, 2);
    } finally {
      await tally.cleanup();
    }
  });

  it("radius send talks to a running Tally; usage sums the session per day", async () => {
    const tally = await startTally();
    try {
      const server = ["--server", `127.0.0.1:${tally.authPort}`];
      const ok = await runCli(tally.configPath, ["radius", "send", "auth", ...server, "User-Name=alice", "User-Password=alicepass"]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /Access-Accept/);
      assert.match(ok.stdout, /Session-Timeout = 3600/);
      const chap = await runCli(tally.configPath, ["radius", "send", "auth", "--chap", ...server, "User-Name=alice", "User-Password=alicepass"]);
      assert.equal(chap.code, 0, chap.stdout + chap.stderr);
      const bad = await runCli(tally.configPath, ["radius", "send", "auth", ...server, "User-Name=alice", "User-Password=x"]);
      assert.equal(bad.code, 1);
      assert.match(bad.stdout, /Access-Reject/);

      const acct = ["--server", `127.0.0.1:${tally.acctPort}`];
      const base = ["User-Name=alice", "Acct-Session-Id=cli-1", "NAS-Identifier=cli-nas"];
      assert.equal((await runCli(tally.configPath, ["radius", "send", "acct", ...acct, "Acct-Status-Type=Start", ...base])).code, 0);
      const stop = await runCli(tally.configPath, [
        "radius", "send", "acct", ...acct, "Acct-Status-Type=Stop", ...base,
        "Acct-Input-Octets=1000", "Acct-Output-Octets=2000", "Acct-Session-Time=30",
      ]);
      assert.equal(stop.code, 0, stop.stderr);
      assert.match(stop.stdout, /Accounting-Response/);
      const usage = JSON.parse(await tally.cli(["usage", "--user", "alice", "--json"])) as { inputOctets: number; outputOctets: number; sessions: number; days: { day: string }[] };
      assert.equal(usage.inputOctets, 1000);
      assert.equal(usage.outputOctets, 2000);
      assert.equal(usage.sessions, 1);
      assert.equal(usage.days.length, 1);
      assert.equal(usage.days[0]!.day, new Date().toISOString().slice(0, 10));
      const table = await tally.cli(["sessions"]);
      assert.match(table, /^ID\s+USER\s+NAS/);
      assert.match(table, /cli-1\s+closed/);

      const silent = await runCli(tally.configPath, ["radius", "send", "acct", "--server", "127.0.0.1:9", "--timeout", "0.3", "--retries", "0", "Acct-Status-Type=Start", ...base]);
      assert.equal(silent.code, 3);
      assert.match(silent.stderr, /no answer/);
    } finally {
      await tally.cleanup();
    }
  });

  it("plugins list shows the configured plugins; plugin test runs one hook on a record; a bad option is one clear line", async () => {
    const dir = makeTempDir();
    const configPath = join(dir, "tally.yaml");
    try {
      writeFileSync(configPath, JSON.stringify({ radius: { auth: null, acct: null }, plugins: [{ module: "quota", options: { bytes: 1000, period: "total" } }, { module: "seed-demo", timeout: 1 }] }));
      const list = JSON.parse((await runCli(configPath, ["plugins", "list", "--json"])).stdout) as { name: string; hooks: string[]; timeoutMs: number }[];
      assert.deepEqual(list.map((p) => [p.name, p.hooks.includes("accounting"), p.timeoutMs]), [
        ["quota", true, 2000],
        ["seed-demo", true, 1000],
      ]);
      writeFileSync(join(dir, "rec.json"), JSON.stringify({ kind: "interim", user: "alice", sessionId: "s1", inputOctets: 5000, sessionTime: 60 }));
      const over = await runCli(configPath, ["plugin", "test", "quota", "--options", '{"bytes":1000,"period":"total"}', "--record", join(dir, "rec.json")]);
      assert.equal(over.code, 0, over.stderr);
      assert.deepEqual(JSON.parse(over.stdout), { status: "disconnect", reason: "quota: quota exhausted" });
      const under = await runCli(configPath, ["plugin", "test", "quota", "--options", '{"bytes":100000,"period":"total"}', "--record", join(dir, "rec.json")]);
      assert.equal(JSON.parse(under.stdout).status, "ok");
      const bad = await runCli(configPath, ["plugin", "test", "quota", "--options", '{"byts":1}', "--record", join(dir, "rec.json")]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /^tally: plugins\[0\] \(quota\): quota: options\.byts: unknown option/);
      assert.doesNotMatch(bad.stderr, /at loadOne/, "no stack trace");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
