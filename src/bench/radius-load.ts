// RADIUS load for `tally bench`: requests spread over several UDP sockets (each with its own
// 256 identifiers), every answer verified (code and Response Authenticator), retransmission of
// the identical datagram on timeout as a NAS does. Workloads: accounting sessions (Start,
// N Interim-Updates, Stop; many sessions in parallel) and PAP / CHAP authentication.

import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { AcctStatusType, Attr, PacketCode } from "../radius/constants.ts";
import { chapResponse, verifyResponse } from "../radius/crypto.ts";
import { buildAccessRequest, buildAccountingRequest } from "../radius/message.ts";
import type { RawAttribute } from "../radius/packet.ts";
import type { Outcome } from "./stats.ts";

export interface RadiusTarget {
  host: string;
  port: number;
  secret: Buffer;
  sockets: number;
  /** ms before a retransmission; the request counts as a timeout after `retries` of them. */
  timeoutMs: number;
  retries: number;
}

interface Pending {
  datagram: Buffer;
  authenticator: Buffer;
  expect: number;
  deadline: number;
  attempts: number;
  resolve: (o: Outcome) => void;
}

class Lane {
  readonly socket: Socket;
  readonly pending: (Pending | undefined)[] = new Array(256);
  private readonly free: number[] = [];
  constructor(private readonly target: RadiusTarget) {
    for (let i = 255; i >= 0; i--) this.free.push(i);
    this.socket = createSocket({ type: isIPv6(target.host) ? "udp6" : "udp4", recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    this.socket.on("message", (msg) => this.onMessage(msg));
    this.socket.on("error", () => {});
  }
  get available(): number {
    return this.free.length;
  }
  send(build: (identifier: number) => { datagram: Buffer; authenticator: Buffer }, expect: number): Promise<Outcome> {
    const id = this.free.pop()!;
    const { datagram, authenticator } = build(id);
    return new Promise((resolve) => {
      this.pending[id] = { datagram, authenticator, expect, deadline: Date.now() + this.target.timeoutMs, attempts: 1, resolve };
      this.socket.send(datagram, this.target.port, this.target.host);
    });
  }
  private settle(id: number, outcome: Outcome): void {
    const p = this.pending[id];
    if (p === undefined) return;
    this.pending[id] = undefined;
    this.free.push(id);
    p.resolve(outcome);
  }
  private onMessage(msg: Buffer): void {
    if (msg.length < 20) return;
    const id = msg[1]!;
    const p = this.pending[id];
    if (p === undefined) return;
    this.settle(id, msg[0] === p.expect && verifyResponse(msg, p.authenticator, this.target.secret) ? "ok" : "error");
  }
  sweep(now: number): void {
    for (let id = 0; id < 256; id++) {
      const p = this.pending[id];
      if (p === undefined || now < p.deadline) continue;
      if (p.attempts > this.target.retries) {
        this.settle(id, "timeout");
        continue;
      }
      p.attempts++;
      p.deadline = now + this.target.timeoutMs;
      this.socket.send(p.datagram, this.target.port, this.target.host);
    }
  }
  close(): void {
    this.socket.close();
  }
}

/** Several sockets; a request goes to the one with the most free identifiers. */
export class RadiusLoadClient {
  private readonly lanes: Lane[];
  private readonly sweeper: NodeJS.Timeout;
  private next = 0;
  constructor(readonly target: RadiusTarget) {
    this.lanes = Array.from({ length: target.sockets }, () => new Lane(target));
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const l of this.lanes) l.sweep(now);
    }, 20);
  }
  /** The most requests that can be in flight at once (256 identifiers per socket). */
  get capacity(): number {
    return this.lanes.length * 256;
  }
  send(build: (identifier: number) => { datagram: Buffer; authenticator: Buffer }, expect: number): Promise<Outcome> {
    for (let i = 0; i < this.lanes.length; i++) {
      const lane = this.lanes[(this.next + i) % this.lanes.length]!;
      if (lane.available > 0) {
        this.next = (this.next + i + 1) % this.lanes.length;
        return lane.send(build, expect);
      }
    }
    return Promise.resolve("error");
  }
  close(): void {
    clearInterval(this.sweeper);
    for (const l of this.lanes) l.close();
  }
}

