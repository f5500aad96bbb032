/**
 * OpenVPN management-interface codec (pure: no sockets, no timers).
 *
 * Tally drives an OpenVPN 2.6 server through `--management HOST PORT` with
 * `--management-client-auth`: OpenVPN announces each client (`>CLIENT:CONNECT`, with
 * its environment in `>CLIENT:ENV,...` lines) and waits for `client-auth` /
 * `client-auth-nt` / `client-deny`; it reports sessions (`>CLIENT:ESTABLISHED`,
 * `>CLIENT:DISCONNECT` with byte counts), periodic `>BYTECOUNT_CLI` counters, and
 * answers commands with `SUCCESS:` / `ERROR:` lines or multi-line blocks ended by `END`.
 *
 * This module turns the byte stream into typed events (ManagementParser), reads the
 * `status 3` client list (parseStatus3), and builds command lines that cannot be
 * misparsed by OpenVPN's lexer (the command builders).  The socket client lives
 * elsewhere.  Behaviour is checked against transcripts captured from a real OpenVPN
 * (test/openvpn/vectors/, made by test/openvpn/capture-transcripts.sh).
 *
 * Correlating answers with commands: the protocol has no tags, and OpenVPN answers
 * commands strictly in order, one answer per command, with real-time (`>`) messages
 * possibly arriving between answers but never inside one.  A single-line answer is
 * recognisable by itself (`SUCCESS:` / `ERROR:`); a multi-line answer (`status`,
 * `version`, `help`, `log all`, ...) is not, so the client must tell the parser
 * with `expectMultiline()` right before it sends such a command.  The client should
 * keep at most one command in flight (send the next after the previous answer) so a
 * `SUCCESS:`/`ERROR:` line can be attributed without ambiguity.
 */

/** `>CLIENT:` notification kinds. `address` has no ENV block (see management-notes). */
export type ClientKind = "connect" | "reauth" | "established" | "disconnect" | "address" | "cr_response";

export interface ClientEvent {
  type: "client";
  kind: ClientKind;
  /** OpenVPN's per-process client counter: an id for this connection, not a session id. */
  cid: number;
  /** Key id (TLS negotiation) for connect / reauth / cr_response, otherwise null. */
  kid: number | null;
  env: Record<string, string>;
  /** Only for kind "address": `>CLIENT:ADDRESS,{CID},{ADDR},{PRI}`. */
  address?: { address: string; primary: boolean };
  /** Only for kind "cr_response": the client's base64 answer, undecoded. */
  response?: string;
}

export type ManagementEvent =
  | { type: "info"; text: string }
  | ClientEvent
  /**
   * `>BYTECOUNT_CLI:cid,in,out` (server, cid set) or `>BYTECOUNT:in,out` (cid null).
   * For BYTECOUNT_CLI, bytesIn is what the server received from that client.
   */
  | { type: "bytecount"; cid: number | null; bytesIn: number; bytesOut: number }
  | { type: "state"; time: number; state: string; fields: string[] }
  | { type: "log"; time: number; flags: string; message: string }
  | { type: "hold"; text: string }
  | { type: "password"; text: string }
  /** Any other real-time message `>NAME:payload`, kept raw. */
  | { type: "notify"; name: string; payload: string }
  | { type: "success"; text: string }
  | { type: "error"; text: string }
  /** A multi-line command answer, without its `END` line. */
  | { type: "response"; lines: string[] }
  /** A non-`>` line that is neither SUCCESS/ERROR nor part of an expected multi-line answer. */
  | { type: "unexpected"; line: string }
  | { type: "malformed"; reason: string; line: string };

export interface ParserOptions {
  /**
   * Longest accepted line in bytes, counted before the LF (a CR before it counts).
   * Real ENV lines are short (X.509 subjects, a few hundred bytes); the cap bounds
   * memory if the peer misbehaves.
   */
  maxLineLength?: number;
}

const DEFAULT_MAX_LINE = 64 * 1024;
/** How much of an offending line a malformed event carries (keeps events small). */
const SAMPLE = 200;
const LF = 0x0a;

const DECIMAL = /^\d{1,16}$/;

