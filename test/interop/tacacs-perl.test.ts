// Interop with Debian's Perl Authen::TacacsPlus (libauthen-tacacsplus-perl) against a real
// `tally serve`: ASCII (minor version 0), PAP and CHAP (minor version 1) logins, right and
// wrong passwords, unknown users and a wrong key.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { TACACS_CONFIG, TACACS_KEY as KEY, startTally, type TallyProcess } from "./harness.ts";

const execFileAsync = promisify(execFile);
const script = join(import.meta.dirname, "perl", "tacacs-login.pl");


async function login(port: number, user: string, password: string, type: "ascii" | "pap" | "chap", key = KEY): Promise<string> {
  const { stdout } = await execFileAsync("perl", [script, "127.0.0.1", String(port), key, user, password, type], { timeout: 20_000 });
  return stdout.trim();
}

describe("Authen::TacacsPlus interop", () => {
  let tally: TallyProcess;
  before(async () => {
    tally = await startTally(TACACS_CONFIG);
  });
  after(async () => {
    await tally.cleanup();
  });

  for (const type of ["ascii", "pap", "chap"] as const) {
    it(`${type}: the right password passes, a wrong one fails`, async () => {
      assert.equal(await login(tally.tacacsPort, "bob", "bobpass", type), "PASS");
      assert.match(await login(tally.tacacsPort, "bob", "bobpas", type), /^FAIL Authentication failed/);
      assert.match(await login(tally.tacacsPort, "nobody", "bobpass", type), /^FAIL Authentication failed/);
    });
  }

  it("a wrong key gets no PASS, and the server logs why", async () => {
    assert.match(await login(tally.tacacsPort, "bob", "bobpass", "pap", "not-the-key"), /^FAIL/);
    await tally.waitForLog((l) => l.reason === "bad-key-or-malformed");
    assert.equal(await login(tally.tacacsPort, "bob", "bobpass", "pap"), "PASS", "still serving");
  });

  it("each login is logged with its result", async () => {
    await tally.waitForLog((l) => l.msg === "TACACS+ authentication" && l.user === "bob" && l.result === "PASS");
    await tally.waitForLog((l) => l.msg === "TACACS+ authentication" && l.user === "bob" && l.result === "FAIL");
  });
});
