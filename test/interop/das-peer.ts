// A NAS's dynamic-authorization server (RFC 5176) for tests: test/interop/pyrad/das.py, a pyrad
// program, answering ACK or NAK by Acct-Session-Id and reporting every request it gets.

import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { SECRET, sleep } from "./harness.ts";

export interface DasRequest {
  code: number;
  identifier: number;
  sessionId: string | null;
  user: string | null;
  nasIp: string | null;
  framedIp: string | null;
  eventTimestamp: number | null;
  interimInterval: number | null;
  authenticatorValid: boolean;
  messageAuthenticatorValid: boolean | null;
  answered: string;
}

export class DasPeer {
  readonly requests: DasRequest[] = [];
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(ack: string[], nak: string[]): Promise<DasPeer> {
    const child = spawn("/usr/bin/python3", [join(import.meta.dirname, "pyrad", "das.py"), SECRET, ack.join(",") || "-", nak.join(",") || "-"], { stdio: ["ignore", "pipe", "inherit"] });
    const lines = createInterface({ input: child.stdout! });
    const requests: DasRequest[] = [];
    const port = await new Promise<number>((resolve, reject) => {
      lines.once("line", (l) => resolve((JSON.parse(l) as { port: number }).port));
      child.once("exit", (code) => reject(new Error(`das.py exited ${code}`)));
    });
    lines.on("line", (l) => requests.push(JSON.parse(l) as DasRequest));
    const peer = new DasPeer(child, port);
    (peer as { requests: DasRequest[] }).requests = requests;
    return peer;
  }

  async waitFor(match: (r: DasRequest) => boolean, ms = 8000): Promise<DasRequest> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const found = this.requests.find(match);
      if (found) return found;
      await sleep(25);
    }
    throw new Error(`the peer saw no matching request; saw ${JSON.stringify(this.requests)}`);
  }

  stop(): void {
    this.child.kill("SIGTERM");
  }
}

