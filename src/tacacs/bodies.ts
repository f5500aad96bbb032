// Every TACACS+ body (RFC 8907 §5–§7) <-> a plain object, plus the `name=value` argument
// syntax of §6.1. Pure functions over de-obfuscated bodies; the header, framing and
// obfuscation live elsewhere. Decoders never throw. Because the body is obfuscated, a wrong
// key shows up here as length fields that do not add up to the body's length, so the sum
// is checked exactly (§4.5) and a mismatch is the signal callers turn into "wrong key?".
// Encoders throw only on local misuse: a field that does not fit its length field.

import { MAX_ARG_COUNT, MAX_LONG_FIELD_LENGTH, MAX_SHORT_FIELD_LENGTH } from "./constants.ts";

export interface AuthenStart {
  action: number;
  privLvl: number;
  authenType: number;
  authenService: number;
  user: string;
  port: string;
  remAddr: string;
  data: Buffer;
}
export interface AuthenReply {
  status: number;
  flags: number;
  serverMsg: string;
  data: Buffer;
}
export interface AuthenContinue {
  flags: number;
  /** Octets, not text: it carries passwords, which need not be UTF-8. */
  userMsg: Buffer;
  data: Buffer;
}
export interface AuthorRequest {
  authenMethod: number;
  privLvl: number;
  authenType: number;
  authenService: number;
  user: string;
  port: string;
  remAddr: string;
  args: string[];
}
export interface AuthorResponse {
  status: number;
  args: string[];
  serverMsg: string;
  data: Buffer;
}
export interface AcctRequest {
  flags: number;
  authenMethod: number;
  privLvl: number;
  authenType: number;
  authenService: number;
  user: string;
  port: string;
  remAddr: string;
  args: string[];
}
export interface AcctReply {
  status: number;
  serverMsg: string;
  data: Buffer;
}

export type BodyDecodeFailure = "body-too-short" | "length-mismatch";

export type BodyResult<T> = { ok: true; value: T } | { ok: false; reason: BodyDecodeFailure; offset: number };

/** A sentence per failure, for logs. */
export const bodyDecodeFailureText: Record<BodyDecodeFailure, string> = {
  "body-too-short": "body ends inside its fixed fields",
  "length-mismatch": "field lengths do not add up to the body length (wrong key?)",
};

// ---- decoding -------------------------------------------------------------------------

/** Where a length field sits in the fixed part, and how wide it is. */
type LengthField = readonly [offset: number, size: 1 | 2];

function argLengthFields(start: number, count: number): LengthField[] {
  return Array.from({ length: count }, (_, i) => [start + i, 1] as const);
}

/**
 * Cuts the variable part of `body` into the sections announced by `lengths`, in order, after
 * `fixed` octets. Failure offsets: the body's length when it ends inside the fixed part; the
 * offset of the length field whose section runs past the end; or, when every section fits but
 * octets are left over, the offset where the unexplained octets begin.
 */
function sections(body: Buffer, fixed: number, lengths: readonly LengthField[]): BodyResult<Buffer[]> {
  if (body.length < fixed) return { ok: false, reason: "body-too-short", offset: body.length };
  const parts: Buffer[] = [];
  let pos = fixed;
  for (const [at, size] of lengths) {
    const len = size === 1 ? body[at]! : body.readUInt16BE(at);
    if (pos + len > body.length) return { ok: false, reason: "length-mismatch", offset: at };
    parts.push(copyOf(body, pos, len));
    pos += len;
  }
  if (pos !== body.length) return { ok: false, reason: "length-mismatch", offset: pos };
  return { ok: true, value: parts };
}

/** A copy of `len` octets at `pos`: what Buffer.from(subarray) gives, without its array-like path. */
function copyOf(body: Buffer, pos: number, len: number): Buffer {
  const out = Buffer.allocUnsafe(len);
  body.copy(out, 0, pos, pos + len);
  return out;
}

/** Text fields are UTF-8 (§3.7); invalid sequences decode to U+FFFD rather than failing. */
const text = (b: Buffer | undefined): string => (b ? b.toString("utf8") : "");
const octets = (b: Buffer | undefined): Buffer => b ?? Buffer.alloc(0);

/**
 * `sections` for bodies with args: `base` fixed octets, then one length octet per arg as
 * counted at `countAt`, then the sections of `lengths` followed by the args. A count that
 * claims more length octets than the body holds is a mismatch at the count, like any other
 * length that does not fit: that is what a wrong key usually produces.
 */
