// Fuzzes a real `tally serve` (RADIUS auth + acct, TACACS+) with datagrams and streams mutated
// from valid packets, while valid clients keep asking and checking their answers. At the end it
// checks the process is the same one, logged no error, kept its RSS bounded and answered every
// valid request correctly. `npm run fuzz` (FUZZ_SECONDS, default 60; or --seconds N);
// test/interop/fuzz.test.ts runs a short one. Everything is bounded: sockets, rate, time.

import { createSocket, type Socket } from "node:dgram";
import { connect } from "node:net";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { sendRequest } from "../src/radius/client.ts";
import { Attr, PacketCode } from "../src/radius/constants.ts";
import { accountingRequestAuthenticator, hmacMd5 } from "../src/radius/crypto.ts";
import { buildAccessRequest, buildAccountingRequest } from "../src/radius/message.ts";
import type { RawAttribute } from "../src/radius/packet.ts";
import { encodeAcctRequest, encodeAuthenContinue, encodeAuthenStart, encodeAuthorRequest } from "../src/tacacs/bodies.ts";
import { TacacsClient } from "../src/tacacs/client.ts";
import { AcctFlag, AcctStatus, AuthenStatus, AuthorStatus, PacketType } from "../src/tacacs/constants.ts";
import { sealPacket } from "../src/tacacs/packet.ts";
import { dropsBetween, scrapeDrops } from "../test/support/metrics.ts";
import { BASE_CONFIG, SECRET, TACACS_CONFIG, TACACS_KEY, sleep, startTally, type TallyProcess } from "../test/interop/harness.ts";

/** RADIUS on both ports and TACACS+ on one config: alice for RADIUS, bob (netops) for TACACS+. */
export const FUZZ_CONFIG = {
  ...BASE_CONFIG,
  tacacs: TACACS_CONFIG.tacacs,
  clients: [{ name: "lab", address: "127.0.0.0/8", secret: SECRET, tacacsKey: TACACS_KEY }],
  groups: TACACS_CONFIG.groups,
  users: [...BASE_CONFIG.users, ...TACACS_CONFIG.users],
  log: { level: "info" },
  // For /metrics: the drop counts (the log thins out repeated drops, src/log-throttle.ts).
  http: { listen: "127.0.0.1:0" },
};

export interface FuzzOptions {
  seconds: number;
  /** Fuzz datagrams per 10 ms tick (default 8; about 750/s with the sleep). */
  radiusPerTick?: number;
  /** TACACS+ fuzz connections open at once (default 8). */
  tacacsConnections?: number;
  /** Allowed RSS growth after warm-up, in MB (default 100). */
  rssGrowthMb?: number;
}

export interface FuzzReport {
  sent: Record<string, number>;
  valid: { sent: number; correct: number; wrong: string[] };
  /** From tally_drops_total: every drop, by "protocol:reason". */
  drops: Record<string, number>;
  /** Drop lines in the server's log (first ones and summaries): far fewer than the drops. */
  dropLogLines: number;
  rss: { startMb: number; warmMb: number; maxMb: number; endMb: number };
  pidAlive: boolean;
  errors: string[];
  failures: string[];
}

// ---- a small seeded-free random helper (crypto random; runs are not meant to replay) ----
const rnd = (n: number): number => Math.floor(Math.random() * n);
const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;

// ---------------------------------- RADIUS mutations ----------------------------------------

const secret = Buffer.from(SECRET);

function vsa(vendor: number, inner: Buffer): RawAttribute {
  const v = Buffer.alloc(4);
  v.writeUInt32BE(vendor);
  return { type: Attr.VendorSpecific, value: Buffer.concat([v, inner]) };
}

