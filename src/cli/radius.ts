// `tally radius send auth|acct|status`: a small RADIUS client for trying a server (Tally or
// any other), in the spirit of radclient but with attributes on the command line.

import { randomBytes, randomInt } from "node:crypto";
import type { Command } from "commander";
import type { Config } from "../config/load.ts";
import { parseListenAddress } from "../config/schema.ts";
import { decodeAttributes } from "../radius/attributes.ts";
import { encodeAttribute } from "../radius/attributes.ts";
import { ClientTable } from "../radius/clients.ts";
import { sendRequest } from "../radius/client.ts";
import { Attr, PacketCode, packetCodeName } from "../radius/constants.ts";
import { chapResponse } from "../radius/crypto.ts";
import { Dictionary } from "../radius/dictionary.ts";
import { buildAccessRequest, buildAccountingRequest, buildStatusServer } from "../radius/message.ts";
import { decodePacket, type RawAttribute } from "../radius/packet.ts";
import { loadDictionary } from "../server/app.ts";
import { action, readConfig, UsageError, type GlobalOptions } from "./common.ts";

type Kind = "auth" | "acct" | "status";

interface SendFlags {
  server?: string;
  secret?: string;
  chap?: boolean;
  timeout: string;
  retries: string;
  messageAuthenticator: boolean;
}

/** Exit codes: what a script needs to tell apart. */
const EXIT_ACCEPTED = 0;
const EXIT_REFUSED = 1;
const EXIT_NO_ANSWER = 3;

function parsePairs(pairs: string[]): [string, string][] {
  return pairs.map((p) => {
    const eq = p.indexOf("=");
    if (eq <= 0) throw new UsageError(`expected ATTRIBUTE=VALUE, got "${p}"`);
    return [p.slice(0, eq).trim(), p.slice(eq + 1).trim()];
  });
}

function defaults(kind: Kind, flags: SendFlags, opts: GlobalOptions): { dictionary: Dictionary; server: { host: string; port: number }; secret: Buffer } {
  let config: Config | null = null;
  try {
    config = readConfig(opts);
  } catch (e) {
    // Without a usable config, --server and --secret say everything needed.
    if (flags.server === undefined || flags.secret === undefined) throw e;
  }
  const dictionary = config ? loadDictionary(config) : Dictionary.builtin();
  let server = flags.server === undefined ? null : parseListenAddress(flags.server);
  if (flags.server !== undefined && server === null) throw new UsageError(`--server: expected HOST:PORT with an IP address, got "${flags.server}"`);
  if (server === null) {
    const listener = kind === "acct" ? config!.radius.acct : config!.radius.auth;
    if (listener === null) throw new UsageError(`the config has no radius.${kind === "acct" ? "acct" : "auth"} listener; give --server`);
    const host = listener.host === "0.0.0.0" ? "127.0.0.1" : listener.host === "::" ? "::1" : listener.host;
    server = { host, port: listener.port };
  }
  let secret: Buffer | null = flags.secret === undefined ? null : Buffer.from(flags.secret, "utf8");
  if (secret === null) {
    const client = new ClientTable(config!.clients).find(server.host === "::1" ? "::1" : "127.0.0.1");
    if (client === undefined) throw new UsageError(`no client in ${config!.file} covers this machine; give --secret`);
    secret = client.secret;
  }
  return { dictionary, server, secret };
}

function encodeAll(dictionary: Dictionary, pairs: [string, string][]): RawAttribute[] {
  return pairs.flatMap(([name, value]) => {
    try {
      return encodeAttribute(dictionary, name, value);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  });
}

export function register(program: Command): void {
  program
    .command("radius")
    .description("RADIUS tools")
    .command("send <kind> [attributes...]")
    .description("send one request (auth, acct or status) with ATTRIBUTE=VALUE pairs and print the reply")
    .option("--server <host:port>", "where to send (default: this config's own listener)")
    .option("--secret <secret>", "shared secret (default: the config's client that covers 127.0.0.1)")
    .option("--chap", "auth: send User-Password as a CHAP response instead of PAP")
    .option("--no-message-authenticator", "auth: leave out Message-Authenticator")
    .option("--timeout <seconds>", "seconds to wait per attempt", "2")
    .option("--retries <n>", "retransmissions after the first attempt", "2")
    .action(
      action(async (kindText: string, pairsText: string[], flags: SendFlags) => {
        if (!["auth", "acct", "status"].includes(kindText)) throw new UsageError(`kind: expected auth, acct or status, got "${kindText}"`);
        const kind = kindText as Kind;
        const timeout = Number(flags.timeout);
        const retries = Number(flags.retries);
        if (!(timeout > 0)) throw new UsageError(`--timeout: expected a positive number of seconds, got "${flags.timeout}"`);
        if (!Number.isInteger(retries) || retries < 0) throw new UsageError(`--retries: expected a whole number, got "${flags.retries}"`);
        const { dictionary, server, secret } = defaults(kind, flags, program.opts<GlobalOptions>());
        const identifier = randomInt(256);
        let attributes = encodeAll(dictionary, parsePairs(pairsText));

        let datagram: Buffer;
        if (kind === "acct") {
          datagram = buildAccountingRequest(identifier, attributes, secret, { messageAuthenticator: false });
        } else if (kind === "status") {
          datagram = buildStatusServer(identifier, attributes, secret).datagram;
        } else {
          const authenticator = randomBytes(16);
          if (flags.chap) {
            const password = attributes.find((a) => a.type === Attr.UserPassword);
            if (password === undefined) throw new UsageError("--chap: give the password as User-Password=...");
            const chap = chapResponse(randomInt(256), password.value, authenticator);
            attributes = attributes.map((a) => (a === password ? { type: Attr.ChapPassword, value: chap } : a));
          }
          datagram = buildAccessRequest(identifier, attributes, secret, { authenticator, messageAuthenticator: flags.messageAuthenticator }).datagram;
        }

        const target = server.host.includes(":") ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
        process.stdout.write(`Sent ${packetCodeName(datagram[0]!)} Id ${identifier} to ${target}\n`);
        const reply = await sendRequest(server, datagram, secret, { timeout, retries });
        if (reply === null) {
          process.stderr.write(`tally: no answer from ${target} after ${retries + 1} attempts (wrong secret, unknown client, or nothing listening)\n`);
          process.exitCode = EXIT_NO_ANSWER;
          return;
        }
        const decoded = decodePacket(reply.datagram);
        if (!decoded.ok) throw new Error(`malformed reply: ${decoded.reason} at ${decoded.offset}`);
        const p = decoded.packet;
        process.stdout.write(`Received ${packetCodeName(p.code)} Id ${p.identifier} from ${target} in ${reply.elapsedMs} ms\n`);
        for (const a of decodeAttributes(p.attributes, dictionary)) {
          // Printed as radclient does: text quoted, numbers, names, addresses and octets bare.
          const quoted = typeof a.value === "string" && dictionary.attribute(a.name)?.dataType === "string";
          process.stdout.write(`  ${a.name}${a.tag ? `:${a.tag}` : ""} = ${quoted ? JSON.stringify(a.value) : a.value}\n`);
        }
        const accepted = p.code === PacketCode.AccessAccept || p.code === PacketCode.AccountingResponse;
        process.exitCode = accepted ? EXIT_ACCEPTED : EXIT_REFUSED;
      }),
    );
}