function parseCount(s: string | undefined): number | null {
  if (s === undefined || !DECIMAL.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

interface PendingBlock {
  kind: ClientKind;
  cid: number;
  kid: number | null;
  response?: string;
  header: string;
  env: Record<string, string>;
}

export class ManagementParser {
  private readonly maxLine: number;
  /** Bytes of the current unterminated line; bytes, not text, so a UTF-8 sequence split across chunks decodes correctly. */
  private pending: Buffer[] = [];
  private pendingLen = 0;
  /** True after an over-long line was reported: drop bytes until its LF. */
  private discarding = false;
  private block: PendingBlock | null = null;
  private multilineExpected = 0;
  private response: string[] | null = null;

  constructor(options: ParserOptions = {}) {
    this.maxLine = options.maxLineLength ?? DEFAULT_MAX_LINE;
  }

  /**
   * Announce that the next command sent has a multi-line answer ended by `END`
   * (e.g. `status 3`).  Call right before sending it.  Calls queue up, one per command.
   * If OpenVPN answers such a command with `ERROR: ...` instead, that line is the
   * whole answer and is reported as an `error` event.
   */
  expectMultiline(): void {
    this.multilineExpected++;
  }

  /** Feed bytes as they arrive; returns the events completed by them. Never throws. */
  push(chunk: Buffer | string): ManagementEvent[] {
    const out: ManagementEvent[] = [];
    const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(LF, start);
      const end = nl === -1 ? buf.length : nl;
      if (this.discarding) {
        if (nl !== -1) this.discarding = false;
      } else {
        const piece = buf.subarray(start, end);
        if (this.pendingLen + piece.length > this.maxLine) {
          // The sample is cut at a length that is reached however the bytes were chunked,
          // so the event does not depend on chunk boundaries.
          const sample = Buffer.concat([...this.pending, piece]).subarray(0, Math.min(SAMPLE, this.maxLine + 1)).toString("utf8");
          out.push({ type: "malformed", reason: `line longer than ${this.maxLine} bytes`, line: sample });
          this.pending = [];
          this.pendingLen = 0;
          this.discarding = nl === -1;
        } else if (nl === -1) {
          // Copy: the caller may reuse its buffer after push() returns.
          this.pending.push(Buffer.from(piece));
          this.pendingLen += piece.length;
        } else {
          const raw = this.pendingLen === 0 ? piece : Buffer.concat([...this.pending, piece]);
          this.pending = [];
          this.pendingLen = 0;
          let line = raw.toString("utf8");
          if (line.endsWith("\r")) line = line.slice(0, -1);
          this.line(line, out);
        }
      }
      start = nl === -1 ? buf.length : nl + 1;
    }
    return out;
  }

  /**
   * The stream ended: report what was left incomplete (an unterminated line, an
   * unfinished ENV block or multi-line answer) as malformed events, and reset.
   */
  end(): ManagementEvent[] {
    const out: ManagementEvent[] = [];
    if (this.pendingLen > 0) {
      out.push({ type: "malformed", reason: "unterminated line at end of stream", line: Buffer.concat(this.pending).subarray(0, SAMPLE).toString("utf8") });
    }
    if (this.block) out.push({ type: "malformed", reason: "CLIENT block without ENV,END at end of stream", line: this.block.header });
    if (this.response) out.push({ type: "malformed", reason: "multi-line answer without END at end of stream", line: this.response[0] ?? "" });
    this.pending = [];
    this.pendingLen = 0;
    this.discarding = false;
    this.block = null;
    this.response = null;
    this.multilineExpected = 0;
    return out;
  }

  private line(line: string, out: ManagementEvent[]): void {
    if (this.block) {
      if (line.startsWith(">CLIENT:ENV,")) {
        this.envLine(line, this.block, out);
        return;
      }
      // OpenVPN writes a CLIENT block atomically, so this should not happen; report
      // the cut block rather than invent its missing ENV, and read the line normally.
      out.push({ type: "malformed", reason: "CLIENT block interrupted before ENV,END", line: this.block.header });
      this.block = null;
    }
    if (line.startsWith(">")) {
      this.realtime(line, out);
      return;
    }
    if (this.response) {
      if (line === "END") {
        out.push({ type: "response", lines: this.response });
        this.response = null;
      } else {
        this.response.push(line);
      }
      return;
    }
    if (this.multilineExpected > 0) {
      this.multilineExpected--;
      if (line.startsWith("ERROR:")) {
        out.push({ type: "error", text: line.slice(6).trimStart() });
      } else if (line === "END") {
        out.push({ type: "response", lines: [] });
      } else {
        this.response = [line];
      }
      return;
    }
    if (line.startsWith("SUCCESS:")) {
      out.push({ type: "success", text: line.slice(8).trimStart() });
    } else if (line.startsWith("ERROR:")) {
      out.push({ type: "error", text: line.slice(6).trimStart() });
    } else {
      out.push({ type: "unexpected", line });
    }
  }

  private envLine(line: string, block: PendingBlock, out: ManagementEvent[]): void {
    const kv = line.slice(">CLIENT:ENV,".length);
    if (kv === "END") {
      const ev: ClientEvent = { type: "client", kind: block.kind, cid: block.cid, kid: block.kid, env: block.env };
      if (block.response !== undefined) ev.response = block.response;
      out.push(ev);
      this.block = null;
      return;
    }
    // Split at the first "=" only: values may contain "=" and "," (X.509 subjects).
    const eq = kv.indexOf("=");
    if (eq <= 0) {
      out.push({ type: "malformed", reason: "ENV line without name=value", line });
      return;
    }
    block.env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }

  private realtime(line: string, out: ManagementEvent[]): void {
    const colon = line.indexOf(":");
    if (colon < 2) {
      out.push({ type: "malformed", reason: "real-time message without NAME:", line });
      return;
    }
    const name = line.slice(1, colon);
    const payload = line.slice(colon + 1);
    switch (name) {
      case "INFO":
        out.push({ type: "info", text: payload });
        return;
      case "CLIENT":
        this.clientHeader(line, payload, out);
        return;
      case "BYTECOUNT":
      case "BYTECOUNT_CLI": {
        const f = payload.split(",");
        const withCid = name === "BYTECOUNT_CLI";
        const want = withCid ? 3 : 2;
        const nums = f.map(parseCount);
        if (f.length !== want || nums.some((n) => n === null)) {
          out.push({ type: "malformed", reason: `${name} needs ${want} decimal fields`, line });
          return;
        }
        const [a, b, c] = nums as number[];
        out.push(withCid
          ? { type: "bytecount", cid: a as number, bytesIn: b as number, bytesOut: c as number }
          : { type: "bytecount", cid: null, bytesIn: a as number, bytesOut: b as number });
        return;
      }
      case "STATE": {
        // >STATE:time,NAME,description,local-ip,remote-ip,remote-port,local-addr,local-port,local-ipv6
        const f = payload.split(",");
        const time = parseCount(f[0]);
        if (time === null || f.length < 2 || f[1] === "") {
          out.push({ type: "malformed", reason: "STATE needs time,name", line });
          return;
        }
        out.push({ type: "state", time, state: f[1] as string, fields: f.slice(2) });
        return;
      }
      case "LOG": {
        // >LOG:time,flags,message -- the message itself may contain commas.
        const c1 = payload.indexOf(",");
        const c2 = c1 === -1 ? -1 : payload.indexOf(",", c1 + 1);
        const time = parseCount(payload.slice(0, c1));
        if (c2 === -1 || time === null) {
          out.push({ type: "malformed", reason: "LOG needs time,flags,message", line });
          return;
        }
        out.push({ type: "log", time, flags: payload.slice(c1 + 1, c2), message: payload.slice(c2 + 1) });
        return;
      }
      case "HOLD":
        out.push({ type: "hold", text: payload });
        return;
      case "PASSWORD":
        out.push({ type: "password", text: payload });
        return;
      default:
        out.push({ type: "notify", name, payload });
    }
  }

  private clientHeader(line: string, payload: string, out: ManagementEvent[]): void {
    const f = payload.split(",");
    const what = f[0];
    const cid = parseCount(f[1]);
    const bad = (reason: string) => out.push({ type: "malformed", reason, line });
    switch (what) {
      case "CONNECT":
      case "REAUTH": {
        const kid = parseCount(f[2]);
        if (f.length !== 3 || cid === null || kid === null) return void bad(`CLIENT:${what} needs CID,KID`);
        this.block = { kind: what === "CONNECT" ? "connect" : "reauth", cid, kid, header: line, env: {} };
        return;
      }
      case "ESTABLISHED":
      case "DISCONNECT":
        if (f.length !== 2 || cid === null) return void bad(`CLIENT:${what} needs CID`);
        this.block = { kind: what === "ESTABLISHED" ? "established" : "disconnect", cid, kid: null, header: line, env: {} };
        return;
      case "CR_RESPONSE": {
        const kid = parseCount(f[2]);
        if (f.length !== 4 || cid === null || kid === null) return void bad("CLIENT:CR_RESPONSE needs CID,KID,response");
        this.block = { kind: "cr_response", cid, kid, response: f[3] as string, header: line, env: {} };
        return;
      }
      case "ADDRESS": {
        // No ENV block follows ADDRESS (management-notes, and seen in the captures).
        if (f.length !== 4 || cid === null || (f[3] !== "0" && f[3] !== "1") || f[2] === "") {
          return void bad("CLIENT:ADDRESS needs CID,ADDR,PRI");
        }
        out.push({ type: "client", kind: "address", cid, kid: null, env: {}, address: { address: f[2] as string, primary: f[3] === "1" } });
        return;
      }
      case "ENV":
        return void bad("CLIENT:ENV outside a CLIENT block");
      default:
        out.push({ type: "notify", name: "CLIENT", payload });
    }
  }
}

// ------------------------------------------------------------------ status 3

export interface Status3Client {
  commonName: string;
  realAddress: string;
  virtualAddress: string;
  virtualIPv6Address: string;
  bytesReceived: number;
  bytesSent: number;
  /** time_t seconds. */
  connectedSince: number;
  username: string;
  cid: number;
  peerId: number | null;
  cipher: string;
  /** Every column by its HEADER name, for columns this type does not name. */
  columns: Record<string, string>;
}

export interface Status3Route {
  virtualAddress: string;
  commonName: string;
  realAddress: string;
  /** time_t seconds. */
  lastRef: number;
  columns: Record<string, string>;
}

export interface Status3 {
  title: string | null;
  /** time_t seconds of the TIME row. */
  time: number | null;
  clients: Status3Client[];
  routes: Status3Route[];
  globalStats: Record<string, string>;
  /** Rows that could not be read (unknown columns, bad numbers), kept for logging. */
  problems: string[];
}

function columnsOf(header: string[] | undefined, row: string[]): Record<string, string> | null {
  if (!header) return null;
  const cols: Record<string, string> = {};
  header.forEach((name, i) => {
    cols[name] = row[i] ?? "";
  });
  return cols;
}

/**
 * Read a `status 3` answer (the `response` event's lines, tab-separated).  Columns are
 * mapped by the names in the `HEADER` rows because their set and order changed across
 * OpenVPN versions (2.4 added Client ID / Peer ID, 2.5 the cipher column).
 */
export function parseStatus3(lines: string[]): Status3 {
  const result: Status3 = { title: null, time: null, clients: [], routes: [], globalStats: {}, problems: [] };
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    if (line === "" || line === "END") continue;
    const f = line.split("\t");
    const tag = f[0] as string;
    const rest = f.slice(1);
    if (tag === "HEADER") {
      headers.set(rest[0] ?? "", rest.slice(1));
    } else if (tag === "TITLE") {
      result.title = rest.join("\t");
    } else if (tag === "TIME") {
      result.time = parseCount(rest[1]);
    } else if (tag === "GLOBAL_STATS") {
      if (rest[0] !== undefined) result.globalStats[rest[0]] = rest[1] ?? "";
    } else if (tag === "CLIENT_LIST" || tag === "ROUTING_TABLE") {
      const cols = columnsOf(headers.get(tag), rest);
      if (!cols) {
        result.problems.push(`${tag} row before its HEADER: ${line}`);
        continue;
      }
      if (tag === "CLIENT_LIST") {
        const received = parseCount(cols["Bytes Received"]);
        const sent = parseCount(cols["Bytes Sent"]);
        const since = parseCount(cols["Connected Since (time_t)"]);
        const cid = parseCount(cols["Client ID"]);
        if (received === null || sent === null || since === null || cid === null) {
          result.problems.push(`CLIENT_LIST row with missing or bad numbers: ${line}`);
          continue;
        }
        result.clients.push({
          commonName: cols["Common Name"] ?? "",
          realAddress: cols["Real Address"] ?? "",
          virtualAddress: cols["Virtual Address"] ?? "",
          virtualIPv6Address: cols["Virtual IPv6 Address"] ?? "",
          bytesReceived: received,
          bytesSent: sent,
          connectedSince: since,
          username: cols["Username"] ?? "",
          cid,
          peerId: parseCount(cols["Peer ID"]),
          // OpenVPN 2.6 (captured) names it "Data Channel Cipher"; "Cipher" is a defensive fallback.
          cipher: cols["Data Channel Cipher"] ?? cols["Cipher"] ?? "",
          columns: cols,
        });
      } else {
        const lastRef = parseCount(cols["Last Ref (time_t)"]);
        if (lastRef === null) {
          result.problems.push(`ROUTING_TABLE row with a bad Last Ref: ${line}`);
          continue;
        }
        result.routes.push({
          virtualAddress: cols["Virtual Address"] ?? "",
          commonName: cols["Common Name"] ?? "",
          realAddress: cols["Real Address"] ?? "",
          lastRef,
          columns: cols,
        });
      }
    } else {
      result.problems.push(`unknown row: ${line}`);
    }
  }
  return result;
}

