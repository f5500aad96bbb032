// TACACS+ load for `tally bench`, through Tally's own TACACS+ client: accounting (START and
// STOP records of shell sessions) or PAP authentication, over K persistent single-connect
// connections (many sessions multiplexed on each), or over a new connection per request as
// many devices do. Every reply is decrypted and its status checked.

import { AcctFlag, AcctStatus, AuthenStatus } from "../tacacs/constants.ts";
import { TacacsClient, type TacacsClientOptions } from "../tacacs/client.ts";
import type { Outcome } from "./stats.ts";

export interface TacacsLoadOptions {
  host: string;
  port: number;
  key: string;
  /** TACACS+ over TLS 1.3 (RFC 9887) instead of TCP. */
  tls?: TacacsClientOptions["tls"];
  kind: "acct" | "authen";
  /** Persistent single-connect connections; 0: a new connection per request. */
  connections: number;
  user: string;
  password: string;
  timeoutSeconds: number;
}

export class TacacsWorkload {
  private next = 0;
  private task = 0;
  private constructor(
    private readonly clients: TacacsClient[],
    private readonly opts: TacacsLoadOptions,
  ) {}

  static async open(opts: TacacsLoadOptions): Promise<TacacsWorkload> {
    const base = { host: opts.host, port: opts.port, key: opts.key, tls: opts.tls, timeout: opts.timeoutSeconds };
    const clients =
      opts.connections > 0
        ? await Promise.all(Array.from({ length: opts.connections }, () => TacacsClient.connect({ ...base, singleConnect: true })))
        : [await TacacsClient.connect({ ...base, singleConnect: false })];
    return new TacacsWorkload(clients, opts);
  }

  async request(): Promise<Outcome> {
    const client = this.clients[this.next++ % this.clients.length]!;
    try {
      if (this.opts.kind === "authen") {
        const reply = await client.authenPap(this.opts.user, this.opts.password, { port: "tty1", remAddr: "192.0.2.1" });
        return reply.status === AuthenStatus.Pass ? "ok" : "error";
      }
      const task = this.task++;
      const start = task % 2 === 0;
      const reply = await client.account({
        user: `user${(task >> 1) % 1000}`,
        port: `tty${task >> 1}`,
        remAddr: "192.0.2.1",
        flags: start ? AcctFlag.Start : AcctFlag.Stop,
        args: start
          ? [`task_id=${task >> 1}`, "service=shell", `start_time=${Math.floor(Date.now() / 1000)}`]
          : [`task_id=${task >> 1}`, "service=shell", `stop_time=${Math.floor(Date.now() / 1000)}`, "elapsed_time=60", "bytes_in=1000", "bytes_out=3000"],
      });
      return reply.status === AcctStatus.Success ? "ok" : "error";
    } catch (e) {
      return /timed? ?out/i.test((e as Error).message) ? "timeout" : "error";
    }
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}
