// tacacs.maxPending: with accounting held up (a plugin that waits until released), a device
// sending many requests on one single-connection link gets exactly maxPending of them taken in,
// however its packets arrive in chunks; the rest wait unread, and are all answered once work
// finishes. A login on another connection (nothing pending on it) is still served meanwhile.
// Without the gate all twelve would be in the plugin.

import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { TacacsClient } from "../../src/tacacs/client.ts";
import { AcctFlag, AcctStatus, AuthenStatus } from "../../src/tacacs/constants.ts";
import { TACACS_CONFIG, TACACS_KEY, makeTempDir, sleep, startTally, until, within, type TallyProcess } from "./harness.ts";

const gatedPlugin = join(import.meta.dirname, "fixtures", "held-accounting.ts");

describe("TACACS+ pending work: tacacs.maxPending", () => {
  const maxPending = 4;
  const n = 12;
  const dir = makeTempDir("tally-tacacs-pending-");
  const releaseFile = join(dir, "release");
  const entered = join(dir, "entered");
  let tally: TallyProcess;

  const enteredCount = () => (existsSync(entered) ? readFileSync(entered, "utf8").trim().split("\n").filter(Boolean).length : 0);

  before(async () => {
    tally = await startTally(
      {
        ...TACACS_CONFIG,
        tacacs: { listen: "127.0.0.1:0", maxPending, idleTimeout: 60 },
        plugins: [{ module: gatedPlugin, options: { releaseFile, entered }, timeout: 30 }],
      },
      dir,
    );
  });
  after(async () => {
    // Whatever happened, let the plugin go, so the server can stop.
    writeFileSync(releaseFile, "");
    await tally.cleanup();
  });

  it(`${n} accounting requests on one connection: ${maxPending} taken in while held, all ${n} answered and stored once released; a login on another connection passes meanwhile`, async () => {
    const device = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY, singleConnect: true, timeout: 30 });
    try {
      // The first reply settles single-connection mode (RFC 8907 section 4.3); until then the
      // client sends one session at a time.
      await device.authorize({ user: "bob", args: ["service=shell", "cmd="] });
      const replies = Promise.all(
        Array.from({ length: n }, (_, i) => device.account({ user: "bob", port: `tty${i}`, flags: AcctFlag.Start, args: [`task_id=${100 + i}`, "service=shell"] })),
      );
      await until(5000, `${maxPending} requests in the plugin`, async () => (enteredCount() >= maxPending ? true : undefined));
      // Give the server time to take in more if it would; it must not.
      await sleep(1500);
      assert.equal(enteredCount(), maxPending, "only maxPending requests were taken in");
      await tally.waitForLog((l) => l.msg === "TACACS+ pending work at tacacs.maxPending: connections wait to be read");

      const other = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY, timeout: 5 });
      try {
        assert.equal((await within(5000, "a login while accounting is held", other.authenPap("bob", "bobpass"))).status, AuthenStatus.Pass);
      } finally {
        await other.close();
      }

      writeFileSync(releaseFile, "");
      const all = await within(20_000, "every request answered", replies);
      assert.deepEqual(all.map((r) => r.status), Array(n).fill(AcctStatus.Success));
      assert.equal(enteredCount(), n, "each request reached the plugin once");
      const sessions = JSON.parse(await tally.cli(["sessions", "--json", "--user", "bob"])) as { sessionId: string }[];
      assert.deepEqual(sessions.map((s) => Number(s.sessionId)).sort((a, b) => a - b), Array.from({ length: n }, (_, i) => 100 + i));
    } finally {
      await device.close();
    }
  });
});
