// Config loading: defaults, secrets from env and files, and errors that name the file, the key
// and what was expected.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError, EXAMPLE_CONFIG, parseConfigText } from "../../src/config/load.ts";

const dir = mkdtempSync(join(tmpdir(), "tally-config-"));
const file = join(dir, "tally.yaml");

function problems(text: string): string[] {
  try {
    parseConfigText(file, text);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.ok(e.message.startsWith(`${file}: invalid configuration`), e.message);
    return e.problems;
  }
  assert.fail("expected a ConfigError");
}

describe("config", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("the example config is valid and has the documented shape", () => {
    const c = parseConfigText(file, EXAMPLE_CONFIG);
    assert.deepEqual(c.store, { sqlite: join(dir, "tally.db") }, "relative to the config file");
    assert.deepEqual(c.radius.auth, { host: "127.0.0.1", port: 1812 });
    assert.deepEqual(c.radius.acct, { host: "127.0.0.1", port: 1813 });
    assert.equal(c.clients[0]!.secret!.toString(), "testing123");
    assert.deepEqual(c.clients[0]!.address, { address: "127.0.0.0", prefix: 8, family: "ipv4" });
    assert.deepEqual(c.users[0]!.reply, { "Acct-Interim-Interval": 60, "Session-Timeout": 3600 });
    assert.equal(c.accounting.defaultInterimInterval, 300);
  });

  it("an empty file gets the embedded defaults", () => {
    const c = parseConfigText(file, "");
    assert.deepEqual(c.radius.auth, { host: "127.0.0.1", port: 1812 });
    assert.deepEqual(c.clients, []);
  });

  it("secrets from { env } and { file }", () => {
    process.env.TALLY_TEST_SECRET = "from-env";
    writeFileSync(join(dir, "secret.txt"), "from-file\n");
    const c = parseConfigText(
      file,
      `clients:
  - { name: a, address: 10.0.0.0/8, secret: { env: TALLY_TEST_SECRET } }
  - { name: b, address: "::1", secret: { file: secret.txt } }
users:
  - { name: u, password: { env: TALLY_TEST_SECRET } }
`,
    );
    assert.equal(c.clients[0]!.secret!.toString(), "from-env");
    assert.equal(c.clients[1]!.secret!.toString(), "from-file", "trailing newline dropped");
    assert.equal(c.clients[1]!.address.family, "ipv6");
    assert.equal(c.users[0]!.password, "from-env");
  });

  it("names the key and what was expected", () => {
    assert.deepEqual(problems("clients:\n  - { name: a, address: 10.0.0.0/33, secret: s }\n"), [
      'clients[0].address: expected an IP address or CIDR block, e.g. "192.0.2.10" or "10.0.0.0/8"',
    ]);
    assert.deepEqual(problems('radius: { auth: "localhost" }\n'), [
      'radius.auth: expected "ADDRESS:PORT", e.g. "127.0.0.1:1812" or "[::1]:1812"',
    ]);
    assert.deepEqual(problems("clients:\n  - { name: a, address: 10.0.0.1, secret: 5 }\n"), [
      "clients[0].secret: expected a string, { env: NAME } or { file: PATH }",
    ]);
    assert.deepEqual(problems("clients:\n  - { name: a, address: 10.0.0.1 }\n"), [
      'clients[0]: expected a RADIUS "secret", a TACACS+ "tacacsKey", a TLS "certificate", or several',
    ]);
    assert.deepEqual(problems("stroe: {}\n"), ['(top level): unknown key "stroe"']);
    assert.match(problems("accounting: { defaultInterimInterval: -1 }\n")[0]!, /^accounting\.defaultInterimInterval: /);
  });

  it("BlastRADIUS settings: auto by default, true and false still accepted, anything else named", () => {
    const c = parseConfigText(file, "clients:\n  - { name: a, address: 10.0.0.1, secret: s }\n  - { name: b, address: 10.0.0.2, secret: s, requireMessageAuthenticator: true, limitProxyState: false }\n");
    assert.equal(c.clients[0]!.requireMessageAuthenticator, "auto");
    assert.equal(c.clients[0]!.limitProxyState, "auto");
    assert.equal(c.clients[1]!.requireMessageAuthenticator, true);
    assert.equal(c.clients[1]!.limitProxyState, false);
    assert.deepEqual(problems("clients:\n  - { name: a, address: 10.0.0.1, secret: s, requireMessageAuthenticator: maybe }\n"), [
      'clients[0].requireMessageAuthenticator: expected true, false or "auto"',
    ]);
    assert.deepEqual(problems("clients:\n  - { name: a, address: 10.0.0.1, secret: s, limitProxyState: yes }\n"), [
      'clients[0].limitProxyState: expected true, false or "auto"',
    ]);
  });

  it("names a missing env variable or secret file", () => {
    delete process.env.TALLY_TEST_MISSING;
    assert.deepEqual(problems("clients:\n  - { name: a, address: 10.0.0.1, secret: { env: TALLY_TEST_MISSING } }\n"), [
      "clients[0].secret: environment variable TALLY_TEST_MISSING is not set",
    ]);
    const p = problems("users:\n  - { name: a, password: { file: nope.txt } }\n");
    assert.match(p[0]!, /^users\[0\]\.password: cannot read secret file .*nope\.txt: ENOENT$/);
  });

  it("refuses duplicate client and user names", () => {
    const p = problems(
      "clients:\n  - { name: a, address: 10.0.0.1, secret: s }\n  - { name: a, address: 10.0.0.2, secret: s }\nusers:\n  - { name: u, password: p }\n  - { name: u, password: q }\n",
    );
    assert.equal(p.length, 2);
    assert.match(p[0]!, /^clients\[1\]\.name: "a" is used by an earlier client/);
    assert.match(p[1]!, /^users\[1\]\.name: "u" is defined twice/);
  });

  it("TACACS+: listener, keys, groups and their rules", () => {
    const c = parseConfigText(
      file,
      `tacacs: { listen: "127.0.0.1:49", idleTimeout: 30 }
clients:
  - { name: sw, address: 10.1.0.0/16, tacacsKey: k }
groups:
  - name: netops
    reply: { Filter-Id: ops }
    tacacs:
      shell: { priv-lvl: 15, autocmd: false }
      commands:
        - { match: "^show ", permit: true }
users:
  - { name: bob, password: bobpass, enable: en4ble, groups: [netops] }
`,
    );
    assert.deepEqual(c.tacacs.listen, { host: "127.0.0.1", port: 49 });
    assert.equal(c.tacacs.idleTimeout, 30);
    assert.equal(c.tacacs.maxBodyLength, 65536);
    assert.equal(c.clients[0]!.secret, null, "a TACACS+-only client");
    assert.equal(c.clients[0]!.tacacsKey!.toString(), "k");
    const rules = c.groups[0]!.tacacs!;
    assert.deepEqual(rules.shell, { "priv-lvl": "15", autocmd: "false" }, "values become strings");
    assert.ok(rules.commands[0]!.match.test("show version"), "rules.commands[0]!.match.test(\"show version\")");
    assert.equal(c.users[0]!.enable, "en4ble");
    assert.deepEqual(c.users[0]!.groups, ["netops"]);
    assert.equal(parseConfigText(file, "").tacacs.listen, null, "TACACS+ is off unless configured");
  });

  it("TACACS+: bad patterns and unknown groups are named", () => {
    assert.deepEqual(problems("groups:\n  - { name: g, tacacs: { commands: [{ match: \"(\", permit: true }] } }\n"), [
      "groups[0].tacacs.commands[0].match: expected a valid regular expression",
    ]);
    assert.deepEqual(problems("users:\n  - { name: u, password: p, groups: [nope] }\n"), [
      'users[0].groups[0]: no group named "nope" in groups',
    ]);
  });

  it("OpenVPN: the connector's RADIUS section for tally openvpn, and its errors by key", () => {
    const c = parseConfigText(
      file,
      [
        "openvpn:",
        "  - name: vpn1",
        "    management: 127.0.0.1:7505",
        "    radius: { server: 192.0.2.10, secret: s3cret, dynamicAuthorization: { listen: '0.0.0.0:3799' } }",
      ].join("\n"),
    );
    assert.deepEqual(c.openvpn[0]!.management, { host: "127.0.0.1", port: 7505 });
    assert.deepEqual(c.openvpn[0]!.radius, {
      server: "192.0.2.10",
      authPort: 1812,
      acctPort: 1813,
      secret: "s3cret",
      timeout: 3,
      retries: 3,
      nasIpAddress: null,
      dynamicAuthorization: { host: "0.0.0.0", port: 3799 },
    });
    const p = problems(
      ["openvpn:", "  - name: vpn1", "    management: /run/vpn1.sock", "    radius: { server: 192.0.2.10, nasIpAddress: nope, dynamicAuthorization: { listen: 3799 } }"].join("\n"),
    );
    assert.ok(p.some((x) => x.startsWith("openvpn[0].radius.secret:")), p.join("\n"));
    assert.ok(p.some((x) => x.startsWith("openvpn[0].radius.nasIpAddress: expected an IPv4 address")), p.join("\n"));
    assert.ok(p.some((x) => x.startsWith("openvpn[0].radius.dynamicAuthorization.listen:")), p.join("\n"));
  });

  it("reports YAML syntax errors with a line number", () => {
    const p = problems("clients:\n  - { name: a\n");
    assert.match(p[0]!, /^line \d+, column \d+: YAML syntax: /);
  });
});
