// encodeAuthorRequest and encodeAcctRequest write their body into one buffer (bodies.ts
// encodeArgsRequest) instead of through fixedPart and Buffer.concat. The general form is kept
// here as the reference: the same octets, or the same exception with the same message, for
// any request, fields out of range and too long included.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { encodeAcctRequest, encodeAuthorRequest, type AcctRequest, type AuthorRequest } from "../../src/tacacs/bodies.ts";
import { MAX_ARG_COUNT, MAX_SHORT_FIELD_LENGTH } from "../../src/tacacs/constants.ts";

// ---- the reference: encodeArgsRequest as it was written before ---------------------------

type Field = readonly [name: string, value: number, size: 1 | 2];

function fixedPart(fields: readonly Field[]): Buffer {
  const out = Buffer.alloc(fields.reduce((n, [, , size]) => n + size, 0));
  let pos = 0;
  for (const [name, value, size] of fields) {
    const max = size === 1 ? 0xff : 0xffff;
    if (!Number.isInteger(value) || value < 0 || value > max) throw new Error(`${name} ${value} is outside 0..${max}`);
    if (size === 1) out[pos] = value;
    else out.writeUInt16BE(value, pos);
    pos += size;
  }
  return out;
}

function sized(name: string, value: Buffer, max: number): Buffer {
  if (value.length > max) throw new Error(`${name} is ${value.length} octets; its length field holds at most ${max}`);
  return value;
}
const utf8 = (name: string, s: string, max: number): Buffer => sized(name, Buffer.from(s, "utf8"), max);

function argBuffers(args: readonly string[]): Buffer[] {
  if (args.length > MAX_ARG_COUNT) throw new Error(`${args.length} args; a packet holds at most ${MAX_ARG_COUNT}`);
  return args.map((a, i) => utf8(`arg ${i + 1}`, a, MAX_SHORT_FIELD_LENGTH));
}
const argLengths = (args: readonly Buffer[]): Field[] => args.map((a, i) => [`arg ${i + 1} length`, a.length, 1]);

function referenceArgsRequest(v: AuthorRequest, lead: readonly Field[]): Buffer {
  const user = utf8("user", v.user, MAX_SHORT_FIELD_LENGTH);
  const port = utf8("port", v.port, MAX_SHORT_FIELD_LENGTH);
  const remAddr = utf8("rem_addr", v.remAddr, MAX_SHORT_FIELD_LENGTH);
  const args = argBuffers(v.args);
  const head = fixedPart([
    ...lead,
    ["authen_method", v.authenMethod, 1], ["priv_lvl", v.privLvl, 1],
    ["authen_type", v.authenType, 1], ["authen_service", v.authenService, 1],
    ["user_len", user.length, 1], ["port_len", port.length, 1], ["rem_addr_len", remAddr.length, 1], ["arg_cnt", args.length, 1],
    ...argLengths(args),
  ]);
  return Buffer.concat([head, user, port, remAddr, ...args]);
}

// ---- the comparison -----------------------------------------------------------------------

/** The octets, or the exception's message. */
function outcome(encode: () => Buffer): { octets: string } | { error: string } {
  try {
    return { octets: encode().toString("hex") };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

// Mostly valid octets, sometimes out of range or not an integer.
const field = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 255 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 256, 1.5, Number.NaN, 65535) });
// Mostly short text, sometimes longer than a length octet holds (multi-octet code points too).
// Lone surrogates too: Buffer.from writes each as U+FFFD's three octets, which the length must count.
const text = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 60, maxLength: 300 }) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom("\ud800", "\udfff", "a", "é", "\u{1F600}"), { maxLength: 90 }).map((a) => a.join("")) },
);
const request = fc.record({
  flags: field, authenMethod: field, privLvl: field, authenType: field, authenService: field,
  user: text, port: text, remAddr: text,
  args: fc.oneof({ weight: 9, arbitrary: fc.array(text, { maxLength: 12 }) }, { weight: 1, arbitrary: fc.array(fc.constant("a=b"), { minLength: 250, maxLength: 260 }) }),
});

describe("encodeArgsRequest equals the fixedPart and concat form", () => {
  test("accounting REQUEST: same octets or same exception", () => {
    fc.assert(
      fc.property(request, (v: AcctRequest) => {
        assert.deepEqual(outcome(() => encodeAcctRequest(v)), outcome(() => referenceArgsRequest(v, [["flags", v.flags, 1]])));
      }),
      { numRuns: 2000 },
    );
  });

  test("authorization REQUEST: same octets or same exception", () => {
    fc.assert(
      fc.property(request, (v: AuthorRequest) => {
        assert.deepEqual(outcome(() => encodeAuthorRequest(v)), outcome(() => referenceArgsRequest(v, [])));
      }),
      { numRuns: 2000 },
    );
  });
});