/** Valid requests to start from: an Access-Request, Accounting-Requests, VSAs, extended attributes. */
function radiusSeeds(): { datagram: Buffer; kind: "access" | "acct" }[] {
  const user = { type: Attr.UserName, value: Buffer.from("alice") };
  const seeds: { datagram: Buffer; kind: "access" | "acct" }[] = [];
  seeds.push({ kind: "access", datagram: buildAccessRequest(rnd(256), [user, { type: Attr.UserPassword, value: Buffer.from("alicepass") }], secret).datagram });
  seeds.push({
    kind: "access",
    datagram: buildAccessRequest(rnd(256), [user, { type: Attr.UserPassword, value: Buffer.from("x") }, vsa(9, Buffer.from([1, 8, ...Buffer.from("shell:")]))], secret).datagram,
  });
  const status = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return { type: Attr.AcctStatusType, value: b };
  };
  const session = { type: Attr.AcctSessionId, value: Buffer.from(`fz${rnd(1e6)}`) };
  for (const s of [1, 2, 3, 7, 8]) {
    seeds.push({
      kind: "acct",
      datagram: buildAccountingRequest(rnd(256), [user, status(s), session, { type: 42, value: Buffer.from([0, 0, 1, 0]) }, vsa(311, Buffer.from([1, 6, 0, 0, 0, 1])), { type: 241, value: Buffer.from([1, 65, 66]) }], secret),
    });
  }
  return seeds;
}

/** Offsets of the attributes of a well-formed packet (stops at the first broken one). */
function attributeOffsets(p: Buffer): number[] {
  const out: number[] = [];
  for (let at = 20; at + 2 <= p.length && p[at + 1]! >= 2; at += p[at + 1]!) out.push(at);
  return out;
}

/** Re-signs an Accounting-Request, or an Access-Request whose first attribute is the Message-Authenticator. */
function resign(p: Buffer): Buffer {
  if (p.length < 20) return p;
  const len = Math.min(p.length, p.readUInt16BE(2));
  const q = Buffer.from(p.subarray(0, len));
  if (q[0] === PacketCode.AccountingRequest) {
    q.fill(0, 4, 20);
    accountingRequestAuthenticator(q, secret).copy(q, 4);
  } else if (q[0] === PacketCode.AccessRequest && q[20] === Attr.MessageAuthenticator && q[21] === 18 && q.length >= 38) {
    q.fill(0, 22, 38);
    hmacMd5(q, secret).copy(q, 22);
  }
  return q;
}

const RADIUS_MUTATORS: Record<string, (p: Buffer) => Buffer> = {
  bitflip(p) {
    const q = Buffer.from(p);
    for (let i = 1 + rnd(8); i > 0; i--) q[rnd(q.length)]! ^= 1 << rnd(8);
    return q;
  },
  insert(p) {
    const at = rnd(p.length + 1);
    return Buffer.concat([p.subarray(0, at), randomBytes(1 + rnd(8)), p.subarray(at)]);
  },
  delete(p) {
    const at = rnd(p.length);
    return Buffer.concat([p.subarray(0, at), p.subarray(at + 1 + rnd(8))]);
  },
  lengthLie(p) {
    const q = Buffer.from(p);
    q.writeUInt16BE(pick([0, 1, 19, 20, 21, p.length - 1, p.length + 1, 4096, 4097, 65535, rnd(65536)]) & 0xffff, 2);
    return q;
  },
  attrLength(p) {
    const q = Buffer.from(p);
    const offs = attributeOffsets(q);
    if (offs.length) q[pick(offs) + 1] = pick([0, 1, 2, 3, 255, rnd(256)]);
    return q;
  },
  truncate(p) {
    return p.subarray(0, rnd(p.length));
  },
  random() {
    return randomBytes(rnd(120));
  },
  hugeAttributes(p) {
    const parts = [p];
    for (let n = 0, size = p.length; n < 20 && size + 257 <= 4096; n++, size += 257) parts.push(Buffer.from([pick([1, 26, 241, 245, 79, 80, rnd(256)]), 255]), randomBytes(253));
    const q = Buffer.concat(parts);
    q.writeUInt16BE(q.length, 2);
    return q;
  },
  brokenVsa(p) {
    const inner = pick([Buffer.from([1, 0]), Buffer.from([1, 1]), Buffer.from([1, 200, 1]), Buffer.from([1]), Buffer.alloc(0), randomBytes(rnd(30))]);
    const value = Buffer.concat([Buffer.from([0, 0, pick([0, 1, 9, 311, 14559]) >> 8, rnd(256)]), inner]);
    const q = Buffer.concat([p, Buffer.from([26, Math.min(255, 2 + value.length)]), value.subarray(0, 253)]);
    q.writeUInt16BE(q.length, 2);
    return q;
  },
  /** Random attribute values in a correctly framed, correctly signed packet: reaches the handlers. */
  structured: () => structuredRadius(),
  signedGarbage(p) {
    const q = Buffer.from(p);
    const offs = attributeOffsets(q).filter((o) => q[o] !== Attr.MessageAuthenticator);
    for (const o of offs) if (rnd(2)) randomBytes(q[o + 1]! - 2).copy(q, o + 2);
    if (offs.length && rnd(2)) q[pick(offs)] = rnd(256);
    return resign(q);
  },
};

