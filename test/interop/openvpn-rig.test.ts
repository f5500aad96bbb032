// A real OpenVPN 2.6 server and client in network namespaces, driven through the management
// interface (unix socket, --management-client-auth) with Tally's management codec: deny with
// a reason, authorize, traffic through the tunnel in BYTECOUNT_CLI, status 3, and client-kill
// HALT followed by the DISCONNECT with byte counts. This is the rig and codec the OpenVPN
// connector builds on. Needs root, tun and ip netns; skipped with the reason otherwise.

import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import {
  bytecount,
  clientAuthNt,
  clientDeny,
  clientKill,
  ManagementParser,
  parseStatus3,
  status,
  type ClientEvent,
  type ManagementEvent,
} from "../../src/openvpn/management-codec.ts";
import { rigUnavailable, startRig, type OpenVpnRig } from "../openvpn/netns-rig.ts";

const unavailable = await rigUnavailable();

class Management {
  readonly events: ManagementEvent[] = [];
  private readonly parser = new ManagementParser();
  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => this.events.push(...this.parser.push(chunk)));
  }

  static async open(path: string): Promise<Management> {
    const socket = connect(path);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
    });
    return new Management(socket);
  }

  send(line: string, multiline = false): void {
    if (multiline) this.parser.expectMultiline();
    this.socket.write(line);
  }

  async next<T extends ManagementEvent>(match: (e: ManagementEvent) => e is T, ms = 20_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.events.findIndex(match);
      if (i >= 0) return this.events.splice(i, 1)[0] as T;
      if (Date.now() > deadline) throw new Error(`no matching management event within ${ms} ms; have ${JSON.stringify(this.events.map((e) => e.type))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

const client = (kind: ClientEvent["kind"]) => (e: ManagementEvent): e is ClientEvent => e.type === "client" && e.kind === kind;

describe("OpenVPN 2.6 through the management interface", { skip: unavailable ?? false }, () => {
  let rig: OpenVpnRig;
  let mgmt: Management;

  before(async () => {
    rig = await startRig();
    mgmt = await Management.open(rig.managementSocket);
    await mgmt.next((e): e is Extract<ManagementEvent, { type: "info" }> => e.type === "info");
  });
  after(async () => {
    mgmt?.close();
    await rig?.stop();
  });

  it("a denied client sees the reason and never comes up", async () => {
    const c = await rig.startClient({ user: "mallory", password: "nope", name: "denied" });
    const connectEvent = await mgmt.next(client("connect"));
    assert.equal(connectEvent.env.username, "mallory");
    assert.equal(connectEvent.env.password, "nope", "the password reaches the management client for checking");
    mgmt.send(clientDeny(connectEvent.cid, connectEvent.kid!, "bad password", "Authentication failed for mallory"));
    await mgmt.next((e): e is Extract<ManagementEvent, { type: "success" }> => e.type === "success");
    await c.exited();
    const { readFileSync } = await import("node:fs");
    assert.match(readFileSync(c.log, "utf8"), /AUTH_FAILED,Authentication failed for mallory/, "the client saw the reason and gave up");
  });

  it("an authorized client's traffic shows in BYTECOUNT_CLI, status 3 and the DISCONNECT after client-kill HALT", async () => {
    const c = await rig.startClient({ user: "alice", password: "alicepass", name: "alice" });
    const connectEvent = await mgmt.next(client("connect"));
    assert.equal(connectEvent.env.username, "alice");
    mgmt.send(clientAuthNt(connectEvent.cid, connectEvent.kid!));
    await mgmt.next(client("established"));
    await c.connected();

    mgmt.send(bytecount(1));
    await rig.inClient("ping", ["-c", "5", "-s", "1000", "-i", "0.2", "-W", "2", rig.tunnelServerAddress]);
    // A tick may catch the requests before their replies: wait for one that counts both ways.
    const counted = await mgmt.next((e): e is Extract<ManagementEvent, { type: "bytecount" }> => e.type === "bytecount" && e.cid === connectEvent.cid && e.bytesIn > 5000 && e.bytesOut > 5000);
    assert.equal(counted.cid, connectEvent.cid, "BYTECOUNT_CLI names the client");

    mgmt.send(status(3), true);
    const response = await mgmt.next((e): e is Extract<ManagementEvent, { type: "response" }> => e.type === "response");
    const parsed = parseStatus3(response.lines);
    const listed = parsed.clients.find((x) => x.cid === connectEvent.cid);
    assert.ok(listed, "status 3 lists the client");
    assert.equal(listed.username, "alice");
    assert.ok(listed.bytesReceived > 5000, "status 3 counts the ping");

    mgmt.send(clientKill(connectEvent.cid, "HALT"));
    // A denied client gets a DISCONNECT of its own too: wait for this client's.
    const gone = await mgmt.next((e): e is ClientEvent => client("disconnect")(e) && (e as ClientEvent).cid === connectEvent.cid);
    assert.ok(Number(gone.env.bytes_received) > 5000, "bytes_received in the DISCONNECT ENV");
    assert.ok(Number(gone.env.time_duration) >= 0, "time_duration in the DISCONNECT ENV");
    await c.exited();
  });
});
