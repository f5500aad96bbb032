// The user directory: config users before stored users, group replies merged under the user's
// own, TACACS+ rules in order (user first, then groups), passwords checked in clear or scrypt.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hashPassword } from "../../src/auth/password.ts";
import { UserDirectory } from "../../src/auth/users.ts";
import { parseConfigText } from "../../src/config/load.ts";
import type { StoredUser } from "../../src/store/store.ts";

const config = parseConfigText(
  "/tmp/tally.yaml",
  `groups:
  - { name: staff, reply: { Filter-Id: staff, Session-Timeout: 100 }, tacacs: { shell: { priv-lvl: 1 } } }
  - { name: netops, reply: { Filter-Id: ops }, tacacs: { shell: { priv-lvl: 15 } } }
users:
  - name: alice
    password: alicepass
    groups: [staff, netops]
    reply: { Session-Timeout: 3600 }
    tacacs: { commands: [{ match: "^reload", permit: true }] }
`,
);

const stored = new Map<string, StoredUser>([
  ["alice", { name: "alice", password: { cleartext: "shadowed" }, reply: {}, groups: [] }],
  ["carol", { name: "carol", password: { scrypt: hashPassword("carolpass") }, reply: { "Idle-Timeout": 60 }, groups: ["staff", "gone"] }],
]);
const directory = new UserDirectory(config.users, config.groups, { getUser: async (name) => stored.get(name) ?? null });

describe("user directory", () => {
  it("a config user wins over a stored user of the same name", async () => {
    const alice = await directory.find("alice");
    assert.equal(alice!.source, "config");
    assert.ok(UserDirectory.checkPassword(alice!, Buffer.from("alicepass")), "UserDirectory.checkPassword(alice!, Buffer.from(\"alicepass\"))");
    assert.ok(!UserDirectory.checkPassword(alice!, Buffer.from("shadowed")), "!UserDirectory.checkPassword(alice!, Buffer.from(\"shadowed\"))");
  });

  it("merges group replies in order under the user's own reply", async () => {
    const alice = await directory.find("alice");
    assert.deepEqual(alice!.reply, { "Filter-Id": "ops", "Session-Timeout": 3600 });
  });

  it("orders TACACS+ rules: the user's own, then each group's", async () => {
    const alice = await directory.find("alice");
    assert.equal(alice!.tacacs.length, 3);
    assert.equal(alice!.tacacs[0]!.commands[0]!.source, "users[0].tacacs.commands[0] (user alice)");
    assert.deepEqual(alice!.tacacs[1]!.shell, { "priv-lvl": "1" });
    assert.deepEqual(alice!.tacacs[2]!.shell, { "priv-lvl": "15" });
  });

  it("stored users: scrypt passwords, groups from the config, unknown groups ignored", async () => {
    const carol = await directory.find("carol");
    assert.equal(carol!.source, "store");
    assert.equal(carol!.cleartext, null);
    assert.ok(UserDirectory.checkPassword(carol!, Buffer.from("carolpass")), "UserDirectory.checkPassword(carol!, Buffer.from(\"carolpass\"))");
    assert.ok(!UserDirectory.checkPassword(carol!, Buffer.from("carolpas")), "!UserDirectory.checkPassword(carol!, Buffer.from(\"carolpas\"))");
    assert.deepEqual(carol!.reply, { "Filter-Id": "staff", "Session-Timeout": 100, "Idle-Timeout": 60 });
    assert.equal(carol!.tacacs.length, 1);
    assert.equal(await directory.find("nobody"), null);
  });
});
