// The logger's second line of defence: fields named like secrets are censored at the top level
// and one level down, in the root logger and in children (plugins log through children).

import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { createLogger } from "../../src/log.ts";

test("password, secret, key, token and authorization fields are censored; other fields are kept", () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger("info", sink);
  logger.info({ user: "alice", password: "pw-1", secret: "s-2", request: { password: "pw-3", tacacsKey: "k-4", user: "bob" }, headers: { authorization: "Bearer t-5" } }, "one");
  logger.child({ plugin: "mine" }).warn({ token: "t-6", options: { key: "k-7", passphrase: "p-8" } }, "two");
  const text = lines.join("");
  for (const s of ["pw-1", "s-2", "pw-3", "k-4", "t-5", "t-6", "k-7", "p-8"]) assert.ok(!text.includes(s), `${s} censored`);
  const [one, two] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(one!.user, "alice");
  assert.deepEqual(one!.request, { password: "[redacted]", tacacsKey: "[redacted]", user: "bob" });
  assert.equal(two!.plugin, "mine");
  assert.equal(two!.token, "[redacted]");
});
