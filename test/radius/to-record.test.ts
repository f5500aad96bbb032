// The RADIUS -> AccountingRecord normaliser (RFC 2866, RFC 2869): kinds, Gigawords, event
// time, the NAS's identity, and the record identity that makes a resent record a duplicate.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { encodeAttribute } from "../../src/radius/attributes.ts";
import { Dictionary } from "../../src/radius/dictionary.ts";
import { buildAccountingRequest } from "../../src/radius/message.ts";
import { decodePacket, type RadiusPacket } from "../../src/radius/packet.ts";
import { dedupKeyOf, recordFromAccountingRequest, type ToRecordResult } from "../../src/radius/to-record.ts";

const dict = Dictionary.builtin();
const secret = Buffer.from("s");
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

function packet(identifier: number, attrs: Record<string, string | number>): RadiusPacket {
  const raw = buildAccountingRequest(
    identifier,
    Object.entries(attrs).flatMap(([k, v]) => encodeAttribute(dict, k, v)),
    secret,
    { messageAuthenticator: false },
  );
  const d = decodePacket(raw);
  assert.ok(d.ok, "d.ok");
  return d.packet;
}

function convert(attrs: Record<string, string | number>, identifier = 1): ToRecordResult {
  return recordFromAccountingRequest(packet(identifier, attrs), { client: "lab", sourceAddress: "192.0.2.1", receivedAt: NOW, dictionary: dict });
}

function record(attrs: Record<string, string | number>, identifier = 1) {
  const r = convert(attrs, identifier);
  assert.ok(r.ok, r.ok ? "" : r.reason);
  return r.record;
}

