// The HTTP API over real HTTP against a real `tally serve` with its real store: tokens made by
// `tally tokens create` and taken on SIGHUP, sessions from Debian's radclient listed, filtered
// and paged, one session's timeline, usage by day, hour and month, NASes, the TACACS+ audit
// (Tally's TACACS+ client), the quota plugin's state with the usage, the live event stream, a disconnect that reaches a pyrad
// dynamic-authorization peer, reload, /healthz, and the OpenAPI document.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TacacsClient } from "../../src/tacacs/client.ts";
import { AcctFlag, AcctStatus } from "../../src/tacacs/constants.ts";
import { DasPeer } from "../interop/das-peer.ts";
import { BASE_CONFIG, radclient, runCli, SECRET, sleep, TACACS_KEY, startTally, until, type TallyProcess } from "../interop/harness.ts";

interface SessionJson {
  id: number;
  user: string | null;
  sessionId: string;
  status: string;
  nas: string;
  protocol: string;
  inputOctets: number;
  disconnect: string | null;
}

const acct = (fields: Record<string, string | number>) =>
  Object.entries(fields)
    .map(([k, v]) => `${k} = ${typeof v === "number" || /^[A-Z][A-Za-z-]+$/.test(v) ? v : `"${v}"`}`)
    .join("\n");

