// OpenVPN in the metrics of a running Tally (startTally in process): its connector on a
// scripted management interface (the line formats of OpenVPN 2.6.14, as in
// test/openvpn/connector.test.ts) announces a client that authenticates, one that gives a wrong
// password, then connects and disconnects the first. The requests, the connected-clients
// gauge and the open sessions are read from the Prometheus text.

import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { loadConfig } from "../../src/config/load.ts";
import { startTally, type RunningTally } from "../../src/server/app.ts";
import { makeTempDir, until } from "../interop/harness.ts";

/** Sample values by `name{label="value",...}` as the text format writes them (labels in its order). */
async function scrape(running: RunningTally): Promise<Map<string, number>> {
  const text = await running.metrics.registry.metrics();
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

/** A management interface with no clients of its own; the test announces them. */
function fakeManagement(path: string) {
  let socket: Socket | null = null;
  const server = createServer((s) => {
    socket = s;
    s.write(">INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info\r\n");
    let buffered = "";
    s.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line === "status 3") {
          s.write(
            [
              "TITLE\tOpenVPN 2.6.14 x86_64-pc-linux-gnu",
              `TIME\t2026-11-22 02:40:45\t${Math.floor(Date.now() / 1000)}`,
              "HEADER\tCLIENT_LIST\tCommon Name\tReal Address\tVirtual Address\tVirtual IPv6 Address\tBytes Received\tBytes Sent\tConnected Since\tConnected Since (time_t)\tUsername\tClient ID\tPeer ID\tData Channel Cipher",
              "HEADER\tROUTING_TABLE\tVirtual Address\tCommon Name\tReal Address\tLast Ref\tLast Ref (time_t)",
              "GLOBAL_STATS\tdco_enabled\t0",
              "END",
              "",
            ].join("\r\n"),
          );
        } else s.write("SUCCESS: command succeeded\r\n");
      }
    });
  });
  const event = (header: string, env: string[]) => socket!.write([header, ...env.map((e) => `>CLIENT:ENV,${e}`), ">CLIENT:ENV,END", ""].join("\r\n"));
  return {
    listen: () => new Promise<void>((r) => server.listen(path, r)),
    connected: () => socket !== null,
    event,
    close: () => {
      socket?.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe("OpenVPN in the metrics of a running Tally", () => {
  let dir: string;
  let running: RunningTally;
  let management: ReturnType<typeof fakeManagement>;
  const since = Math.floor(Date.now() / 1000);

  before(async () => {
    dir = makeTempDir("tally-metrics-ovpn-");
    management = fakeManagement(join(dir, "mgmt.sock"));
    await management.listen();
    const configPath = join(dir, "tally.yaml");
    writeFileSync(
      configPath,
      JSON.stringify({
        store: { sqlite: "./tally.db" },
        radius: { auth: null, acct: null },
        openvpn: [{ name: "vpn1", management: join(dir, "mgmt.sock") }],
        users: [{ name: "alice", password: "alicepass" }],
      }),
    );
    running = await startTally(loadConfig(configPath), pino({ level: "silent" }));
    await until(5000, "the connector on the management interface", async () => (management.connected() ? true : undefined));
  });

  after(async () => {
    await running?.stop();
    await management?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("counts access and accounting requests, and the connected clients", async () => {
    const clients = 'tally_openvpn_clients{connector="vpn1"}';
    assert.equal((await scrape(running)).get(clients), 0, "no client yet");
    management.event(">CLIENT:CONNECT,0,1", ["username=alice", "password=alicepass", "untrusted_ip=10.231.0.2"]);
    management.event(">CLIENT:CONNECT,1,1", ["username=alice", "password=wrong", "untrusted_ip=10.231.0.3"]);
    const access = (outcome: string) => `tally_requests_total{protocol="openvpn",type="access",outcome="${outcome}"}`;
    await until(5000, "both authentications", async () => {
      const m = await scrape(running);
      return m.get(access("accept")) === 1 && m.get(access("reject")) === 1 ? true : undefined;
    });

    const env = ["username=alice", "common_name=client1", "untrusted_ip=10.231.0.2", "ifconfig_pool_remote_ip=10.232.0.2", `time_unix=${since}`];
    management.event(">CLIENT:ESTABLISHED,0", env);
    const accounting = 'tally_requests_total{protocol="openvpn",type="accounting",outcome="ok"}';
    const connected = await until(5000, "the start", async () => {
      const m = await scrape(running);
      return m.get(accounting) === 1 ? m : undefined;
    });
    assert.equal(connected.get(clients), 1);
    assert.equal(connected.get("tally_sessions_open"), 1);
    assert.equal(connected.get('tally_request_duration_seconds_count{protocol="openvpn",type="access"}'), 2);

    management.event(">CLIENT:DISCONNECT,0", [...env, "bytes_received=1000", "bytes_sent=2000", "time_duration=9"]);
    const gone = await until(5000, "the stop", async () => {
      const m = await scrape(running);
      return m.get(accounting) === 2 ? m : undefined;
    });
    assert.equal(gone.get(clients), 0);
    assert.equal(gone.get("tally_sessions_open"), 0);
    const overview = await running.metrics.snapshot();
    assert.ok(overview.requestsPerSecond.openvpn > 0, `openvpn requests per second: ${overview.requestsPerSecond.openvpn}`);
    assert.equal(overview.requestsPerSecond.radius, 0);
  });
});
