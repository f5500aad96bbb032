// clientHelloExtensions / offersEarlyData against a real ClientHello (Node's own TLS client,
// captured on a plain TCP server), the same hello with an early_data extension spliced in, and
// bytes that are not a whole ClientHello.

import assert from "node:assert/strict";
import { createServer, type AddressInfo } from "node:net";
import { before, test } from "node:test";
import { connect } from "node:tls";
import { clientHelloExtensions, offersEarlyData } from "../../src/tls/client-hello.ts";

let hello: Buffer;

before(async () => {
  const server = createServer();
  const captured = new Promise<Buffer>((resolve) => server.once("connection", (s) => s.once("data", (d: Buffer) => (resolve(d), s.destroy()))));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const client = connect({ host: "127.0.0.1", port: (server.address() as AddressInfo).port, servername: "tally.test", minVersion: "TLSv1.3" });
  client.on("error", () => {}); // we hang up on it
  hello = await captured;
  client.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

/** `hello` with one more extension (type, empty body) at the end, every length fixed up. */
function withExtension(type: number): Buffer {
  const ext = Buffer.from([type >> 8, type & 0xff, 0, 0]);
  const out = Buffer.concat([hello, ext]);
  out.writeUInt16BE(out.readUInt16BE(3) + 4, 3); // record length
  out.writeUIntBE(out.readUIntBE(6, 3) + 4, 6, 3); // handshake length
  // The extensions block length sits right after the compression methods.
  let p = 5 + 4 + 34;
  p += 1 + out[p]!;
  p += 2 + out.readUInt16BE(p);
  p += 1 + out[p]!;
  out.writeUInt16BE(out.readUInt16BE(p) + 4, p);
  return out;
}

test("Node's ClientHello: its extensions are read (server_name, supported_versions) and no early_data", () => {
  const types = clientHelloExtensions(hello);
  assert.ok(types !== null, "a whole ClientHello");
  assert.ok(types.includes(0), "server_name");
  assert.ok(types.includes(43), "supported_versions");
  assert.equal(offersEarlyData(hello), false);
});

test("the same hello with early_data (42) offers early data", () => {
  assert.equal(offersEarlyData(withExtension(42)), true);
  assert.equal(offersEarlyData(withExtension(41)), false, "another extension is not early data");
});

test("not a whole ClientHello: null, never a throw", () => {
  assert.equal(offersEarlyData(hello.subarray(0, hello.length - 1)), null, "truncated");
  assert.equal(offersEarlyData(hello.subarray(0, 7)), null, "a record header only");
  assert.equal(offersEarlyData(Buffer.from("c1010101000000010000000c", "hex")), null, "a TACACS+ header");
  const lying = Buffer.from(hello);
  lying.writeUIntBE(lying.readUIntBE(6, 3) + 1, 6, 3);
  assert.equal(offersEarlyData(lying), null, "a handshake longer than its record");
  for (let cut = 0; cut < hello.length; cut += 7) assert.equal(offersEarlyData(hello.subarray(0, cut)), null, `cut at ${cut}`);
});