/** A correctly signed request of random attributes: types Tally reads, odd lengths, random values. */
function structuredRadius(): Buffer {
  const types = [1, 2, 3, 4, 5, 6, 7, 8, 18, 24, 25, 26, 27, 30, 31, 32, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 55, 60, 61, 85, 87, 95, 97, 241, 242, 243, 244, 245, 246];
  const attrs: RawAttribute[] = [];
  if (rnd(2)) attrs.push({ type: Attr.UserName, value: Buffer.from(pick(["alice", "bob", "", "x".repeat(253)])) });
  for (let n = rnd(30); n > 0; n--) {
    const type = rnd(5) ? pick(types) : rnd(256);
    if (type === Attr.MessageAuthenticator) continue;
    attrs.push({ type, value: randomBytes(pick([0, 1, 2, 3, 4, 5, 6, 8, 16, 17, 18, 20, rnd(254)])) });
  }
  return rnd(2)
    ? buildAccessRequest(rnd(256), attrs, secret, { hidePasswords: rnd(2) === 0 }).datagram
    : buildAccountingRequest(rnd(256), attrs, secret);
}

// ---------------------------------- TACACS+ mutations ---------------------------------------

const ODD_ARGS = ["", "=", "*", "service", "service=shell", "cmd=", "cmd*", "cmd=show", "cmd-arg=<cr>", "priv-lvl=999", "priv-lvl*1", "priv-lvl=abc", "start_time=abc", "stop_time=99999999999999", "elapsed_time=-1", "bytes_in=1e400", "bytes_out=18446744073709551616", "task_id=", "task_id=1", "x".repeat(255), "addr=300.1.1.1"];

/** A correctly sealed packet whose fields are valid in form and odd in content (the handlers' input). */
function structuredTacacs(): Buffer {
  const sessionId = rnd(0x100000000);
  const type = 1 + rnd(3);
  const text = () => pick(["bob", "eve", "", "nobody", "x".repeat(255), randomBytes(rnd(40)).toString("latin1")]);
  const args = () => Array.from({ length: pick([0, 1, 3, 20, 254, 255]) }, () => (rnd(4) ? pick(ODD_ARGS) : randomBytes(rnd(60)).toString("latin1")));
  const common = { privLvl: pick([0, 1, 15, 16, 255]), authenType: pick([0, 1, 2, 3, 5, 6, rnd(256)]), authenService: pick([0, 1, 2, 3, 4, 5, 6, 7, 8, rnd(256)]), user: text(), port: text(), remAddr: text() };
  let body: Buffer;
  if (type === PacketType.Authentication) {
    body = encodeAuthenStart({ action: pick([1, 2, 4, rnd(256)]), ...common, data: randomBytes(pick([0, 1, 16, 17, 18, 40, 49, 50, 66, rnd(256)])) });
  } else if (type === PacketType.Authorization) {
    body = encodeAuthorRequest({ authenMethod: pick([0, 1, 6, rnd(256)]), ...common, args: args() });
  } else {
    body = encodeAcctRequest({ flags: pick([0, 2, 4, 6, 8, 10, 12, 14, rnd(256)]), authenMethod: 6, ...common, args: args() });
  }
  const minorVersion = type === PacketType.Authentication ? pick([0, 1]) : 0;
  const first = sealPacket({ majorVersion: 0xc, minorVersion, flags: pick([0, 0, 4]), seqNo: 1, sessionId, type }, body, tacKey);
  if (type !== PacketType.Authentication || rnd(2)) return first;
  // An ASCII login goes on with CONTINUEs; send a few with odd flags and contents.
  const more = Array.from({ length: 1 + rnd(4) }, (_, i) =>
    sealPacket({ majorVersion: 0xc, minorVersion, flags: 0, seqNo: 3 + 2 * i, sessionId, type }, encodeAuthenContinue({ flags: pick([0, 1, rnd(256)]), userMsg: randomBytes(rnd(40)), data: randomBytes(rnd(40)) }), tacKey),
  );
  return Buffer.concat([first, ...more]);
}

