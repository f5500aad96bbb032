// RadiusStreamReader: RADIUS packets framed by their Length field on a byte stream (RFC 6614
// section 2.5), however the stream is cut into chunks.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Attr, buildAccessRequest, buildStatusServer } from "../../src/radius/index.ts";
import { RadiusStreamReader } from "../../src/radius/stream.ts";

const secret = Buffer.from("radsec");
const packets = [
  buildStatusServer(1, [], secret).datagram,
  buildAccessRequest(2, [{ type: Attr.UserName, value: Buffer.from("alice") }, { type: Attr.UserPassword, value: Buffer.from("alicepass") }], secret).datagram,
  buildStatusServer(3, [{ type: Attr.NasIdentifier, value: Buffer.alloc(200, 0x61) }], secret).datagram,
];
const stream = Buffer.concat(packets);

describe("RadiusStreamReader", () => {
  it("splits packets written back to back in one chunk", () => {
    const r = new RadiusStreamReader().push(stream);
    assert.deepEqual(r.packets, packets);
    assert.equal(r.failure, undefined);
  });

  it("reassembles a stream fed one octet at a time, and at every split point", () => {
    const reader = new RadiusStreamReader();
    const got: Buffer[] = [];
    for (const octet of stream) got.push(...reader.push(Buffer.from([octet])).packets);
    assert.deepEqual(got, packets);
    assert.equal(reader.buffered, 0);
    for (let cut = 1; cut < stream.length; cut++) {
      const r = new RadiusStreamReader();
      const parts = [...r.push(stream.subarray(0, cut)).packets, ...r.push(stream.subarray(cut)).packets];
      assert.deepEqual(parts, packets, `split at ${cut}`);
    }
  });

  it("keeps a partial packet until the rest arrives", () => {
    const reader = new RadiusStreamReader();
    assert.deepEqual(reader.push(packets[1]!.subarray(0, 10)).packets, []);
    assert.equal(reader.buffered, 10);
    assert.deepEqual(reader.push(packets[1]!.subarray(10)).packets, [packets[1]]);
  });

  it("fails on a Length below 20 or above 4096, after returning the packets before it, and stays failed", () => {
    for (const [length, failure] of [[19, "length-too-short"], [4097, "length-too-long"]] as const) {
      const bad = Buffer.alloc(20);
      bad[0] = 1;
      bad.writeUInt16BE(length, 2);
      const reader = new RadiusStreamReader();
      const r = reader.push(Buffer.concat([packets[0]!, bad, packets[1]!]));
      assert.deepEqual(r.packets, [packets[0]]);
      assert.equal(r.failure, failure);
      assert.deepEqual(reader.push(packets[2]!), { packets: [], failure });
    }
  });

  it("takes the largest packet RADIUS allows (4096 octets)", () => {
    const big = Buffer.alloc(4096);
    big[0] = 1;
    big.writeUInt16BE(4096, 2);
    assert.deepEqual(new RadiusStreamReader().push(big).packets, [big]);
  });
});
