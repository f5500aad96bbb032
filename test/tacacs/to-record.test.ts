// The TACACS+ dedup key is stored with every record, so it must not change across upgrades:
// dedupKeyOf is checked against a key computed by the release before it and, over generated
// requests, against that release's createHash form kept here as the reference.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { AcctRequest } from "../../src/tacacs/bodies.ts";
import { dedupKeyOf } from "../../src/tacacs/to-record.ts";

function referenceDedupKey(nas: string, req: AcctRequest): string {
  const h = createHash("sha256");
  h.update(JSON.stringify(["tacacs", nas, req.flags, req.authenMethod, req.privLvl, req.authenType, req.authenService, req.user, req.port, req.remAddr, req.args]));
  return h.digest("base64url");
}

const octet = fc.integer({ min: 0, max: 255 });
// "binary" reaches every code point. The decoder turns invalid UTF-8 into U+FFFD, so no lone
// surrogate comes off the wire, but the key must not depend on that.
const anyText = fc.oneof(fc.string({ unit: "binary", maxLength: 60 }), fc.string({ unit: "grapheme", maxLength: 30 }), fc.constantFrom("", "\ud800", "a\udfffb", '"\\\u0000'));
const request: fc.Arbitrary<AcctRequest> = fc
  .record({
    flags: octet, authenMethod: octet, privLvl: octet, authenType: octet, authenService: octet,
    user: anyText, port: anyText, remAddr: anyText, args: fc.array(anyText, { maxLength: 12 }),
  })
  .map((r) => ({ ...r }));

describe("TACACS+ dedup key", () => {
  test("known answer (computed at f934008, with createHash)", () => {
    const req: AcctRequest = {
      flags: 2, authenMethod: 6, privLvl: 15, authenType: 1, authenService: 1, user: "admin", port: "tty1", remAddr: "192.0.2.1",
      args: ["task_id=42", "service=shell", "start_time=1700000000", "cmd=show running-config <cr>", "é\ud800"],
    };
    assert.equal(dedupKeyOf("192.0.2.10", req), "aKKrpuVDCK6wL88LhCi8gqNIZ-SrU5JxnGRHDQtAf8Y");
  });

  test("equals the createHash form for any request and NAS", () => {
    fc.assert(
      fc.property(anyText, request, (nas, req) => assert.equal(dedupKeyOf(nas, req), referenceDedupKey(nas, req))),
      { numRuns: 1000 },
    );
  });
});