function sectionsWithArgs(body: Buffer, base: number, countAt: number, lengths: readonly LengthField[]): BodyResult<Buffer[]> {
  if (body.length < base) return { ok: false, reason: "body-too-short", offset: body.length };
  const count = body[countAt]!;
  if (body.length < base + count) return { ok: false, reason: "length-mismatch", offset: countAt };
  return sections(body, base + count, [...lengths, ...argLengthFields(base, count)]);
}

/** Authentication START (§5.1): 8 fixed octets, then user, port, rem_addr, data. */
export function decodeAuthenStart(body: Buffer): BodyResult<AuthenStart> {
  const r = sections(body, 8, [[4, 1], [5, 1], [6, 1], [7, 1]]);
  if (!r.ok) return r;
  const p = r.value;
  return {
    ok: true,
    value: {
      action: body[0]!,
      privLvl: body[1]!,
      authenType: body[2]!,
      authenService: body[3]!,
      user: text(p[0]),
      port: text(p[1]),
      remAddr: text(p[2]),
      data: octets(p[3]),
    },
  };
}

/** Authentication REPLY (§5.2): status, flags, 2-octet lengths; server_msg, data. */
export function decodeAuthenReply(body: Buffer): BodyResult<AuthenReply> {
  const r = sections(body, 6, [[2, 2], [4, 2]]);
  if (!r.ok) return r;
  return {
    ok: true,
    value: { status: body[0]!, flags: body[1]!, serverMsg: text(r.value[0]), data: octets(r.value[1]) },
  };
}

/** Authentication CONTINUE (§5.3): 2-octet lengths first, then flags; user_msg, data. */
export function decodeAuthenContinue(body: Buffer): BodyResult<AuthenContinue> {
  const r = sections(body, 5, [[0, 2], [2, 2]]);
  if (!r.ok) return r;
  return { ok: true, value: { flags: body[4]!, userMsg: octets(r.value[0]), data: octets(r.value[1]) } };
}

/**
 * The request layout authorization and accounting share (§6.1, §7.1): authen_method,
 * priv_lvl, authen_type, authen_service, three length octets and arg_cnt from `at`, then one
 * length octet per arg; user, port, rem_addr, args. What sectionsWithArgs would do, written out
 * because every accounting request comes this way: no section copies, no tuple arrays. Failures
 * and their offsets are the same (test/tacacs/decode-args.test.ts keeps the general form as the
 * reference).
 */
function decodeArgsRequest(body: Buffer, at: number): BodyResult<AuthorRequest> {
  const base = at + 8;
  const countAt = at + 7;
  const end = body.length;
  if (end < base) return { ok: false, reason: "body-too-short", offset: end };
  const count = body[countAt]!;
  if (end < base + count) return { ok: false, reason: "length-mismatch", offset: countAt };
  let pos = base + count;
  const texts: string[] = [];
  // user, port and rem_addr (their length octets at at+4..at+6), then the args (from base).
  for (let i = 0; i < 3 + count; i++) {
    const lengthAt = i < 3 ? at + 4 + i : base + i - 3;
    const len = body[lengthAt]!;
    if (pos + len > end) return { ok: false, reason: "length-mismatch", offset: lengthAt };
    texts.push(len === 0 ? "" : body.toString("utf8", pos, pos + len));
    pos += len;
  }
  if (pos !== end) return { ok: false, reason: "length-mismatch", offset: pos };
  return {
    ok: true,
    value: {
      authenMethod: body[at]!,
      privLvl: body[at + 1]!,
      authenType: body[at + 2]!,
      authenService: body[at + 3]!,
      user: texts[0]!,
      port: texts[1]!,
      remAddr: texts[2]!,
      args: texts.slice(3),
    },
  };
}

/** Authorization REQUEST (§6.1): 8 fixed octets and one length octet per arg. */
export function decodeAuthorRequest(body: Buffer): BodyResult<AuthorRequest> {
  return decodeArgsRequest(body, 0);
}

/** Authorization RESPONSE (§6.2): status, arg_cnt, 2-octet lengths, arg lengths; server_msg, data, args. */
export function decodeAuthorResponse(body: Buffer): BodyResult<AuthorResponse> {
  const r = sectionsWithArgs(body, 6, 1, [[2, 2], [4, 2]]);
  if (!r.ok) return r;
  const p = r.value;
  return {
    ok: true,
    value: { status: body[0]!, args: p.slice(2).map(text), serverMsg: text(p[0]), data: octets(p[1]) },
  };
}

/** Accounting REQUEST (§7.1): like an authorization REQUEST with a flags octet in front. */
export function decodeAcctRequest(body: Buffer): BodyResult<AcctRequest> {
  const r = decodeArgsRequest(body, 1);
  if (!r.ok) return r;
  const v = r.value;
  // Written out rather than spread: an object spread costs microseconds in V8 (see sealPacket).
  const value: AcctRequest = {
    flags: body[0]!,
    authenMethod: v.authenMethod,
    privLvl: v.privLvl,
    authenType: v.authenType,
    authenService: v.authenService,
    user: v.user,
    port: v.port,
    remAddr: v.remAddr,
    args: v.args,
  };
  return { ok: true, value };
}

