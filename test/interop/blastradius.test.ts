// BlastRADIUS (CVE-2024-3596) per client, against a real `tally serve` with pyrad (python3-pyrad)
// as the NAS: requireMessageAuthenticator and limitProxyState as true, false and "auto" (the
// default, with FreeRADIUS 3.2.5+'s rules), each client on its own loopback source address so
// that what "auto" learns for one does not leak into another.

import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BASE_CONFIG, makeTempDir, python, runCli, SECRET, startTally, type TallyProcess } from "./harness.ts";

const script = join(import.meta.dirname, "pyrad", "client.py");

interface Reply {
  code: number | null;
  replyMessageAuthenticatorValid?: boolean | null;
  firstAttribute?: number | null;
  proxyState?: string[];
}

const ACCEPT = 2;
const MESSAGE_AUTHENTICATOR = 80;

const clients = [
  { name: "auto-nas", address: "127.0.0.11", secret: SECRET },
  { name: "strict", address: "127.0.0.12", secret: SECRET, requireMessageAuthenticator: true, limitProxyState: false },
  { name: "lax", address: "127.0.0.13", secret: SECRET, requireMessageAuthenticator: false, limitProxyState: false },
  { name: "limited", address: "127.0.0.14", secret: SECRET, requireMessageAuthenticator: false, limitProxyState: true },
  { name: "auto-first-plain", address: "127.0.0.15", secret: SECRET, requireMessageAuthenticator: false },
  { name: "auto-proxy", address: "127.0.0.16", secret: SECRET },
];