const u32 = (n: number) => {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const attr = (type: number, value: Buffer): RawAttribute => ({ type, value });

interface AcctSession {
  id: string;
  user: string;
  step: number;
}

export interface AcctWorkloadOptions {
  /** Interim-Updates per session between Start and Stop (sessions that end). */
  interims: number;
  /** Distinct users the sessions belong to. */
  users: number;
  /**
   * Sessions that never end: the first `openSessions` requests start them, the rest are
   * Interim-Updates going round all of them (memory and update rate with many sessions open).
   */
  openSessions?: number;
  /** Session ids are PREFIX-n; the same prefix in a later run continues the same sessions. */
  sessionPrefix?: string;
  /** With openSessions: the sessions were started by an earlier run; send only interims. */
  alreadyStarted?: boolean;
}

/**
 * Accounting sessions of Start, `interims` Interim-Updates and Stop, with growing counters.
 * `request()` sends the next packet of a session that is not waiting for an answer (a new one
 * when none is), so `concurrency` lanes keep about that many sessions going in parallel.
 * With `openSessions`, sessions never stop (see AcctWorkloadOptions).
 */
export class RadiusAcctWorkload {
  private readonly ready: AcctSession[] = [];
  private sessions = 0;
  private readonly prefix: string;
  private readonly nasIp = Buffer.from([127, 0, 0, 1]);
  /** openSessions mode: each session's next step (0 = Start), by session number. */
  private readonly steps: Uint32Array | null;
  private roundRobin = 0;

  constructor(
    private readonly client: RadiusLoadClient,
    private readonly o: AcctWorkloadOptions,
  ) {
    this.prefix = o.sessionPrefix ?? randomBytes(4).toString("hex");
    this.steps = o.openSessions === undefined ? null : new Uint32Array(o.openSessions).fill(o.alreadyStarted ? 1 : 0);
    if (o.alreadyStarted) this.sessions = o.openSessions ?? 0;
  }

  request(): Promise<Outcome> {
    if (this.steps !== null) return this.openSessionRequest(this.steps);
    const s = this.ready.pop() ?? this.newSession();
    const last = this.o.interims + 1;
    const type = s.step === 0 ? AcctStatusType.Start : s.step === last ? AcctStatusType.Stop : AcctStatusType.InterimUpdate;
    return this.send(s.id, s.user, s.step, type).then((outcome) => {
      s.step++;
      if (s.step <= last) this.ready.push(s);
      return outcome;
    });
  }

  private openSessionRequest(steps: Uint32Array): Promise<Outcome> {
    const n = this.sessions < steps.length ? this.sessions++ : this.roundRobin++ % steps.length;
    const step = steps[n]!;
    const id = `${this.prefix}-${n.toString(36)}`;
    return this.send(id, `user${n % this.o.users}`, step, step === 0 ? AcctStatusType.Start : AcctStatusType.InterimUpdate).then((outcome) => {
      steps[n] = step + 1;
      return outcome;
    });
  }

  private send(sessionId: string, user: string, step: number, type: number): Promise<Outcome> {
    const n = this.sessions;
    const attributes = [
      attr(Attr.AcctStatusType, u32(type)),
      attr(Attr.AcctSessionId, Buffer.from(sessionId)),
      attr(Attr.UserName, Buffer.from(user)),
      attr(Attr.NasIpAddress, this.nasIp),
      attr(Attr.NasIdentifier, Buffer.from("bench-nas")),
      attr(Attr.NasPort, u32(n & 0xffff)),
      attr(Attr.FramedIpAddress, u32(0x0a000000 + (n & 0xffffff))),
      attr(Attr.EventTimestamp, u32(Math.floor(Date.now() / 1000))),
    ];
    if (step > 0) {
      const octets = step * 150_000;
      attributes.push(attr(Attr.AcctInputOctets, u32(octets)), attr(Attr.AcctOutputOctets, u32(octets * 3)), attr(Attr.AcctSessionTime, u32(step * 60)));
      if (type === AcctStatusType.Stop) attributes.push(attr(Attr.AcctTerminateCause, u32(1)));
    }
    const secret = this.client.target.secret;
    return this.client.send((id) => {
      const datagram = buildAccountingRequest(id, attributes, secret, { messageAuthenticator: false });
      return { datagram, authenticator: datagram.subarray(4, 20) };
    }, PacketCode.AccountingResponse);
  }

  private newSession(): AcctSession {
    const n = this.sessions++;
    return { id: `${this.prefix}-${n.toString(36)}`, user: `user${n % this.o.users}`, step: 0 };
  }
}

/** Access-Requests for `user` with `password`: PAP (hidden User-Password) or CHAP. */
export class RadiusAuthWorkload {
  constructor(
    private readonly client: RadiusLoadClient,
    private readonly method: "pap" | "chap",
    private readonly user: string,
    private readonly password: string,
  ) {}

  request(): Promise<Outcome> {
    const secret = this.client.target.secret;
    const base = [attr(Attr.UserName, Buffer.from(this.user)), attr(Attr.NasIpAddress, Buffer.from([127, 0, 0, 1])), attr(Attr.NasPort, u32(1))];
    return this.client.send((id) => {
      if (this.method === "pap") {
        return buildAccessRequest(id, [...base, attr(Attr.UserPassword, Buffer.from(this.password))], secret);
      }
      const challenge = randomBytes(16);
      const response = chapResponse(id, Buffer.from(this.password), challenge);
      return buildAccessRequest(id, [...base, attr(Attr.ChapPassword, response), attr(Attr.ChapChallenge, challenge)], secret);
    }, PacketCode.AccessAccept);
  }
}
