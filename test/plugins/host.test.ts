// The plugin host on its own: how decisions of several plugins combine, what a plugin that
// throws or hangs turns into, the order of authentication, and load errors that name the
// plugin. Plugins are real modules loaded by path; the store is a real SQLite file in memory.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import type { PluginConfig } from "../../src/config/load.ts";
import type { AuthenticateRequest } from "../../src/plugins/api.ts";
import { PluginHost, PluginLoadError } from "../../src/plugins/host.ts";
import { storeView } from "../../src/plugins/store-view.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { rec } from "../store/fixtures.ts";

const probePath = join(import.meta.dirname, "fixtures", "probe.ts");
const store = SqliteStore.open(":memory:");
const logger = pino({ level: "silent" });

function probe(name: string, options: Record<string, unknown>, timeoutMs = 2000): PluginConfig {
  return { module: probePath, resolved: { path: probePath }, options: { name, ...options }, timeoutMs, baseDir: "/" };
}

async function host(...configs: PluginConfig[]): Promise<PluginHost> {
  return PluginHost.load(configs, storeView(store), logger);
}

const interim = rec({ kind: "interim", sessionId: "h-1", user: "alice" });
const request = (user: string): AuthenticateRequest => ({
  protocol: "radius",
  user,
  method: "pap",
  password: "x",
  verifyPassword: (c) => c === "x",
  client: "lab",
  nas: null,
  clientAddress: null,
  attributes: [],
});

describe("plugin host", () => {
  after(() => store.close());

  it("accounting: error wins over disconnect wins over ok; the smallest interval wins", async () => {
    const h = await host(probe("a", { acctStatus: "ok", acctInterval: 300 }), probe("b", { acctStatus: "disconnect", acctInterval: 30 }), probe("c", { acctInterval: 60 }));
    const d = await h.accounting(interim, null, false, "k1");
    assert.deepEqual(d, { status: "disconnect", interimInterval: 30, reason: "b: b says disconnect" });
    const h2 = await host(probe("a", { acctStatus: "disconnect" }), probe("b", { acctStatus: "error" }));
    assert.equal((await h2.accounting(interim, null, false, "k2")).status, "error");
    await h.close();
    await h2.close();
  });

  it("disconnect on a start or stop is ignored (ok)", async () => {
    const h = await host(probe("a", { acctStatus: "disconnect" }));
    assert.equal((await h.accounting(rec({ kind: "start", sessionId: "h-2" }), null, false, "k3")).status, "ok");
    assert.equal((await h.accounting(rec({ kind: "stop", sessionId: "h-2" }), null, false, "k3")).status, "ok");
    await h.close();
  });

  it("a plugin that throws or hangs yields error for that call, is counted, and the next call works", async () => {
    const h = await host(probe("thrower", { throwUser: "boom" }), probe("hanger", { hangUser: "stuck" }, 200));
    assert.equal((await h.accounting(rec({ kind: "interim", sessionId: "t-1", user: "boom" }), null, false, "t1")).status, "error");
    assert.equal((await h.accounting(rec({ kind: "interim", sessionId: "t-2", user: "stuck" }), null, false, "t2")).status, "error");
    assert.equal((await h.accounting(interim, null, false, "t3")).status, "ok");
    const [thrower, hanger] = h.list();
    assert.equal(thrower!.stats.accounting.errors, 1);
    assert.equal(hanger!.stats.accounting.timeouts, 1);
    assert.equal(hanger!.stats.accounting.calls, 3);
  });

  it("authenticate: the first plugin with an opinion decides; intervals from next answers carry over, the smallest wins", async () => {
    const h = await host(probe("first", { rejectUser: "eve", authInterval: 90 }), probe("second", { acceptUser: "alice", authInterval: 45 }));
    assert.deepEqual(await h.authenticate(request("eve")), { status: "reject", reply: {}, reason: "first: probe rejects this user" });
    const alice = await h.authenticate(request("alice"));
    assert.equal(alice.status, "accept");
    assert.deepEqual(alice.reply, { "Filter-Id": "second" });
    assert.equal(alice.interimInterval, 90, "the first plugin's next set 90; the accept set none");
    const bob = await h.authenticate(request("bob"));
    assert.equal(bob.status, "next");
    assert.equal(bob.interimInterval, 45, "the smaller of 90 and 45");
    await h.close();
  });

  it("load errors name the plugin; duplicate names are refused", async () => {
    await assert.rejects(
      PluginHost.load([{ module: "nope", resolved: { builtin: "nope" }, options: {}, timeoutMs: 1000, baseDir: "/" }], storeView(store), logger),
      (e: Error) => e instanceof PluginLoadError && /plugins\[0\] \(nope\): no built-in plugin of that name/.test(e.message),
    );
    await assert.rejects(host(probe("same", {}), probe("same", {})), /two plugins are named "same"/);
  });
});