/** Accounting REPLY (§7.2): 2-octet lengths, then status; server_msg, data. */
export function decodeAcctReply(body: Buffer): BodyResult<AcctReply> {
  const r = sections(body, 5, [[0, 2], [2, 2]]);
  if (!r.ok) return r;
  return { ok: true, value: { status: body[4]!, serverMsg: text(r.value[0]), data: octets(r.value[1]) } };
}

// ---- encoding -------------------------------------------------------------------------

/** A fixed-part field: a name for the error message, its value, its width in octets. */
type Field = readonly [name: string, value: number, size: 1 | 2];

function fixedPart(fields: readonly Field[]): Buffer {
  const out = Buffer.alloc(fields.reduce((n, [, , size]) => n + size, 0));
  let pos = 0;
  for (const [name, value, size] of fields) {
    const max = size === 1 ? 0xff : 0xffff;
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new Error(`${name} ${value} is outside 0..${max}`);
    }
    if (size === 1) out[pos] = value;
    else out.writeUInt16BE(value, pos);
    pos += size;
  }
  return out;
}

function sized(name: string, value: Buffer, max: number): Buffer {
  if (value.length > max) throw tooLong(name, value.length, max);
  return value;
}

function tooLong(name: string, length: number, max: number): Error {
  return new Error(`${name} is ${length} octets; its length field holds at most ${max}`);
}

const utf8 = (name: string, s: string, max: number): Buffer => sized(name, Buffer.from(s, "utf8"), max);

function argBuffers(args: readonly string[]): Buffer[] {
  if (args.length > MAX_ARG_COUNT) {
    throw new Error(`${args.length} args; a packet holds at most ${MAX_ARG_COUNT}`);
  }
  return args.map((a, i) => utf8(`arg ${i + 1}`, a, MAX_SHORT_FIELD_LENGTH));
}

const argLengths = (args: readonly Buffer[]): Field[] => args.map((a, i) => [`arg ${i + 1} length`, a.length, 1]);

/** The user, port and rem_addr triple shared by START and the two REQUEST bodies. */
function who(v: { user: string; port: string; remAddr: string }): [Buffer, Buffer, Buffer] {
  return [
    utf8("user", v.user, MAX_SHORT_FIELD_LENGTH),
    utf8("port", v.port, MAX_SHORT_FIELD_LENGTH),
    utf8("rem_addr", v.remAddr, MAX_SHORT_FIELD_LENGTH),
  ];
}

export function encodeAuthenStart(v: AuthenStart): Buffer {
  const [user, port, remAddr] = who(v);
  const data = sized("data", v.data, MAX_SHORT_FIELD_LENGTH);
  const head = fixedPart([
    ["action", v.action, 1], ["priv_lvl", v.privLvl, 1], ["authen_type", v.authenType, 1], ["authen_service", v.authenService, 1],
    ["user_len", user.length, 1], ["port_len", port.length, 1], ["rem_addr_len", remAddr.length, 1], ["data_len", data.length, 1],
  ]);
  return Buffer.concat([head, user, port, remAddr, data]);
}

export function encodeAuthenReply(v: AuthenReply): Buffer {
  const msg = utf8("server_msg", v.serverMsg, MAX_LONG_FIELD_LENGTH);
  const data = sized("data", v.data, MAX_LONG_FIELD_LENGTH);
  const head = fixedPart([
    ["status", v.status, 1], ["flags", v.flags, 1], ["server_msg_len", msg.length, 2], ["data_len", data.length, 2],
  ]);
  return Buffer.concat([head, msg, data]);
}

export function encodeAuthenContinue(v: AuthenContinue): Buffer {
  const msg = sized("user_msg", v.userMsg, MAX_LONG_FIELD_LENGTH);
  const data = sized("data", v.data, MAX_LONG_FIELD_LENGTH);
  const head = fixedPart([["user_msg_len", msg.length, 2], ["data_len", data.length, 2], ["flags", v.flags, 1]]);
  return Buffer.concat([head, msg, data]);
}

/**
 * The request layout authorization and accounting share (§6.1, §7.1), after the accounting
 * flags when `flags` is given. Written into one buffer, text included, instead of a Buffer per
 * field, fixedPart and concat (a load generator builds one per request); the checks, their order
 * and their messages are those of who, argBuffers and fixedPart (test/tacacs/encode-args.test.ts
 * keeps that form as the reference).
 */
