// The logger's second line of defence: fields named like secrets are censored at the top level
// and in an Authorization header, in the root logger and in children (plugins log through
// children). Deeper fields are not looked at (that cost every log line 15 %).

import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { createLogger } from "../../src/log.ts";

test("password, secret, key, token and authorization fields are censored at the top level and in headers; other fields are kept", () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger("info", sink);
  logger.info({ user: "alice", password: "pw-1", secret: "s-2", tacacsKey: "k-4", headers: { authorization: "Bearer t-5", host: "h" } }, "one");
  logger.child({ plugin: "mine" }).warn({ token: "t-6", key: "k-7", passphrase: "p-8", req: { headers: { authorization: "Bearer t-9" } } }, "two");
  const text = lines.join("");
  for (const s of ["pw-1", "s-2", "k-4", "t-5", "t-6", "k-7", "p-8", "t-9"]) assert.ok(!text.includes(s), `${s} censored`);
  const [one, two] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(one!.user, "alice");
  assert.equal(one!.password, "[redacted]");
  assert.deepEqual(one!.headers, { authorization: "[redacted]", host: "h" });
  assert.equal(two!.plugin, "mine");
  assert.equal(two!.token, "[redacted]");
});
