// No secret, password or token ever appears in a log line, an HTTP API response or a CLI's
// output. A real `tally serve` at log level trace is given distinctive secrets everywhere they
// can be configured (RADIUS secret inline and from a file, CoA secret, TACACS+ key, user and
// enable passwords, an HTTP token), then driven through what makes it log: radclient PAP and
// CHAP logins right and wrong, accounting, a packet signed with another secret, TACACS+ PAP,
// ASCII and enable logins right and wrong, authorization and accounting, a client with a wrong
// key, every API endpoint with the right token and a wrong one, reloads with the secrets on the
// lines that break the config (a YAML syntax error, a wrong type), `tally config check` on that
// file. Then every byte Tally wrote to stderr and stdout, every API response and every CLI
// output is searched for each secret, as text, hex and base64, and for serialized Buffers.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { TacacsClient } from "../../src/tacacs/client.ts";
import { AcctFlag, AcctStatus, AuthenStatus } from "../../src/tacacs/constants.ts";
import { makeTempDir, radclient, runCli, startTally, type TallyProcess } from "./harness.ts";

const SECRETS = {
  radiusSecret: "S3cr-radius-Q7xw",
  fileSecret: "S3cr-filesecret-B6cz",
  coaSecret: "S3cr-coa-V5nq",
  tacacsKey: "S3cr-tacacs-K9pe",
  alicePassword: "S3cr-alicepw-M2vr",
  wrongPassword: "S3cr-wrongpw-Z4ta",
  bobPassword: "S3cr-bobpw-T3ku",
  bobEnable: "S3cr-enable-R8wy",
  token: "S3cr-token-H1jdLwq0",
  wrongToken: "S3cr-badtoken-G5fm",
  reloadBroken: "S3cr-in-broken-config-U2lo",
};

/** Every spelling of a secret that could leak: the text, its hex and base64, and the UTF-8 bytes as a JSON array. */
function spellings(secret: string): string[] {
  const b = Buffer.from(secret, "utf8");
  return [secret, b.toString("hex"), b.toString("base64").replace(/=+$/, ""), b.toString("base64url").replace(/=+$/, ""), JSON.stringify([...b]).slice(1, -1)];
}

