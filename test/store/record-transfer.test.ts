// Records cross to the store's worker thread packed (src/store/record-transfer.ts), and its
// results come back packed: whatever they hold, the other side must get the same back, through
// a real structured clone.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import fc from "fast-check";
import type { AccountingRecord } from "../../src/model/record.ts";
import { attributesJson, packRecords, packResults, unpackRecords, unpackResults, type PackedResults } from "../../src/store/record-transfer.ts";
import type { AppendResult } from "../../src/store/store.ts";

const text = fc.string({ maxLength: 40 });
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
const count = fc.oneof(fc.nat(), fc.constant(2 ** 53 - 1));
const attribute = fc.oneof(
  fc.record({ name: text, value: fc.oneof(text, fc.integer()) }),
  fc.record({ name: text, value: fc.oneof(text, fc.integer()), tag: fc.integer({ min: 0, max: 31 }) }),
);
const record: fc.Arbitrary<AccountingRecord> = fc
  .record({
    protocol: fc.constantFrom("radius", "tacacs", "openvpn"),
    kind: fc.constantFrom("start", "interim", "stop", "on", "off"),
    receivedAt: fc.nat(),
    eventTime: fc.nat(),
    client: text,
    nas: text,
    user: maybe(text),
    sessionId: maybe(text),
    inputOctets: maybe(count),
    outputOctets: maybe(count),
    inputPackets: maybe(count),
    outputPackets: maybe(count),
    sessionTime: maybe(count),
    terminateCause: maybe(text),
    framedAddress: maybe(text),
    clientAddress: maybe(text),
    nasPort: maybe(text),
    command: maybe(text),
    attributes: fc.array(attribute, { maxLength: 30 }),
    dedupKey: text,
    interimInterval: fc.option(fc.nat({ max: 86400 }), { nil: undefined }),
  })
  .map((r) => {
    // A record without an interval has no such property at all (not one set to undefined).
    const plain: Record<string, unknown> = { ...r, attributes: r.attributes.map((a) => ({ ...a })) };
    if (r.interimInterval === undefined) delete plain.interimInterval;
    return plain as unknown as AccountingRecord;
  });

/**
 * An unpacked record as a plain object: its own fields, and its attributes (which it parses from
 * the JSON it carries only when asked).
 */
function plain(r: AccountingRecord): AccountingRecord {
  return { ...r, attributes: r.attributes };
}

function throughClone<T>(value: T): T {
  const { port1, port2 } = new MessageChannel();
  try {
    port1.postMessage(value);
    return receiveMessageOnPort(port2)!.message as T;
  } finally {
    port1.close();
    port2.close();
  }
}

describe("records packed for the store's worker thread", () => {
  it("arrive as they were sent, field for field, whatever they hold", () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 5 }), (records) => {
        const back = unpackRecords(throughClone(packRecords(records)));
        assert.deepStrictEqual(back.map(plain), records);
        // What the store writes for the attributes: the same text as the record's own.
        assert.deepStrictEqual(back.map(attributesJson), records.map((r) => JSON.stringify(r.attributes)));
      }),
      { numRuns: 300 },
    );
  });

  it("packs every field of a record (a field added to AccountingRecord but not packed fails here)", () => {
    const r: AccountingRecord = {
      protocol: "radius", kind: "stop", receivedAt: 1, eventTime: 2, client: "c", nas: "n", user: "u", sessionId: "s",
      inputOctets: 3, outputOctets: 4, inputPackets: 5, outputPackets: 6, sessionTime: 7, terminateCause: "User-Request",
      framedAddress: "10.0.0.1", clientAddress: "00-11", nasPort: "8", command: null, attributes: [{ name: "A", value: 1, tag: 2 }],
      interimInterval: 60, dedupKey: "k",
    };
    const [back] = unpackRecords(throughClone(packRecords([r]))).map(plain);
    assert.deepStrictEqual(Object.keys(back!).sort(), Object.keys(r).sort());
    assert.deepStrictEqual(back, r);
  });
});

describe("results packed for the way back", () => {
  it("arrive as the store gave them, through a real structured clone with the buffer transferred", () => {
    const result = fc.record({
      recordId: fc.nat(),
      sessionPk: fc.option(fc.nat(), { nil: null }),
      duplicate: fc.boolean(),
      closedSessionPks: fc.option(fc.array(fc.nat(), { maxLength: 5 }), { nil: undefined }),
    }).map((r) => {
      const plain: Record<string, unknown> = { ...r };
      if (r.closedSessionPks === undefined) delete plain.closedSessionPks;
      return plain as unknown as AppendResult;
    });
    fc.assert(
      fc.property(fc.array(result, { maxLength: 50 }), (results) => {
        const packed = packResults(results);
        const { port1, port2 } = new MessageChannel();
        try {
          port1.postMessage(packed, [packed.numbers.buffer]);
          assert.equal(packed.numbers.byteLength, 0, "the buffer was transferred, not copied");
          const back = receiveMessageOnPort(port2)!.message as PackedResults;
          assert.deepStrictEqual(unpackResults(back), results);
        } finally {
          port1.close();
          port2.close();
        }
      }),
      { numRuns: 300 },
    );
  });
});
