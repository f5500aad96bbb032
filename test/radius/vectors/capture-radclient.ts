// Regenerates radclient.json: real datagrams from FreeRADIUS's radclient (freeradius-utils),
// captured on a loopback UDP port, so the codec is tested against a peer it did not write.
// Each request is answered with buildResponse, and radclient's verdict on that answer is
// recorded too (it checks our Response Authenticator and Message-Authenticator).
//   npx tsx test/radius/vectors/capture-radclient.ts
// Not a test itself: it needs /usr/bin/radclient and rewrites the JSON file beside it.

import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { encodeAttribute } from "../../../src/radius/attributes.ts";
import { Dictionary } from "../../../src/radius/dictionary.ts";
import { buildResponse } from "../../../src/radius/message.ts";
import { decodePacket } from "../../../src/radius/packet.ts";
import { PacketCode } from "../../../src/radius/constants.ts";

const SECRET = "testing123-radclient";

interface Case {
  name: string;
  command: "auth" | "acct" | "coa" | "disconnect" | "status";
  input: string;
  reply: number;
  replyAttributes?: [name: string, value: string | number, tag?: number][];
}

const cases: Case[] = [
  {
    name: "radclient Accounting-Request Start",
    command: "acct",
    input: [
      'User-Name = "alice"',
      "Acct-Status-Type = Start",
      'Acct-Session-Id = "0000002A"',
      "NAS-IP-Address = 192.0.2.10",
      "NAS-Port = 7",
      "Framed-IP-Address = 198.51.100.23",
      "Acct-Delay-Time = 0",
      'Calling-Station-Id = "00-11-22-33-44-55"',
      'Cisco-AVPair = "ip:addr-pool=pool1"',
    ].join("\n"),
    reply: PacketCode.AccountingResponse,
  },
  {
    name: "radclient Accounting-Request Stop with Gigawords",
    command: "acct",
    input: [
      'User-Name = "alice"',
      "Acct-Status-Type = Stop",
      'Acct-Session-Id = "0000002A"',
      "Acct-Input-Octets = 1234",
      "Acct-Input-Gigawords = 2",
      "Acct-Output-Octets = 4294967295",
      "Acct-Session-Time = 3600",
      "Acct-Terminate-Cause = Idle-Timeout",
      "Event-Timestamp = 1700000000",
      "NAS-IPv6-Address = 2001:db8::1",
      "Framed-IPv6-Prefix = 2001:db8:1::/48",
    ].join("\n"),
    reply: PacketCode.AccountingResponse,
  },
  {
    name: "radclient Access-Request PAP with Message-Authenticator",
    command: "auth",
    input: [
      'User-Name = "bob"',
      'User-Password = "correct horse battery"',
      "NAS-IP-Address = 192.0.2.10",
      "Message-Authenticator = 0x00",
    ].join("\n"),
    reply: PacketCode.AccessAccept,
    // radclient prints what it decodes from our Access-Accept, Tunnel-Password included.
    replyAttributes: [
      ["Session-Timeout", 3600],
      ["Reply-Message", "Welcome, bob"],
      ["Tunnel-Type", "VLAN", 3],
      ["Tunnel-Medium-Type", "IEEE-802", 3],
      ["Tunnel-Private-Group-Id", "120", 3],
      ["Tunnel-Password", "tunnel secret of some length", 3],
      ["Cisco-AVPair", "shell:priv-lvl=15"],
      ["Framed-IPv6-Prefix", "2001:db8:2::/64"],
      ["Frag-Status", "Fragmentation-Supported"],
    ],
  },
  {
    // radclient computes CHAP-Password from the cleartext: a CHAP known answer from another
    // implementation (RFC 2865 §7.2 does not print its password).
    name: "radclient Access-Request CHAP",
    command: "auth",
    input: ['User-Name = "flopsy"', 'CHAP-Password = "rabbit-hole"', "NAS-Port = 20"].join("\n"),
    reply: PacketCode.AccessReject,
  },
  {
    name: "radclient Accounting-Request Interim-Update with Message-Authenticator",
    command: "acct",
    input: [
      'User-Name = "carol"',
      "Acct-Status-Type = Interim-Update",
      'Acct-Session-Id = "sess-7"',
      "Acct-Output-Packets = 99",
      "Message-Authenticator = 0x00",
    ].join("\n"),
    reply: PacketCode.AccountingResponse,
  },
  {
    name: "radclient Status-Server",
    command: "status",
    input: ["Message-Authenticator = 0x00"].join("\n"),
    reply: PacketCode.AccessAccept,
  },
  {
    name: "radclient CoA-Request with Message-Authenticator",
    command: "coa",
    input: [
      'User-Name = "alice"',
      'Acct-Session-Id = "0000002A"',
      "Session-Timeout = 600",
      "Message-Authenticator = 0x00",
    ].join("\n"),
    reply: PacketCode.CoAACK,
  },
  {
    name: "radclient Disconnect-Request",
    command: "disconnect",
    input: ['User-Name = "alice"', 'Acct-Session-Id = "0000002A"'].join("\n"),
    reply: PacketCode.DisconnectACK,
  },
];