describe("BlastRADIUS per client (pyrad against tally serve)", () => {
  let tally: TallyProcess;

  /** One Access-Request for alice from `source`; opts: "--no-ma", "--proxy-state", HEX. */
  async function auth(source: string, opts: string[] = [], secret = SECRET): Promise<Reply> {
    const out = await python(script, ["auth", "127.0.0.1", String(tally.authPort), secret, "alice", "alicepass", ...opts, "--source", source]);
    return JSON.parse(out) as Reply;
  }
  const dropLog = (client: string, reason: string) => tally.waitForLog((l) => l.client === client && l.reason === reason);
  const countDrops = (client: string, reason: string) => tally.logs.filter((l) => l.client === client && l.reason === reason).length;

  before(async () => {
    tally = await startTally({ ...BASE_CONFIG, clients });
  });
  after(async () => {
    await tally.cleanup();
  });

  it("auto (the default): accepted without Message-Authenticator until the client sends one, then required", async () => {
    const first = await auth("127.0.0.11", ["--no-ma"]);
    assert.equal(first.code, ACCEPT, "no Message-Authenticator yet: accepted");
    assert.equal(first.firstAttribute, MESSAGE_AUTHENTICATOR, "the Access-Accept carries Message-Authenticator first");
    assert.equal(first.replyMessageAuthenticatorValid, true);
    assert.equal((await auth("127.0.0.11", ["--no-ma"])).code, ACCEPT, "still accepted: nothing learnt yet");
    assert.equal(countDrops("auto-nas", "missing-message-authenticator"), 0, "no drop so far");

    assert.equal((await auth("127.0.0.11")).code, ACCEPT, "with a valid Message-Authenticator: accepted");
    const switched = await tally.waitForLog((l) => l.client === "auto-nas" && l.requireMessageAuthenticator === true);
    assert.equal(switched.level, 30, "logged at info");

    const after = await auth("127.0.0.11", ["--no-ma"]);
    assert.equal(after.code, null, "without Message-Authenticator now: no answer");
    const drop = await dropLog("auto-nas", "missing-message-authenticator");
    assert.equal(drop.requireMessageAuthenticator, "auto", "the drop names the client's setting");
    assert.equal((await auth("127.0.0.11")).code, ACCEPT, "with one: still accepted");
    assert.equal(tally.logs.filter((l) => l.client === "auto-nas" && l.requireMessageAuthenticator === true).length, 1, "the switch is logged once");
  });

  it("true: dropped without Message-Authenticator from the first request on; accepted with one", async () => {
    assert.equal((await auth("127.0.0.12", ["--no-ma"])).code, null, "no answer");
    await dropLog("strict", "missing-message-authenticator");
    assert.equal((await auth("127.0.0.12")).code, ACCEPT, "with Message-Authenticator: accepted");
  });

  it("false: accepted without, and after, a Message-Authenticator; a wrong one is still dropped", async () => {
    assert.equal((await auth("127.0.0.13", ["--no-ma"])).code, ACCEPT, "without: accepted");
    assert.equal((await auth("127.0.0.13")).code, ACCEPT, "with: accepted");
    assert.equal((await auth("127.0.0.13", ["--no-ma"])).code, ACCEPT, "without, after one was sent: still accepted");
    assert.equal((await auth("127.0.0.13", [], "not-the-secret")).code, null, "a Message-Authenticator made with another secret: no answer");
    await dropLog("lax", "bad-message-authenticator");
    assert.equal((await auth("127.0.0.13", ["--no-ma", "--proxy-state", "cafe"])).code, ACCEPT, "limitProxyState false: Proxy-State without Message-Authenticator accepted");
  });

  it("limitProxyState true: Proxy-State without Message-Authenticator dropped; with one it passes and is echoed", async () => {
    assert.equal((await auth("127.0.0.14", ["--no-ma", "--proxy-state", "cafe"])).code, null, "no answer");
    await dropLog("limited", "proxy-state-without-message-authenticator");
    const withMa = await auth("127.0.0.14", ["--proxy-state", "cafe"]);
    assert.equal(withMa.code, ACCEPT, "with Message-Authenticator: accepted");
    assert.deepEqual(withMa.proxyState, ["cafe"], "Proxy-State echoed in the reply");
    assert.equal((await auth("127.0.0.14", ["--no-ma"])).code, ACCEPT, "no Proxy-State, no Message-Authenticator: accepted (requireMessageAuthenticator false)");
  });

  it("limitProxyState auto, first request without Proxy-State (a NAS): later Proxy-State without Message-Authenticator dropped", async () => {
    assert.equal((await auth("127.0.0.15", ["--no-ma"])).code, ACCEPT, "the first request: accepted");
    const learnt = await tally.waitForLog((l) => l.client === "auto-first-plain" && l.limitProxyState === true && l.reason === undefined);
    assert.equal(learnt.level, 30, "logged at info");
    assert.equal((await auth("127.0.0.15", ["--no-ma", "--proxy-state", "beef"])).code, null, "Proxy-State without Message-Authenticator: no answer");
    await dropLog("auto-first-plain", "proxy-state-without-message-authenticator");
    const withMa = await auth("127.0.0.15", ["--proxy-state", "beef"]);
    assert.equal(withMa.code, ACCEPT, "Proxy-State with Message-Authenticator: accepted");
    assert.deepEqual(withMa.proxyState, ["beef"], "Proxy-State echoed");
  });

  it("limitProxyState auto, first request with Proxy-State (a proxy): Proxy-State without Message-Authenticator stays allowed", async () => {
    assert.equal((await auth("127.0.0.16", ["--no-ma", "--proxy-state", "0102"])).code, ACCEPT, "the first request: accepted");
    await tally.waitForLog((l) => l.client === "auto-proxy" && l.limitProxyState === false && l.reason === undefined);
    const again = await auth("127.0.0.16", ["--no-ma", "--proxy-state", "0304"]);
    assert.equal(again.code, ACCEPT, "a later Proxy-State without Message-Authenticator: accepted");
    assert.deepEqual(again.proxyState, ["0304"], "Proxy-State echoed");
    assert.equal(countDrops("auto-proxy", "proxy-state-without-message-authenticator"), 0, "never dropped");
  });
});

describe("BlastRADIUS config", () => {
  it('requireMessageAuthenticator: maybe is refused, naming the key and the allowed values', async () => {
    const dir = makeTempDir();
    const configPath = join(dir, "tally.yaml");
    writeFileSync(
      configPath,
      ["store: { sqlite: ./tally.db }", "clients:", "  - name: lab", "    address: 127.0.0.1", "    secret: testing123", "    requireMessageAuthenticator: maybe", ""].join("\n"),
    );
    const r = await runCli(configPath, ["sessions", "--json"]);
    rmSync(dir, { recursive: true, force: true });
    assert.notEqual(r.code, 0, "tally exits with an error");
    assert.match(r.stderr, /clients\[0\]\.requireMessageAuthenticator: expected true, false or "auto"/);
  });
});
