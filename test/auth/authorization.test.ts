// TACACS+ authorization rules: shell pairs (PASS_ADD / PASS_REPL), other services, and command
// rules with first-match-wins across the user's and the groups' rule sets.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { authorize, commandLine, shellPrivilege, type AvPair } from "../../src/auth/authorization.ts";
import { parseConfigText, type TacacsRules } from "../../src/config/load.ts";

const config = parseConfigText(
  "/tmp/tally.yaml",
  `groups:
  - name: netops
    tacacs:
      shell: { priv-lvl: 15, idletime: 30 }
      services: { ppp: { addr: 10.9.0.1 } }
      commands:
        - { match: "^show ", permit: true }
        - { match: "^reload", permit: false }
  - name: lenient
    tacacs: { defaultCommand: permit }
users:
  - name: bob
    password: x
    groups: [netops]
    tacacs: { commands: [{ match: "^show running-config", permit: false }] }
`,
);
const bobRules: TacacsRules[] = [config.users[0]!.tacacs!, config.groups[0]!.tacacs!];
const av = (s: string): AvPair => {
  const i = s.search(/[=*]/);
  return { name: s.slice(0, i), value: s.slice(i + 1), mandatory: s[i] === "=" };
};
const request = (...args: string[]) => {
  const pairs = args.map(av);
  return { service: pairs.find((a) => a.name === "service")?.value ?? "", command: commandLine(pairs), args: pairs };
};

describe("TACACS+ authorization", () => {
  it("a shell start gets the configured pairs added (PASS_ADD)", () => {
    const d = authorize(bobRules, request("service=shell", "cmd="));
    assert.equal(d.status, "pass-add");
    assert.deepEqual(d.status === "pass-add" && d.args, [
      { name: "priv-lvl", value: "15", mandatory: true },
      { name: "idletime", value: "30", mandatory: true },
    ]);
  });

  it("a shell start asking for another priv-lvl gets the list replaced (PASS_REPL)", () => {
    const d = authorize(bobRules, request("service=shell", "cmd=", "priv-lvl*1", "autocmd*x"));
    assert.equal(d.status, "pass-repl");
    assert.deepEqual(d.status === "pass-repl" && d.args.map((a) => `${a.name}${a.mandatory ? "=" : "*"}${a.value}`), [
      "service=shell",
      "cmd=",
      "priv-lvl=15",
      "autocmd*x",
      "idletime=30",
    ]);
  });

  it("pairs the request already has with the same value are not repeated", () => {
    const d = authorize(bobRules, request("service=shell", "priv-lvl=15"));
    assert.deepEqual(d.status === "pass-add" && d.args.map((a) => a.name), ["idletime"]);
  });

  it("commands: the user's rules first, then the group's; first match wins; default deny", () => {
    assert.equal(authorize(bobRules, request("service=shell", "cmd=show", "cmd-arg=version", "cmd-arg=<cr>")).status, "pass-add");
    const running = authorize(bobRules, request("service=shell", "cmd=show", "cmd-arg=running-config", "cmd-arg=<cr>"));
    assert.equal(running.status, "fail");
    assert.match(running.reason, /users\[0\]\.tacacs\.commands\[0\]/);
    assert.equal(authorize(bobRules, request("service=shell", "cmd=reload")).status, "fail");
    const other = authorize(bobRules, request("service=shell", "cmd=configure", "cmd-arg=terminal"));
    assert.equal(other.status, "fail");
    assert.match(other.reason, /denied by default/);
  });

  it("defaultCommand permit applies when no rule matches", () => {
    const lenient = [config.groups[1]!.tacacs!];
    assert.equal(authorize(lenient, request("service=shell", "cmd=configure")).status, "pass-add");
  });

  it("other services need their own configuration", () => {
    const ppp = authorize(bobRules, request("service=ppp", "protocol=ip"));
    assert.deepEqual(ppp.status === "pass-add" && ppp.args, [{ name: "addr", value: "10.9.0.1", mandatory: true }]);
    assert.equal(authorize(bobRules, request("service=arap")).status, "fail");
    assert.equal(authorize([], request("service=shell", "cmd=")).status, "fail", "no shell configured");
  });

  it("commandLine and shellPrivilege", () => {
    assert.equal(commandLine([av("service=shell"), av("cmd=")]), null);
    assert.equal(commandLine([av("cmd=interface"), av("cmd-arg=Gi0/1"), av("cmd-arg=<cr>")]), "interface Gi0/1");
    assert.equal(shellPrivilege(bobRules), 15);
    assert.equal(shellPrivilege([]), 0);
  });
});