describe("HTTP API", () => {
  let tally: TallyProcess;
  let das: DasPeer;
  let base: string;
  let token: string;

  const api = async (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
    const t = init.token === undefined ? token : init.token;
    if (t !== null) headers.authorization = `Bearer ${t}`;
    if (init.body !== undefined) headers["content-type"] = "application/json";
    return fetch(`${base}${path}`, { ...init, headers });
  };
  const json = async <T>(path: string, init: RequestInit & { token?: string | null } = {}): Promise<T> => {
    const r = await api(path, init);
    assert.equal(r.status, 200, `${path}: ${r.status} ${await r.clone().text()}`);
    return (await r.json()) as T;
  };
  const send = async (sessionId: string, user: string, status: string, extra: Record<string, string | number> = {}) => {
    const r = await radclient(
      `127.0.0.1:${tally.acctPort}`,
      "acct",
      acct({ "User-Name": user, "NAS-IP-Address": "127.0.0.1", "NAS-Identifier": "api-nas", "Acct-Session-Id": sessionId, "Acct-Status-Type": status, ...extra }),
    );
    assert.match(r.stdout, /Received Accounting-Response/, r.stderr);
  };

  before(async () => {
    das = await DasPeer.start(["api-kick"], []);
    tally = await startTally({
      ...BASE_CONFIG,
      tacacs: { listen: "127.0.0.1:0" },
      clients: [{ name: "lab", address: "127.0.0.0/8", secret: SECRET, tacacsKey: TACACS_KEY, coa: { address: "127.0.0.1", port: das.port, timeout: 0.3, retries: 1 } }],
      users: [...BASE_CONFIG.users, { name: "bob", password: "bobpass" }],
      plugins: [{ module: "quota", options: { bytes: 1_000_000, period: "month", exempt: ["bob"] } }],
      http: { listen: "127.0.0.1:0" },
    });
    base = `http://127.0.0.1:${tally.httpPort}`;
  });
  after(async () => {
    das?.stop();
    await tally?.cleanup();
  });

  it("without a token: /healthz and the OpenAPI document answer, the data does not (401)", async () => {
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "ok" });
    const spec = (await (await fetch(`${base}/api/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(spec.openapi, "3.1.0");
    for (const p of ["/api/sessions", "/api/sessions/{id}", "/api/sessions/{id}/disconnect", "/api/users/{name}/usage", "/api/nas", "/api/audit", "/api/reload", "/api/events"]) {
      assert.ok(p in spec.paths, `the OpenAPI document describes ${p}`);
    }
    for (const t of [null, "not-a-token"]) {
      const r = await api("/api/sessions", { token: t });
      assert.equal(r.status, 401);
      assert.match(((await r.json()) as { error: string }).error, /bearer token/);
    }
  });

  it("tally tokens create prints a token once and keeps its hash; a reload (SIGHUP) makes it valid", async () => {
    const made = await runCli(tally.configPath, ["tokens", "create", "ops"]);
    assert.equal(made.code, 0, made.stderr);
    token = made.stdout.trim();
    assert.match(token, /^tally_[A-Za-z0-9_-]{43}$/);
    const listed = JSON.parse((await runCli(tally.configPath, ["tokens", "list", "--json"])).stdout) as { name: string }[];
    assert.deepEqual(listed.map((t) => t.name), ["ops"]);
    const { readFileSync } = await import("node:fs");
    assert.ok(!readFileSync(tally.configPath, "utf8").includes(token), "the config holds the hash, not the token");
    tally.child.kill("SIGHUP");
    await tally.waitForLog((l) => l.msg === "configuration reloaded");
    const r = await api("/api/sessions");
    assert.equal(r.status, 200);
    const again = await runCli(tally.configPath, ["tokens", "create", "ops"]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /a token named "ops" exists/);
  });

  it("sessions: filters, keyset pages that cover everything once, one session's records", async () => {
    await send("api-1", "alice", "Start");
    await send("api-2", "bob", "Start");
    await send("api-3", "alice", "Start");
    await send("api-1", "alice", "Interim-Update", { "Acct-Input-Octets": 1200, "Acct-Output-Octets": 3400, "Acct-Session-Time": 60 });
    await send("api-3", "alice", "Stop", { "Acct-Input-Octets": 10, "Acct-Session-Time": 5, "Acct-Terminate-Cause": "User-Request" });

    const all = await json<{ sessions: SessionJson[]; next: string | null }>("/api/sessions?nas=api-nas");
    assert.deepEqual(all.sessions.map((s) => s.sessionId), ["api-3", "api-1", "api-2"], "newest update first");
    assert.equal(all.next, null);
    const open = await json<{ sessions: SessionJson[] }>("/api/sessions?nas=api-nas&status=open&user=alice");
    assert.deepEqual(open.sessions.map((s) => s.sessionId), ["api-1"]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { sessions: SessionJson[]; next: string | null } = await json(`/api/sessions?nas=api-nas&limit=1${cursor ? `&cursor=${cursor}` : ""}`);
      assert.ok(page.sessions.length <= 1, "a page holds at most limit sessions");
      seen.push(...page.sessions.map((s) => s.sessionId));
      cursor = page.next;
    } while (cursor !== null);
    assert.deepEqual(seen, ["api-3", "api-1", "api-2"]);

    const one = await json<{ session: SessionJson; records: { kind: string; inputOctets: number | null }[] }>(`/api/sessions/${all.sessions[1]!.id}`);
    assert.equal(one.session.sessionId, "api-1");
    assert.equal(one.session.inputOctets, 1200);
    assert.deepEqual(one.records.map((r) => [r.kind, r.inputOctets]), [["start", null], ["interim", 1200]]);
  });

  it("bad parameters are 400 naming what was wrong; an unknown session is 404", async () => {
    const cases: [string, RegExp][] = [
      ["/api/sessions?status=gone", /status/],
      ["/api/sessions?limit=0", /limit/],
      ["/api/sessions?since=yesterday", /since: expected an ISO date/],
      ["/api/sessions?cursor=xyz", /cursor/],
      ["/api/users/alice/usage?by=week", /by/],
    ];
    for (const [path, message] of cases) {
      const r = await api(path);
      assert.equal(r.status, 400, path);
      assert.match(((await r.json()) as { error: string }).error, message, path);
    }
    const missing = await api("/api/sessions/999999");
    assert.equal(missing.status, 404);
  });

  it("usage by day, hour and month; NASes with their open sessions", async () => {
    for (const by of ["day", "hour", "month"]) {
      const u = await json<{ user: string; inputOctets: number; sessions: number; buckets: { period: string; inputOctets: number }[] }>(`/api/users/alice/usage?by=${by}`);
      assert.equal(u.user, "alice");
      assert.equal(u.inputOctets, 1210, `${by}: api-1's 1200 and api-3's 10`);
      assert.equal(u.buckets.reduce((a, b) => a + b.inputOctets, 0), 1210, `${by}: the buckets add up to the total`);
      const shape = { day: /^\d{4}-\d{2}-\d{2}$/, hour: /^\d{4}-\d{2}-\d{2}T\d{2}$/, month: /^\d{4}-\d{2}$/ }[by]!;
      assert.ok(u.buckets.every((b) => shape.test(b.period)), `${by} periods look like ${shape}: ${JSON.stringify(u.buckets)}`);
    }
    // The quota plugin's state comes with the usage.
    const withQuota = await json<{ quota: Record<string, unknown> }>("/api/users/alice/usage");
    assert.deepEqual(
      { limited: withQuota.quota.limited, period: withQuota.quota.period, limitBytes: withQuota.quota.limitBytes, usedBytes: withQuota.quota.usedBytes, exhausted: withQuota.quota.exhausted },
      { limited: true, period: "month", limitBytes: 1_000_000, usedBytes: 1210 + 3400, exhausted: false },
    );
    assert.equal(withQuota.quota.bytesLeft, 1_000_000 - 4610);
    assert.deepEqual((await json<{ quota: Record<string, unknown> }>("/api/users/bob/usage")).quota, { limited: false, exempt: true });
    const nas = await json<{ nas: { nas: string; protocol: string; openSessions: number; sessions: number; lastSeen: string }[] }>("/api/nas");
    const row = nas.nas.find((n) => n.nas === "api-nas");
    assert.ok(row, "api-nas is listed");
    assert.deepEqual([row.protocol, row.openSessions, row.sessions], ["radius", 2, 3]);
    assert.ok(!Number.isNaN(Date.parse(row.lastSeen)), "lastSeen is an ISO time");
  });

  it("the TACACS+ command audit", async () => {
    const client = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY });
    const r = await client.account({ user: "bob", port: "tty3", remAddr: "198.51.100.4", flags: AcctFlag.Stop, args: ["task_id=7", "service=shell", "cmd=show", "cmd-arg=version", "cmd-arg=<cr>"] });
    assert.equal(r.status, AcctStatus.Success);
    const audit = await json<{ commands: { user: string; command: string }[] }>("/api/audit?user=bob");
    assert.deepEqual(audit.commands.map((c) => [c.user, c.command]), [["bob", "show version"]]);
  });

  it("the event stream sends a session as soon as accounting changes it", async () => {
    const controller = new AbortController();
    const r = await api("/api/events", { signal: controller.signal });
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /text\/event-stream/);
    const reader = r.body!.getReader();
    let text = "";
    const received = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return null;
        text += Buffer.from(value).toString("utf8");
        const m = /event: session\ndata: (.*"sessionId":"api-live".*)\n\n/.exec(text);
        if (m) return JSON.parse(m[1]!) as SessionJson;
      }
    })();
    await sleep(100);
    await send("api-live", "alice", "Start");
    const live = await Promise.race([received, sleep(5000).then(() => null)]);
    controller.abort();
    assert.ok(live, `a session event for api-live within 5 s; the stream said: ${text.slice(0, 500)}`);
    assert.equal(live.status, "open");
    assert.equal(live.user, "alice");
  });

  it("disconnect: the pyrad peer gets the Disconnect-Request, the session says acknowledged; a closed session is 409", async () => {
    await send("api-kick", "bob", "Start", { "Framed-IP-Address": "10.9.0.7" });
    const { sessions } = await json<{ sessions: SessionJson[] }>("/api/sessions?user=bob&status=open&nas=api-nas");
    const target = sessions.find((s) => s.sessionId === "api-kick")!;
    const out = await json<{ outcome: string; session: SessionJson; detail: string }>(`/api/sessions/${target.id}/disconnect`, {
      method: "POST",
      body: JSON.stringify({ reason: "from the API test" }),
    });
    assert.equal(out.outcome, "acknowledged", out.detail);
    assert.equal(out.session.disconnect, "acknowledged");
    const seen = await das.waitFor((q) => q.sessionId === "api-kick");
    assert.equal(seen.code, 40, "a Disconnect-Request");
    assert.equal(seen.authenticatorValid, true);

    const closed = (await json<{ sessions: SessionJson[] }>("/api/sessions?status=closed&nas=api-nas")).sessions[0]!;
    const r = await api(`/api/sessions/${closed.id}/disconnect`, { method: "POST", body: "{}" });
    assert.equal(r.status, 409);
  });

  it("reload: 200 on a good config, 422 with the reason on a bad one (the running one stays)", async () => {
    assert.deepEqual(await json("/api/reload", { method: "POST" }), { reloaded: true });
    const { readFileSync, writeFileSync } = await import("node:fs");
    const good = readFileSync(tally.configPath, "utf8");
    writeFileSync(tally.configPath, `${good}\nbogus: 1\n`);
    try {
      const r = await api("/api/reload", { method: "POST" });
      assert.equal(r.status, 422);
      assert.match(((await r.json()) as { error: string }).error, /reload failed.*bogus/s);
      await until(2000, "still serving", async () => ((await api("/api/nas")).status === 200 ? true : undefined));
    } finally {
      writeFileSync(tally.configPath, good);
    }
  });
});
