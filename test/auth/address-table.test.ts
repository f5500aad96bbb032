// Which client a source address belongs to: first matching range wins, IPv4-mapped IPv6 is
// IPv4, and the answers the table remembers (it is asked once per packet) stay the same
// however many addresses it has seen.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AddressTable } from "../../src/auth/address-table.ts";

const table = new AddressTable<string>([
  { range: { address: "127.0.0.2", prefix: 32, family: "ipv4" }, value: "one" },
  { range: { address: "127.0.0.0", prefix: 8, family: "ipv4" }, value: "loopback" },
  { range: { address: "2001:db8::", prefix: 32, family: "ipv6" }, value: "doc6" },
]);

describe("AddressTable", () => {
  it("finds the first range that holds the address", () => {
    assert.equal(table.find("127.0.0.2"), "one");
    assert.equal(table.find("127.0.0.3"), "loopback");
    assert.equal(table.find("::ffff:127.0.0.2"), "one");
    assert.equal(table.find("2001:db8::7"), "doc6");
    assert.equal(table.find("192.0.2.1"), undefined);
    assert.equal(table.find("2001:db9::1"), undefined);
  });

  it("answers the same when asked again, and after more addresses than it remembers", () => {
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5000; i++) {
        const a = `10.${(i >> 8) & 255}.${i & 255}.1`;
        assert.equal(table.find(a), undefined, a);
      }
      assert.equal(table.find("127.0.0.2"), "one");
      assert.equal(table.find("127.9.9.9"), "loopback");
      assert.equal(table.find("192.0.2.1"), undefined);
      assert.equal(table.find("::ffff:127.0.0.2"), "one");
    }
  });
});