describe("RADIUS accounting request to record", () => {
  it("maps each Acct-Status-Type to its kind and refuses what Tally does not account", () => {
    const base = { "Acct-Session-Id": "x" };
    assert.equal(record({ ...base, "Acct-Status-Type": "Start" }).kind, "start");
    assert.equal(record({ ...base, "Acct-Status-Type": "Interim-Update" }).kind, "interim");
    assert.equal(record({ ...base, "Acct-Status-Type": "Stop" }).kind, "stop");
    assert.equal(record({ "Acct-Status-Type": "Accounting-On" }).kind, "on");
    assert.equal(record({ "Acct-Status-Type": "Accounting-Off" }).sessionId, null);
    assert.deepEqual(convert({ ...base }), { ok: false, reason: "missing-status-type" });
    assert.deepEqual(convert({ ...base, "Acct-Status-Type": 9 }), { ok: false, reason: "unsupported-status-type" });
    assert.deepEqual(convert({ "Acct-Status-Type": "Start" }), { ok: false, reason: "missing-session-id" });
  });

  it("folds Gigawords into 64-bit octet totals (RFC 2869 section 5.1)", () => {
    const r = record({ "Acct-Status-Type": "Stop", "Acct-Session-Id": "x", "Acct-Input-Octets": 7, "Acct-Input-Gigawords": 3, "Acct-Output-Gigawords": 1 });
    assert.equal(r.inputOctets, 3 * 2 ** 32 + 7);
    assert.equal(r.outputOctets, 2 ** 32);
    assert.equal(r.inputPackets, null, "absent counters stay unknown, not zero");
  });

  it("takes the event time from Event-Timestamp, else receive time minus Acct-Delay-Time", () => {
    assert.equal(record({ "Acct-Status-Type": "Start", "Acct-Session-Id": "x", "Acct-Delay-Time": 30 }).eventTime, NOW - 30_000);
    const stamped = record({ "Acct-Status-Type": "Start", "Acct-Session-Id": "x", "Acct-Delay-Time": 30, "Event-Timestamp": 1_700_000_000 });
    assert.equal(stamped.eventTime, 1_700_000_000_000);
    assert.equal(stamped.receivedAt, NOW);
  });

  it("identifies the NAS by NAS-Identifier, else NAS-IP-Address, else the source address", () => {
    const base = { "Acct-Status-Type": "Start", "Acct-Session-Id": "x" };
    assert.equal(record({ ...base, "NAS-Identifier": "bras-1", "NAS-IP-Address": "10.0.0.1" }).nas, "bras-1");
    assert.equal(record({ ...base, "NAS-IP-Address": "10.0.0.1" }).nas, "10.0.0.1");
    assert.equal(record({ ...base, "NAS-IPv6-Address": "2001:db8::1" }).nas, "2001:db8::1");
    assert.equal(record(base).nas, "192.0.2.1");
  });

  it("names the terminate cause and keeps every attribute by name", () => {
    const r = record({ "Acct-Status-Type": "Stop", "Acct-Session-Id": "x", "Acct-Terminate-Cause": "Idle-Timeout", "Framed-IP-Address": "10.1.2.3", "Calling-Station-Id": "00-11-22", "NAS-Port": 4 });
    assert.equal(r.terminateCause, "Idle-Timeout");
    assert.equal(r.framedAddress, "10.1.2.3");
    assert.equal(r.clientAddress, "00-11-22");
    assert.equal(r.nasPort, "4");
    assert.deepEqual(r.attributes.find((a) => a.name === "Acct-Terminate-Cause"), { name: "Acct-Terminate-Cause", value: "Idle-Timeout" });
  });

  it("a resent record (new identifier, new Acct-Delay-Time) has the same identity; a changed one does not", () => {
    const base = { "Acct-Status-Type": "Interim-Update", "Acct-Session-Id": "x", "Acct-Session-Time": 60, "Acct-Input-Octets": 100 };
    const first = record({ ...base, "Acct-Delay-Time": 0 }, 1);
    const resent = record({ ...base, "Acct-Delay-Time": 5 }, 2);
    const next = record({ ...base, "Acct-Session-Time": 120 }, 3);
    assert.equal(first.dedupKey, resent.dedupKey);
    assert.notEqual(first.dedupKey, next.dedupKey);
  });

  // Keys are stored: a new way of computing them must give the old keys, or a record resent
  // across an upgrade would be stored twice. The reference is the first implementation.
  it("computes the dedup key exactly as the first implementation did, for any packet", () => {
    const skipped = new Set([41, 80, 33]); // Acct-Delay-Time, Message-Authenticator, Proxy-State
    const reference = (nas: string, p: RadiusPacket): string => {
      const h = createHash("sha256");
      h.update(`radius\0${nas}\0${p.code}\0`);
      for (const a of p.attributes) {
        if (skipped.has(a.type)) continue;
        h.update(Buffer.from([a.type, a.value.length]));
        h.update(a.value);
      }
      return h.digest("base64url");
    };
    const attribute = fc.record({
      type: fc.oneof(fc.integer({ min: 1, max: 255 }), fc.constantFrom(41, 80, 33, 1, 44)),
      value: fc.uint8Array({ maxLength: 253 }).map((a) => Buffer.from(a)),
    });
    const anyPacket = fc.record({
      code: fc.integer({ min: 0, max: 255 }),
      identifier: fc.integer({ min: 0, max: 255 }),
      authenticator: fc.constant(Buffer.alloc(16)),
      attributes: fc.array(attribute, { maxLength: 40 }),
    });
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), anyPacket, (nas, p) => {
        assert.equal(dedupKeyOf(nas, p), reference(nas, p));
      }),
      { numRuns: 500 },
    );
    // And one pinned key, so that the reference itself cannot drift.
    const pinned = { code: 4, identifier: 9, authenticator: Buffer.alloc(16), attributes: [{ type: 44, value: Buffer.from("abc") }, { type: 41, value: Buffer.from([0, 0, 0, 5]) }] };
    assert.equal(dedupKeyOf("bras-1", pinned), createHash("sha256").update("radius\0bras-1\x004\0").update(Buffer.from([44, 3])).update("abc").digest("base64url"));
  });
});