const tacKey = Buffer.from(TACACS_KEY);

function tacacsSeed(): Buffer {
  const sessionId = rnd(0x100000000);
  const header = (type: number, seqNo = 1) => ({ majorVersion: 0xc, minorVersion: type === PacketType.Authentication ? 1 : 0, flags: 0, seqNo, sessionId, type });
  const who = { privLvl: 1, authenType: 2, authenService: 1, user: "bob", port: "tty1", remAddr: "192.0.2.1" };
  switch (rnd(4)) {
    case 0:
      return sealPacket(header(PacketType.Authentication), encodeAuthenStart({ action: 1, ...who, data: Buffer.from("bobpass") }), tacKey);
    case 1:
      return sealPacket(header(PacketType.Authorization), encodeAuthorRequest({ authenMethod: 6, ...who, args: ["service=shell", "cmd=show", "cmd-arg=version"] }), tacKey);
    case 2:
      return sealPacket(header(PacketType.Accounting), encodeAcctRequest({ flags: AcctFlag.Start, authenMethod: 6, ...who, args: ["task_id=1", "service=shell"] }), tacKey);
    default:
      return Buffer.concat([
        sealPacket({ ...header(PacketType.Authentication), minorVersion: 0 }, encodeAuthenStart({ action: 1, ...who, authenType: 1, data: Buffer.alloc(0) }), tacKey),
        sealPacket({ ...header(PacketType.Authentication, 3), minorVersion: 0 }, encodeAuthenContinue({ flags: 0, userMsg: Buffer.from("bobpass"), data: Buffer.alloc(0) }), tacKey),
      ]);
  }
}

/** Seals a body of random bytes with the right key, so it gets past the framing to the body decoders. */
function sealedGarbage(): Buffer {
  const type = 1 + rnd(3);
  return sealPacket({ majorVersion: 0xc, minorVersion: rnd(2), flags: 0, seqNo: pick([1, 1, 2, 3, 255]), sessionId: rnd(0x100000000), type }, randomBytes(rnd(300)), tacKey);
}

const TACACS_MUTATORS: Record<string, (p: Buffer) => Buffer> = {
  bitflip: RADIUS_MUTATORS.bitflip!,
  insert: RADIUS_MUTATORS.insert!,
  delete: RADIUS_MUTATORS.delete!,
  lengthLie(p) {
    const q = Buffer.from(p);
    q.writeUInt32BE(pick([0, 1, p.length - 13, p.length - 11, 65535, 0x7fffffff, 0xffffffff, rnd(0x100000000)]) >>> 0, 8);
    return q;
  },
  version(p) {
    const q = Buffer.from(p);
    q[0] = pick([0x00, 0xc2, 0xd0, 0xc0, 0xc1, rnd(256)]);
    return q;
  },
  seqNo(p) {
    const q = Buffer.from(p);
    q[2] = pick([0, 2, 4, 254, 255, rnd(256)]);
    return q;
  },
  flags(p) {
    const q = Buffer.from(p);
    q[3] = pick([1, 4, 5, 0xff, rnd(256)]);
    return q;
  },
  truncate: RADIUS_MUTATORS.truncate!,
  random: () => randomBytes(rnd(200)),
  sealedGarbage: () => sealedGarbage(),
  structured: () => structuredTacacs(),
  repeated: (p) => Buffer.concat(Array.from({ length: 2 + rnd(10) }, () => p)),
};