// ------------------------------------------------------------------ commands

const MAX_ID = 0xffffffff;

function id(name: string, v: number): string {
  if (!Number.isSafeInteger(v) || v < 0 || v > MAX_ID) throw new Error(`${name} must be an integer 0..${MAX_ID}, got ${v}`);
  return String(v);
}

/** Line breaks end a command early and NUL truncates it in OpenVPN's C strings. */
const FORBIDDEN = /[\0\r\n]/;

function noBreaks(what: string, s: string): void {
  if (FORBIDDEN.test(s)) throw new Error(`${what} must not contain CR, LF or NUL`);
}

/**
 * One argument for OpenVPN's config-file lexer, which the management interface uses:
 * double quotes group, and inside them `\\` and `\"` are the escapes.  Empty strings
 * are refused: whether `""` yields an empty parameter is not something to rely on.
 */
export function quoteArg(s: string): string {
  noBreaks("argument", s);
  if (s === "") throw new Error("argument must not be empty");
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * `client-auth CID KID`, the config lines to apply to the client (e.g. `push "..."`,
 * `ifconfig-push ...`), then `END`.  A config line equal to `END` would close the
 * block early, so it is refused.
 */
export function clientAuth(cid: number, kid: number, configLines: string[] = []): string {
  const lines = [`client-auth ${id("cid", cid)} ${id("kid", kid)}`];
  for (const l of configLines) {
    noBreaks("config line", l);
    if (l.trim() === "END") throw new Error("config line must not be END");
    lines.push(l);
  }
  lines.push("END");
  return lines.join("\n") + "\n";
}

/** Accept without a config block. */
export function clientAuthNt(cid: number, kid: number): string {
  return `client-auth-nt ${id("cid", cid)} ${id("kid", kid)}\n`;
}

/** Deny; `reason` goes to OpenVPN's log, `clientReason` to the client in AUTH_FAILED. */
export function clientDeny(cid: number, kid: number, reason: string, clientReason?: string): string {
  let line = `client-deny ${id("cid", cid)} ${id("kid", kid)} ${quoteArg(reason)}`;
  if (clientReason !== undefined) line += ` ${quoteArg(clientReason)}`;
  return line + "\n";
}

/**
 * Kill a client.  Without a message OpenVPN sends RESTART (the client reconnects);
 * `HALT` makes it exit.  Other messages are passed as one (quoted) argument.
 */
export function clientKill(cid: number, message?: "HALT" | "RESTART" | (string & {})): string {
  let line = `client-kill ${id("cid", cid)}`;
  if (message !== undefined) {
    noBreaks("message", message);
    line += " " + (/^[A-Za-z0-9_.,:-]+$/.test(message) ? message : quoteArg(message));
  }
  return line + "\n";
}

/** `bytecount N`: a >BYTECOUNT(_CLI) line every N seconds; 0 turns it off. */
export function bytecount(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > 86400) throw new Error(`bytecount interval must be 0..86400 s, got ${seconds}`);
  return `bytecount ${seconds}\n`;
}

/** `status N`; the answer is multi-line: call parser.expectMultiline() before sending. */
export function status(version: 1 | 2 | 3): string {
  if (version !== 1 && version !== 2 && version !== 3) throw new Error(`status version must be 1, 2 or 3, got ${String(version)}`);
  return `status ${version}\n`;
}

/**
 * `client-pending-auth CID KID EXTRA TIMEOUT` (management version 5, OpenVPN 2.6):
 * tell the client that authentication continues out of band (EXTRA such as
 * `WEB_AUTH::https://...` or `CR_TEXT:E,R:Enter OTP`); it must later be followed by
 * client-auth / client-deny.
 */
export function clientPendingAuth(cid: number, kid: number, extra: string, timeoutSeconds: number): string {
  if (!Number.isSafeInteger(timeoutSeconds) || timeoutSeconds <= 0) throw new Error(`timeout must be a positive integer, got ${timeoutSeconds}`);
  return `client-pending-auth ${id("cid", cid)} ${id("kid", kid)} ${quoteArg(extra)} ${timeoutSeconds}\n`;
}