const dict = Dictionary.builtin();

interface Captured {
  hex: string;
  replyHex: string;
  radclientAccepted: boolean;
  radclientDecodedReply: string[];
  output: string;
}

async function capture(c: Case): Promise<Captured> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const port = (socket.address() as AddressInfo).port;
  let hex = "";
  let replyHex = "";
  const replyAttributes = (c.replyAttributes ?? []).flatMap(([name, value, tag]) =>
    encodeAttribute(dict, name, value, tag === undefined ? {} : { tag }),
  );
  socket.on("message", (msg, rinfo) => {
    const decoded = decodePacket(msg);
    if (!decoded.ok) return;
    // A retransmission gets the very reply it had, as a server would send.
    if (hex === "") {
      hex = msg.toString("hex");
      replyHex = buildResponse(decoded.packet, c.reply, replyAttributes, Buffer.from(SECRET)).toString("hex");
    }
    socket.send(Buffer.from(replyHex, "hex"), rinfo.port, rinfo.address);
  });
  const child = spawn("radclient", ["-x", "-r", "1", "-t", "2", `127.0.0.1:${port}`, c.command, SECRET], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  child.stdin.end(`${c.input}\n`);
  await new Promise<void>((resolve) => child.on("close", () => resolve()));
  socket.close();
  // radclient exits 0 only for an Accept/ACK it verified; a verified Reject still prints it.
  const lines = output.split("\n");
  const received = lines.findIndex((l) => l.startsWith("Received "));
  const radclientDecodedReply: string[] = [];
  for (let i = received + 1; received >= 0 && i < lines.length && lines[i]!.startsWith("\t"); i++) {
    radclientDecodedReply.push(lines[i]!.trim());
  }
  return {
    hex,
    replyHex,
    radclientAccepted: received >= 0 && !/verification failed/.test(output),
    radclientDecodedReply,
    output,
  };
}

const vectors = [];
for (const c of cases) {
  const r = await capture(c);
  if (r.hex === "") throw new Error(`${c.name}: nothing received\n${r.output}`);
  console.log(`${c.name}: ${r.hex.length / 2} octets, radclient accepted our reply: ${r.radclientAccepted}`);
  if (!r.radclientAccepted) console.log(r.output);
  vectors.push({
    name: c.name,
    command: c.command,
    secret: SECRET,
    radclientInput: c.input.split("\n"),
    hex: r.hex,
    radclientAcceptedReply: r.radclientAccepted,
    ...(c.replyAttributes ? { replyHex: r.replyHex, radclientDecodedReply: r.radclientDecodedReply } : {}),
  });
}
writeFileSync(new URL("./radclient.json", import.meta.url), `${JSON.stringify({ source: "FreeRADIUS radclient 3.2.1 (Debian freeradius-utils), captured by capture-radclient.ts", vectors }, null, 2)}\n`);
