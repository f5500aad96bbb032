// Regenerates freeradius-3.2.detail and freeradius-3.2.replicated.json: radclient sends
// Accounting-Requests to a real FreeRADIUS 3.2 (Debian's package, started by the bench anchor
// on loopback) that writes them to its detail file and replicates each, as received, to a UDP
// socket here. So the detail file and the datagrams Tally would have received live for the
// same requests are captured together, and detail.test.ts checks that importing the one gives
// the records of the other.
//   npx tsx test/import/vectors/capture-detail.ts
// Not a test itself: it needs freeradius and radclient, and rewrites the files beside it.

import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startFreeRadius } from "../../../bench/anchors/freeradius.ts";
import { replicateTo } from "../replicate.ts";

const SECRET = "testing123";
const here = import.meta.dirname;
const NAS = 'NAS-Identifier = "nas-v"';

// Escapes FreeRADIUS must write (tab, quote, backslash, a control byte as octal, UTF-8 as is),
// Gigawords, a tagged attribute, octets, a VSA, IPv6, a client-sent Event-Timestamp, a delay,
// and an Accounting-Off; some packets lack NAS-IP-Address or Event-Timestamp, which
// FreeRADIUS's preprocess then adds to both the detail entry and the replicated packet.
const PACKETS = [
  `Acct-Status-Type = Start\nUser-Name = "eve"\nAcct-Session-Id = "v1"\n${NAS}\nConnect-Info = "tab\\there \\"q\\" back\\\\slash \\001 caf\\303\\251"\nFramed-IPv6-Prefix = 2001:db8:1::/64\nNAS-Port-Type = Virtual`,
  `Acct-Status-Type = Interim-Update\nUser-Name = "eve"\nAcct-Session-Id = "v1"\n${NAS}\nNAS-IP-Address = 127.0.0.1\nAcct-Input-Octets = 7\nAcct-Input-Gigawords = 3\nAcct-Output-Octets = 9\nAcct-Session-Time = 300\nTunnel-Type:1 = VLAN\nTunnel-Medium-Type:1 = IEEE-802\nClass = 0xdeadbeef\nCisco-AVPair = "subscriber:sla=gold"\nEvent-Timestamp = 1795300000`,
  `Acct-Status-Type = Stop\nUser-Name = "eve"\nAcct-Session-Id = "v1"\n${NAS}\nAcct-Input-Octets = 8\nAcct-Input-Gigawords = 4\nAcct-Output-Octets = 10\nAcct-Output-Gigawords = 1\nAcct-Session-Time = 600\nAcct-Delay-Time = 2\nAcct-Terminate-Cause = Lost-Carrier`,
  `Acct-Status-Type = Accounting-Off\n${NAS}\nNAS-IP-Address = 127.0.0.1`,
];

const run = promisify(execFile);

const socket = createSocket("udp4");
const received: Buffer[] = [];
socket.on("message", (m) => received.push(m));
await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
const port = (socket.address() as AddressInfo).port;

const fr = await startFreeRadius({ mode: "detail", secret: SECRET, customize: replicateTo(port, SECRET) });
const work = mkdtempSync(join(tmpdir(), "tally-capture-detail-"));
try {
  const input = join(work, "packets");
  writeFileSync(input, `${PACKETS.join("\n\n")}\n`);
  await run("radclient", ["-p", "1", "-t", "2", "-r", "1", "-f", input, `127.0.0.1:${fr.acctPort}`, "acct", SECRET]);
  const deadline = Date.now() + 5000;
  while (received.length < PACKETS.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (received.length !== PACKETS.length) throw new Error(`replicated ${received.length} of ${PACKETS.length} packets`);
  const dir = join(fr.radacctDir, "127.0.0.1");
  const [file] = readdirSync(dir);
  copyFileSync(join(dir, file!), join(here, "freeradius-3.2.detail"));
  writeFileSync(
    join(here, "freeradius-3.2.replicated.json"),
    `${JSON.stringify({ secret: SECRET, radclientInput: PACKETS, datagrams: received.map((b) => b.toString("hex")) }, null, 2)}\n`,
  );
  console.log(`captured ${received.length} entries and datagrams`);
} finally {
  await fr.stop();
  socket.close();
  rmSync(work, { recursive: true, force: true });
}