// ----------------------------------- the fuzz loop ------------------------------------------

/** A mutator that does not fit its input (a length field past the end of a stacked truncation) leaves it as it is. */
function apply(mutators: Record<string, (p: Buffer) => Buffer>, name: string, p: Buffer): Buffer {
  try {
    return mutators[name]!(p);
  } catch {
    return p;
  }
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** One TACACS+ fuzz connection: writes the stream (sometimes in pieces), waits briefly, closes. */
function tacacsConnection(port: number, stream: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, 300 + rnd(700));
    socket.on("error", done);
    socket.on("close", done);
    socket.on("data", () => undefined);
    socket.on("connect", () => {
      const cut = rnd(stream.length + 1);
      socket.write(stream.subarray(0, cut));
      setTimeout(() => {
        if (!socket.destroyed) socket.write(stream.subarray(cut));
        if (rnd(2) && !socket.destroyed) socket.end();
      }, rnd(20));
    });
  });
}

/** Runs the fuzz against a running Tally; does not stop it. */
export async function fuzz(tally: TallyProcess, opts: FuzzOptions): Promise<FuzzReport> {
  const pid = tally.child.pid!;
  const logStart = tally.logs.length;
  const dropsAtStart = await scrapeDrops(tally.httpPort);
  const sent: Record<string, number> = {};
  const count = (k: string) => (sent[k] = (sent[k] ?? 0) + 1);
  const valid = { sent: 0, correct: 0, wrong: [] as string[] };
  const failures: string[] = [];
  const started = Date.now();
  const endAt = started + opts.seconds * 1000;
  const warmAt = started + Math.min(5000, (opts.seconds * 1000) / 4);
  const rss = { startMb: rssMb(pid), warmMb: NaN, maxMb: rssMb(pid), endMb: NaN };
  const running = () => Date.now() < endAt && tally.child.exitCode === null && tally.child.signalCode === null;

  // Sampler.
  const sampler = (async () => {
    while (running()) {
      const r = rssMb(pid);
      if (Number.isNaN(rss.warmMb) && Date.now() >= warmAt) rss.warmMb = r;
      if (r > rss.maxMb) rss.maxMb = r;
      await sleep(250);
    }
  })();

  // RADIUS fuzz from four sockets; replies are read and thrown away.
  const sockets: Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const s = createSocket("udp4");
    s.on("message", () => count("radius-replies"));
    s.on("error", () => undefined);
    await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
    sockets.push(s);
  }
  const radiusNames = Object.keys(RADIUS_MUTATORS);
  const radiusFuzz = (async () => {
    let seeds = radiusSeeds();
    for (let tick = 0; running(); tick++) {
      if (tick % 100 === 0) seeds = radiusSeeds();
      for (let i = 0; i < (opts.radiusPerTick ?? 8); i++) {
        const seed = pick(seeds);
        const name = pick(radiusNames);
        let d = apply(RADIUS_MUTATORS, name, seed.datagram);
        if (rnd(4) === 0) d = apply(RADIUS_MUTATORS, pick(radiusNames), d); // stack two
        const port = seed.kind === "access" ? tally.authPort : tally.acctPort;
        count(`radius-${name}`);
        pick(sockets).send(d.subarray(0, 4096), rnd(8) === 0 ? (port === tally.authPort ? tally.acctPort : tally.authPort) : port, "127.0.0.1");
      }
      await sleep(10);
    }
  })();

  // TACACS+ fuzz: a bounded number of connections at once.
  const tacacsNames = Object.keys(TACACS_MUTATORS);
  const tacacsWorker = async () => {
    while (running()) {
      const name = pick(tacacsNames);
      let stream = apply(TACACS_MUTATORS, name, tacacsSeed());
      if (rnd(4) === 0) stream = apply(TACACS_MUTATORS, pick(tacacsNames), stream);
      count(`tacacs-${name}`);
      await tacacsConnection(tally.tacacsPort, stream.subarray(0, 70_000));
    }
  };
  const tacacsFuzz = Promise.all(Array.from({ length: opts.tacacsConnections ?? 8 }, tacacsWorker));

  // Valid clients, interleaved; every answer is checked.
  const check = (what: string, ok: boolean, got: unknown) => {
    valid.sent++;
    if (ok) valid.correct++;
    else if (valid.wrong.length < 20) valid.wrong.push(`${what}: got ${JSON.stringify(got)}`);
    else valid.wrong.length++;
  };
  const radiusValid = (async () => {
    for (let n = 0; running(); n++) {
      const good = n % 4 !== 3;
      const req = buildAccessRequest(n & 0xff, [{ type: Attr.UserName, value: Buffer.from("alice") }, { type: Attr.UserPassword, value: Buffer.from(good ? "alicepass" : "wrong") }], secret);
      const reply = await sendRequest({ host: "127.0.0.1", port: tally.authPort }, req.datagram, secret, { timeout: 1, retries: 3 });
      const want = good ? PacketCode.AccessAccept : PacketCode.AccessReject;
      check(`radius access ${good ? "good" : "bad"} password`, reply?.datagram[0] === want, reply?.datagram[0] ?? "no reply");
      const status = Buffer.alloc(4);
      status.writeUInt32BE(n % 2 ? 2 : 1);
      const acct = buildAccountingRequest(n & 0xff, [
        { type: Attr.UserName, value: Buffer.from("alice") },
        { type: Attr.AcctStatusType, value: status },
        { type: Attr.AcctSessionId, value: Buffer.from(`valid-${Math.floor(n / 2)}`) },
      ], secret);
      const areply = await sendRequest({ host: "127.0.0.1", port: tally.acctPort }, acct, secret, { timeout: 1, retries: 3 });
      check("radius accounting", areply?.datagram[0] === PacketCode.AccountingResponse, areply?.datagram[0] ?? "no reply");
      await sleep(20);
    }
  })();
  const tacacsValid = (async () => {
    const client = await TacacsClient.connect({ host: "127.0.0.1", port: tally.tacacsPort, key: TACACS_KEY, timeout: 4 });
    for (let n = 0; running(); n++) {
      try {
        const pap = await client.authenPap("bob", n % 4 === 3 ? "wrong" : "bobpass");
        check("tacacs pap", pap.status === (n % 4 === 3 ? AuthenStatus.Fail : AuthenStatus.Pass), pap.status);
        const author = await client.authorize({ user: "bob", args: ["service=shell", ...(n % 2 ? ["cmd=reload"] : ["cmd=show", "cmd-arg=version"]), "cmd-arg=<cr>"] });
        check("tacacs authorize", author.status === (n % 2 ? AuthorStatus.Fail : AuthorStatus.PassAdd), author.status);
        const acct = await client.account({ user: "bob", port: "tty9", flags: n % 2 ? AcctFlag.Stop : AcctFlag.Start, args: [`task_id=v${Math.floor(n / 2)}`, "service=shell"] });
        check("tacacs accounting", acct.status === AcctStatus.Success, acct.status);
      } catch (e) {
        check("tacacs exchange", false, (e as Error).message);
      }
      await sleep(20);
    }
  })();

  await Promise.all([sampler, radiusFuzz, tacacsFuzz, radiusValid, tacacsValid]);
  for (const s of sockets) s.close();
  await sleep(500); // let the last log lines through the pipe
  rss.endMb = rssMb(pid);
  if (Number.isNaN(rss.warmMb)) rss.warmMb = rss.startMb;

  const pidAlive = tally.child.exitCode === null && tally.child.signalCode === null && !Number.isNaN(rss.endMb);
  const drops = pidAlive ? dropsBetween(dropsAtStart, await scrapeDrops(tally.httpPort)) : {};
  const errors: string[] = [];
  let dropLogLines = 0;
  for (const l of tally.logs.slice(logStart)) {
    if (typeof l.reason === "string" && typeof l.msg === "string" && (l.msg.startsWith("dropped RADIUS") || l.msg.startsWith("TACACS+: "))) dropLogLines++;
    if ((typeof l.level === "number" && l.level >= 50) || /uncaught|unhandled/i.test(String(l.msg))) errors.push(JSON.stringify(l).slice(0, 2000));
  }
  if (!pidAlive) failures.push(`the server (pid ${pid}) is gone: exit ${tally.child.exitCode ?? tally.child.signalCode}`);
  if (errors.length) failures.push(`${errors.length} error log lines, first: ${errors[0]}`);
  if (valid.sent === 0) failures.push("no valid request was sent");
  if (valid.correct !== valid.sent) failures.push(`${valid.sent - valid.correct} of ${valid.sent} valid requests not answered correctly: ${valid.wrong.slice(0, 5).join("; ")}`);
  const growth = rss.maxMb - rss.warmMb;
  if (!(growth < (opts.rssGrowthMb ?? 100))) failures.push(`RSS grew ${growth.toFixed(1)} MB after warm-up (${rss.warmMb.toFixed(1)} -> max ${rss.maxMb.toFixed(1)})`);
  return { sent, valid, drops, dropLogLines, rss, pidAlive, errors, failures };
}

