// A connection to one OpenVPN management interface (TCP or unix socket): answers the password
// prompt, sends commands one at a time (answers carry no tags, so only one may be in flight),
// and hands every real-time message (>CLIENT, >BYTECOUNT_CLI, ...) to the owner.

import { connect, type Socket } from "node:net";
import { ManagementParser, type ManagementEvent } from "./management-codec.ts";

export type Endpoint = { host: string; port: number } | { path: string };

interface Pending {
  line: string;
  multiline: boolean;
  resolve: (lines: string[]) => void;
  reject: (e: Error) => void;
}

export class ManagementClient {
  private readonly parser = new ManagementParser();
  private readonly queue: Pending[] = [];
  private inFlight: Pending | null = null;
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly password: string | null,
    private readonly onEvent: (e: ManagementEvent) => void,
  ) {
    socket.on("data", (chunk: Buffer) => {
      for (const e of this.parser.push(chunk)) this.dispatch(e);
    });
    socket.on("close", () => {
      this.closed = true;
      const err = new Error("management connection closed");
      for (const p of [this.inFlight, ...this.queue]) p?.reject(err);
      this.inFlight = null;
      this.queue.length = 0;
    });
    socket.on("error", () => socket.destroy());
  }

  static open(endpoint: Endpoint, password: string | null, onEvent: (e: ManagementEvent) => void, onClose: () => void): Promise<ManagementClient> {
    return new Promise((resolve, reject) => {
      const socket = "path" in endpoint ? connect(endpoint.path) : connect(endpoint.port, endpoint.host);
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        socket.once("close", onClose);
        resolve(new ManagementClient(socket, password, onEvent));
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private dispatch(e: ManagementEvent): void {
    if (e.type === "password") {
      // ">PASSWORD:Need 'Management' password"
      if (this.password !== null) this.socket.write(`${this.password}\n`);
      return;
    }
    if (e.type === "success" || e.type === "error" || e.type === "response") {
      const p = this.inFlight;
      this.inFlight = null;
      if (p) {
        if (e.type === "error") p.reject(new Error(`${p.line.split("\n")[0]}: ${e.text}`));
        else p.resolve(e.type === "response" ? e.lines : [e.text]);
      }
      this.pump();
      return;
    }
    this.onEvent(e);
  }

  private pump(): void {
    if (this.inFlight !== null || this.closed) return;
    const next = this.queue.shift();
    if (!next) return;
    this.inFlight = next;
    if (next.multiline) this.parser.expectMultiline();
    this.socket.write(next.line);
  }

  /** Sends a command (a line from the codec's builders); resolves with its answer's lines. */
  command(line: string, multiline = false): Promise<string[]> {
    if (this.closed) return Promise.reject(new Error("management connection closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ line, multiline, resolve, reject });
      this.pump();
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