describe("no secret, password or token in logs, API responses or CLI output", () => {
  let tally: TallyProcess;
  const seen: { where: string; text: string }[] = [];
  const dir = makeTempDir("tally-secrets-");
  const secretFile = join(dir, "nas2.secret");
  writeFileSync(secretFile, `${SECRETS.fileSecret}\n`);
  const config = {
    store: { sqlite: "./tally.db" },
    radius: { auth: "127.0.0.1:0", acct: "127.0.0.1:0" },
    tacacs: { listen: "127.0.0.1:0" },
    clients: [
      { name: "lab", address: "127.0.0.1/32", secret: SECRETS.radiusSecret, tacacsKey: SECRETS.tacacsKey, coa: { secret: SECRETS.coaSecret, port: 9 } },
      { name: "nas2", address: "127.0.0.2/32", secret: { file: secretFile } },
    ],
    users: [
      { name: "alice", password: SECRETS.alicePassword },
      { name: "bob", password: SECRETS.bobPassword, enable: SECRETS.bobEnable, tacacs: { shell: { "priv-lvl": 15 }, commands: [{ match: "^show ", permit: true }] } },
    ],
    http: { listen: "127.0.0.1:0", tokens: [{ name: "ops", sha256: createHash("sha256").update(SECRETS.token).digest("hex") }] },
    log: { level: "trace" },
  };
  const api = async (path: string, token: string, init: RequestInit = {}) => {
    const res = await fetch(`http://127.0.0.1:${tally.httpPort}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) } });
    const text = await res.text();
    seen.push({ where: `${init.method ?? "GET"} ${path} (${res.status})`, text: `${JSON.stringify([...res.headers])}\n${text}` });
    return { status: res.status, text };
  };
  const cli = async (args: string[]) => {
    const r = await runCli(tally.configPath, args);
    seen.push({ where: `tally ${args.join(" ")}`, text: r.stdout + r.stderr });
    return r;
  };

  before(async () => {
    tally = await startTally(config, dir);
    const auth = `127.0.0.1:${tally.authPort}`;
    const acct = `127.0.0.1:${tally.acctPort}`;
    // RADIUS: right and wrong PAP and CHAP, accounting, and a request signed with another secret.
    for (const [input, extra] of [
      [`User-Name = "alice"\nUser-Password = "${SECRETS.alicePassword}"\n`, []],
      [`User-Name = "alice"\nUser-Password = "${SECRETS.wrongPassword}"\n`, []],
      [`User-Name = "alice"\nCHAP-Password = "${SECRETS.alicePassword}"\n`, []],
      [`User-Name = "alice"\nCHAP-Password = "${SECRETS.wrongPassword}"\n`, []],
      [`User-Name = "mallory"\nUser-Password = "${SECRETS.wrongPassword}"\n`, []],
    ] as const) {
      const r = await radclient(auth, "auth", input, [...extra], SECRETS.radiusSecret);
      assert.ok(/Received Access-(Accept|Reject)/.test(r.stdout), `answered: ${r.stdout}`);
    }
    const started = await radclient(acct, "acct", 'User-Name = "alice"\nAcct-Status-Type = Start\nAcct-Session-Id = "sec-1"\nNAS-IP-Address = 127.0.0.1\n', [], SECRETS.radiusSecret);
    assert.equal(started.code, 0, started.stderr);
    await radclient(auth, "auth", `User-Name = "alice"\nUser-Password = "${SECRETS.alicePassword}"\n`, ["-r", "1", "-t", "1"], "not-the-secret");
    await tally.waitForLog((l) => l.reason === "bad-authenticator" || l.reason === "bad-message-authenticator" || l.msg === "access request", 5000);

    // TACACS+: PAP, ASCII and enable, right and wrong; authorization; accounting; a wrong key.
    const client = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: SECRETS.tacacsKey });
    try {
      assert.equal((await client.authenPap("bob", SECRETS.bobPassword)).status, AuthenStatus.Pass);
      assert.equal((await client.authenPap("bob", SECRETS.wrongPassword)).status, AuthenStatus.Fail);
      assert.equal((await client.authenAscii("bob", SECRETS.bobPassword)).reply.status, AuthenStatus.Pass);
      assert.equal((await client.authenAscii(null, SECRETS.wrongPassword, { answers: ["bob"] })).reply.status, AuthenStatus.Fail);
      assert.equal((await client.authenEnable("bob", SECRETS.bobEnable, 15)).status, AuthenStatus.Pass);
      assert.equal((await client.authenEnable("bob", SECRETS.wrongPassword, 15)).status, AuthenStatus.Fail);
      assert.equal((await client.authenChap("bob", SECRETS.bobPassword)).status, AuthenStatus.Pass);
      await client.authorize({ user: "bob", args: ["service=shell", "cmd=show", "cmd-arg=version"] });
      assert.equal((await client.account({ user: "bob", flags: AcctFlag.Stop, args: ["task_id=1", "service=shell", "cmd=show", "cmd-arg=version"] })).status, AcctStatus.Success);
    } finally {
      await client.close();
    }
    const wrongKey = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: "not-the-key", timeout: 2 });
    await wrongKey.authenPap("bob", SECRETS.bobPassword).catch(() => undefined);
    await wrongKey.close();
    await tally.waitForLog((l) => l.reason === "bad-key-or-malformed");

    // The HTTP API: every GET endpoint with the token, and with a wrong one.
    const openapi = JSON.parse((await api("/api/openapi.json", SECRETS.token)).text) as { paths: Record<string, Record<string, unknown>> };
    const sessions = JSON.parse((await api("/api/sessions", SECRETS.token)).text) as { sessions: { id: number }[] };
    const id = sessions.sessions[0]?.id;
    assert.ok(id !== undefined, "a session to look at");
    for (const [path, methods] of Object.entries(openapi.paths)) {
      if (!("get" in methods) || path === "/api/events") continue;
      const concrete: string = path.replace("{id}", String(id)).replace("{name}", "alice");
      assert.equal((await api(concrete, SECRETS.token)).status, 200, concrete);
      assert.equal((await api(concrete, SECRETS.wrongToken)).status === 200, concrete === "/healthz" || concrete === "/metrics" || concrete === "/api/openapi.json", `${concrete} with a wrong token`);
    }
    for (const path of ["/healthz", "/metrics"]) await api(path, SECRETS.token);
    // Server-sent events: the first bytes only.
    const events = await fetch(`http://127.0.0.1:${tally.httpPort}/api/events`, { headers: { authorization: `Bearer ${SECRETS.token}` } });
    const reader = events.body!.getReader();
    const first = await reader.read();
    seen.push({ where: "GET /api/events", text: Buffer.from(first.value ?? new Uint8Array()).toString() });
    await reader.cancel();
    await api(`/api/sessions/${id}/disconnect`, SECRETS.token, { method: "POST" });

    // Reloads that fail on the lines holding secrets, over the API and with SIGHUP; then the CLI.
    const good = readFileSync(tally.configPath, "utf8");
    writeFileSync(tally.configPath, good.replace(`"password": "${SECRETS.alicePassword}"`, `"password": "${SECRETS.reloadBroken}`));
    assert.equal((await api("/api/reload", SECRETS.token, { method: "POST" })).status, 422);
    const check = await cli(["config", "check"]);
    assert.notEqual(check.code, 0, "config check fails on the broken file");
    writeFileSync(tally.configPath, good.replace(`"password": "${SECRETS.alicePassword}"`, `"password": ["${SECRETS.reloadBroken}"]`));
    assert.equal((await api("/api/reload", SECRETS.token, { method: "POST" })).status, 422);
    tally.child.kill("SIGHUP");
    await tally.waitForLog((l) => l.msg === "reload failed; keeping the running configuration");
    writeFileSync(tally.configPath, good);
    assert.equal((await api("/api/reload", SECRETS.token, { method: "POST" })).status, 200);
    for (const args of [["sessions", "--json"], ["audit", "--json"], ["records", "--session", String(id), "--json"], ["config", "check"], ["usage", "alice"], ["tokens", "list"]]) await cli(args);
  });
  after(async () => {
    await tally?.cleanup();
  });

  it("the run exercised what it meant to: logins, drops, reload failures and API calls are in the log", () => {
    const msgs = new Set(tally.logs.map((l) => String(l.msg)));
    for (const m of ["access request", "TACACS+ authentication", "TACACS+ authorization", "reload failed; keeping the running configuration", "configuration reloaded"]) {
      assert.ok(msgs.has(m), `logged "${m}"`);
    }
    assert.ok(tally.logs.some((l) => l.reason === "bad-key-or-malformed"), "the wrong TACACS+ key was logged as a drop");
    assert.ok(seen.length > 20, `${seen.length} API responses and CLI outputs collected`);
  });

  it("no secret in any form in the server's log", async () => {
    await tally.stop();
    const log = tally.logs.map((l) => JSON.stringify(l)).join("\n");
    assert.ok(log.length > 5000, "a log to search");
    for (const [name, secret] of Object.entries(SECRETS)) {
      for (const s of spellings(secret)) assert.ok(!log.includes(s), `${name} (as ${s}) in the log`);
    }
    assert.ok(!log.includes('"type":"Buffer"'), "no serialized Buffer in the log");
  });

  it("no secret in any API response or CLI output", () => {
    for (const { where, text } of seen) {
      for (const [name, secret] of Object.entries(SECRETS)) {
        for (const s of spellings(secret)) assert.ok(!text.includes(s), `${name} (as ${s}) in ${where}`);
      }
    }
  });
});