export function formatReport(r: FuzzReport, seconds: number): string {
  const lines = [`fuzzed for ${seconds} s`];
  const total = (prefix: string) => Object.entries(r.sent).filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);
  lines.push(`sent: ${total("radius-") - (r.sent["radius-replies"] ?? 0)} RADIUS datagrams, ${total("tacacs-")} TACACS+ connections; ${r.sent["radius-replies"] ?? 0} RADIUS replies to fuzz`);
  for (const [k, v] of Object.entries(r.sent).sort()) lines.push(`  ${k.padEnd(28)} ${v}`);
  lines.push(`valid requests: ${r.valid.correct}/${r.valid.sent} answered correctly`);
  lines.push("drops by reason (tally_drops_total):");
  for (const [k, v] of Object.entries(r.drops).sort((a, b) => b[1] - a[1])) lines.push(`  ${k.padEnd(40)} ${v}`);
  lines.push(`drop lines in the server's log: ${r.dropLogLines} (first per reason and source, then a count per 10 s)`);
  lines.push(`RSS MB: start ${r.rss.startMb.toFixed(1)}, after warm-up ${r.rss.warmMb.toFixed(1)}, max ${r.rss.maxMb.toFixed(1)}, end ${r.rss.endMb.toFixed(1)}`);
  lines.push(`server process alive: ${r.pidAlive}; error log lines: ${r.errors.length}`);
  lines.push(r.failures.length ? `FAILED:\n  ${r.failures.join("\n  ")}` : "OK");
  return lines.join("\n");
}

async function main(): Promise<void> {
  const flag = process.argv.indexOf("--seconds");
  const seconds = Number(flag >= 0 ? process.argv[flag + 1] : (process.env.FUZZ_SECONDS ?? 60));
  if (!(seconds > 0)) throw new Error("--seconds / FUZZ_SECONDS must be a positive number");
  const tally = await startTally(FUZZ_CONFIG);
  let report: FuzzReport;
  try {
    report = await fuzz(tally, { seconds });
  } finally {
    await tally.cleanup();
  }
  console.log(formatReport(report, seconds));
  process.exitCode = report.failures.length ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