function encodeArgsRequest(v: AuthorRequest, flags: number | null): Buffer {
  const userLength = shortTextLength("user", v.user);
  const portLength = shortTextLength("port", v.port);
  const remAddrLength = shortTextLength("rem_addr", v.remAddr);
  const args = v.args;
  if (args.length > MAX_ARG_COUNT) {
    throw new Error(`${args.length} args; a packet holds at most ${MAX_ARG_COUNT}`);
  }
  let length = (flags === null ? 0 : 1) + 8 + args.length + userLength + portLength + remAddrLength;
  const lengths: number[] = [];
  for (let i = 0; i < args.length; i++) {
    const n = Buffer.byteLength(args[i]!, "utf8");
    if (n > MAX_SHORT_FIELD_LENGTH) throw tooLong(`arg ${i + 1}`, n, MAX_SHORT_FIELD_LENGTH);
    lengths.push(n);
    length += n;
  }
  const out = Buffer.allocUnsafe(length);
  let pos = 0;
  if (flags !== null) out[pos++] = octet("flags", flags);
  out[pos++] = octet("authen_method", v.authenMethod);
  out[pos++] = octet("priv_lvl", v.privLvl);
  out[pos++] = octet("authen_type", v.authenType);
  out[pos++] = octet("authen_service", v.authenService);
  out[pos++] = userLength;
  out[pos++] = portLength;
  out[pos++] = remAddrLength;
  out[pos++] = args.length;
  for (const n of lengths) out[pos++] = n;
  // The text straight into the packet: each write fills exactly the octets counted above.
  pos += out.write(v.user, pos, "utf8");
  pos += out.write(v.port, pos, "utf8");
  pos += out.write(v.remAddr, pos, "utf8");
  for (const a of args) pos += out.write(a, pos, "utf8");
  return out;
}

/** The UTF-8 length of a field with a one-octet length, checked as `utf8` checks it. */
function shortTextLength(name: string, s: string): number {
  const n = Buffer.byteLength(s, "utf8");
  if (n > MAX_SHORT_FIELD_LENGTH) throw tooLong(name, n, MAX_SHORT_FIELD_LENGTH);
  return n;
}

/** A one-octet fixed field, checked as fixedPart checks it. */
function octet(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new Error(`${name} ${value} is outside 0..255`);
  return value;
}

export function encodeAuthorRequest(v: AuthorRequest): Buffer {
  return encodeArgsRequest(v, null);
}

export function encodeAuthorResponse(v: AuthorResponse): Buffer {
  const msg = utf8("server_msg", v.serverMsg, MAX_LONG_FIELD_LENGTH);
  const data = sized("data", v.data, MAX_LONG_FIELD_LENGTH);
  const args = argBuffers(v.args);
  const head = fixedPart([
    ["status", v.status, 1], ["arg_cnt", args.length, 1], ["server_msg_len", msg.length, 2], ["data_len", data.length, 2],
    ...argLengths(args),
  ]);
  return Buffer.concat([head, msg, data, ...args]);
}

export function encodeAcctRequest(v: AcctRequest): Buffer {
  return encodeArgsRequest(v, v.flags);
}

export function encodeAcctReply(v: AcctReply): Buffer {
  const msg = utf8("server_msg", v.serverMsg, MAX_LONG_FIELD_LENGTH);
  const data = sized("data", v.data, MAX_LONG_FIELD_LENGTH);
  const head = fixedPart([["server_msg_len", msg.length, 2], ["data_len", data.length, 2], ["status", v.status, 1]]);
  return Buffer.concat([head, msg, data]);
}

// ---- arguments (§6.1) -----------------------------------------------------------------

/**
 * Splits `name=value` (mandatory) or `name*value` (optional) at whichever separator comes
 * first, so values may contain both. An arg with neither is a bare name: empty value,
 * mandatory, which is how servers treat such args in practice.
 */
export function parseArg(arg: string): { name: string; value: string; mandatory: boolean } {
  const eq = arg.indexOf("=");
  const star = arg.indexOf("*");
  const at = eq < 0 ? star : star < 0 ? eq : Math.min(eq, star);
  if (at < 0) return { name: arg, value: "", mandatory: true };
  return { name: arg.slice(0, at), value: arg.slice(at + 1), mandatory: arg[at] === "=" };
}

/** The inverse of parseArg. Throws if the name holds a separator, which would not round-trip. */
export function formatArg(name: string, value: string, mandatory = true): string {
  if (name.includes("=") || name.includes("*")) {
    throw new Error(`arg name ${JSON.stringify(name)} contains a separator ("=" or "*")`);
  }
  return `${name}${mandatory ? "=" : "*"}${value}`;
}
