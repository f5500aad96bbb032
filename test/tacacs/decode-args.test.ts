// decodeAuthorRequest and decodeAcctRequest take a written-out path (bodies.ts decodeArgsRequest)
// instead of the general sections-with-args one the other decoders use. The general form is
// kept here as the reference: the same value, or the same failure at the same offset, for
// valid, mutated, cut and arbitrary bodies.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { decodeAcctRequest, decodeAuthorRequest, encodeAcctRequest, type AuthorRequest, type BodyResult } from "../../src/tacacs/bodies.ts";

// ---- the reference: decodeArgsRequest as it was written before ---------------------------

type LengthField = readonly [offset: number, size: 1 | 2];

function argLengthFields(start: number, count: number): LengthField[] {
  return Array.from({ length: count }, (_, i) => [start + i, 1] as const);
}

function sections(body: Buffer, fixed: number, lengths: readonly LengthField[]): BodyResult<Buffer[]> {
  if (body.length < fixed) return { ok: false, reason: "body-too-short", offset: body.length };
  const parts: Buffer[] = [];
  let pos = fixed;
  for (const [at, size] of lengths) {
    const len = size === 1 ? body[at]! : body.readUInt16BE(at);
    if (pos + len > body.length) return { ok: false, reason: "length-mismatch", offset: at };
    parts.push(Buffer.from(body.subarray(pos, pos + len)));
    pos += len;
  }
  if (pos !== body.length) return { ok: false, reason: "length-mismatch", offset: pos };
  return { ok: true, value: parts };
}

const text = (b: Buffer | undefined): string => (b ? b.toString("utf8") : "");

function sectionsWithArgs(body: Buffer, base: number, countAt: number, lengths: readonly LengthField[]): BodyResult<Buffer[]> {
  if (body.length < base) return { ok: false, reason: "body-too-short", offset: body.length };
  const count = body[countAt]!;
  if (body.length < base + count) return { ok: false, reason: "length-mismatch", offset: countAt };
  return sections(body, base + count, [...lengths, ...argLengthFields(base, count)]);
}

function referenceArgsRequest(body: Buffer, at: number): BodyResult<AuthorRequest> {
  const r = sectionsWithArgs(body, at + 8, at + 7, [[at + 4, 1], [at + 5, 1], [at + 6, 1]]);
  if (!r.ok) return r;
  const p = r.value;
  return {
    ok: true,
    value: {
      authenMethod: body[at]!,
      privLvl: body[at + 1]!,
      authenType: body[at + 2]!,
      authenService: body[at + 3]!,
      user: text(p[0]),
      port: text(p[1]),
      remAddr: text(p[2]),
      args: p.slice(3).map(text),
    },
  };
}

const referenceAuthor = (b: Buffer) => referenceArgsRequest(b, 0);
function referenceAcct(b: Buffer) {
  const r = referenceArgsRequest(b, 1);
  return r.ok ? { ok: true, value: { flags: b[0]!, ...r.value } } : r;
}

// ---- the comparison -----------------------------------------------------------------------

const octet = fc.integer({ min: 0, max: 255 });
const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));
const shortText = fc.string({ unit: "binary", maxLength: 60 });
const request = fc.record({
  flags: octet, authenMethod: octet, privLvl: octet, authenType: octet, authenService: octet,
  user: shortText, port: shortText, remAddr: shortText, args: fc.array(shortText, { maxLength: 20 }),
});

function same(b: Buffer): void {
  assert.deepEqual(decodeAuthorRequest(b), referenceAuthor(b));
  assert.deepEqual(decodeAcctRequest(b), referenceAcct(b));
}

describe("decodeArgsRequest equals the general sections-with-args decoder", () => {
  test("on arbitrary bytes", () => {
    fc.assert(fc.property(bytes(120), same), { numRuns: 2000 });
  });

  test("on valid accounting bodies, mutated and cut", () => {
    fc.assert(
      fc.property(request, fc.array(fc.tuple(fc.nat(), octet), { maxLength: 4 }), fc.nat(30), (v, edits, cut) => {
        const b = Buffer.from(encodeAcctRequest({ ...v }));
        same(b);
        for (const [at, value] of edits) if (b.length > 0) b[at % b.length] = value;
        same(b);
        same(b.subarray(0, Math.max(0, b.length - cut)));
        same(Buffer.concat([b, Buffer.from([cut])]));
      }),
      { numRuns: 1000 },
    );
  });

  test("on every length of a short body", () => {
    const b = Buffer.from(encodeAcctRequest({ flags: 2, authenMethod: 6, privLvl: 1, authenType: 1, authenService: 1, user: "u", port: "tty1", remAddr: "", args: ["task_id=1", "x"] }));
    for (let n = 0; n <= b.length; n++) same(b.subarray(0, n));
  });
});
