// Who a TLS peer is: certificates made with openssl (test/support/certs.ts) parsed by Node, matched
// against `clients[].certificate`; and the credentials' reload keeping the old set on a bad file.

import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { PeerCertificate } from "node:tls";
import { buildConfig, type ClientConfig } from "../../src/config/load.ts";
import { TlsCredentials, TlsCredentialsError } from "../../src/tls/credentials.ts";
import { TlsClientTable, certificateMatches, subjectAltNames } from "../../src/tls/identity.ts";
import { makePki } from "../support/certs.ts";

const pki = makePki();
after(() => rmSync(pki.dir, { recursive: true, force: true }));

/** What tls.TLSSocket#getPeerCertificate gives for `file`: subject fields and the SAN string. */
function peer(file: string): Pick<PeerCertificate, "subject" | "subjectaltname"> {
  const x = new X509Certificate(readFileSync(file));
  const subject: Record<string, string> = {};
  for (const line of x.subject.split("\n")) {
    const eq = line.indexOf("=");
    subject[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return { subject: subject as unknown as PeerCertificate["subject"], subjectaltname: x.subjectAltName ?? "" };
}

function clients(entries: object[]): ClientConfig[] {
  return buildConfig("/etc/tally/tally.yaml", { clients: entries }).clients;
}

describe("certificate identity", () => {
  const edge1 = peer(pki.issue("edge1", { subject: "/CN=edge1.example.net/O=Example", san: ["DNS:Edge1.Example.net", "IP:192.0.2.1", "IP:2001:db8::1"] }).cert);
  const plain = peer(pki.issue("plain", { subject: "/CN=plain" }).cert);

  test("SAN entries are read in the config's spelling", () => {
    const sans = subjectAltNames(edge1);
    assert.deepEqual(sans.slice(0, 2), ["DNS:Edge1.Example.net", "IP:192.0.2.1"]);
    assert.match(sans[2]!, /^IP:2001:db8:/i);
    // OpenSSL spells it out in full; the config's short form still matches.
    assert.equal(certificateMatches(edge1, { subject: null, san: ["IP:2001:db8::1"] }), true);
    assert.equal(certificateMatches(edge1, { subject: null, san: ["IP:2001:db8::2"] }), false);
    assert.deepEqual(subjectAltNames(plain), []);
  });

  test("subject: every field given must be equal; san: one of those given must be present (DNS without case)", () => {
    assert.equal(certificateMatches(edge1, { subject: { CN: "edge1.example.net" }, san: null }), true);
    assert.equal(certificateMatches(edge1, { subject: { CN: "edge1.example.net", O: "Example" }, san: null }), true);
    assert.equal(certificateMatches(edge1, { subject: { CN: "edge1.example.net", O: "Other" }, san: null }), false);
    assert.equal(certificateMatches(edge1, { subject: { CN: "edge2.example.net" }, san: null }), false);
    assert.equal(certificateMatches(edge1, { subject: null, san: ["DNS:edge1.example.net"] }), true);
    assert.equal(certificateMatches(edge1, { subject: null, san: ["DNS:edge2.example.net", "IP:192.0.2.1"] }), true);
    assert.equal(certificateMatches(edge1, { subject: null, san: ["IP:192.0.2.2"] }), false);
    assert.equal(certificateMatches(edge1, { subject: { CN: "edge1.example.net" }, san: ["IP:192.0.2.2"] }), false, "both parts must match");
    assert.equal(certificateMatches(plain, { subject: null, san: ["DNS:plain"] }), false, "a CN is not a SAN");
  });

  test("the table: first client in config order whose address range and certificate both match", () => {
    const table = new TlsClientTable(
      clients([
        { name: "psk-only", address: "0.0.0.0/0", secret: "x" },
        { name: "edge-by-cn", address: "10.0.0.0/8", certificate: { subject: "CN=edge1.example.net" } },
        { name: "edge-by-san", address: "0.0.0.0/0", certificate: { san: ["IP:192.0.2.1"] } },
      ]),
    );
    assert.equal(table.mayConnect("10.1.2.3"), true);
    assert.equal(table.mayConnect("::1"), false, "no TLS client covers IPv6");
    assert.equal(table.identify("10.1.2.3", edge1)?.name, "edge-by-cn");
    assert.equal(table.identify("::ffff:10.1.2.3", edge1)?.name, "edge-by-cn", "a dual-stack socket's spelling");
    assert.equal(table.identify("172.16.0.1", edge1)?.name, "edge-by-san", "outside 10/8 the next entry");
    assert.equal(table.identify("10.1.2.3", plain), undefined, "a client without a certificate entry is never a TLS client");
  });

  test("config: a client may have only a certificate; a bad identity names the key", () => {
    assert.equal(clients([{ name: "t", address: "192.0.2.0/24", certificate: { san: ["DNS:x"] } }])[0]!.secret, null);
    assert.throws(() => clients([{ name: "t", address: "192.0.2.0/24", certificate: {} }]), /clients\[0\]\.certificate: expected "subject", "san" or both/);
    assert.throws(() => clients([{ name: "t", address: "192.0.2.0/24", certificate: { san: ["edge1"] } }]), /clients\[0\]\.certificate\.san\[0\]: expected "DNS:NAME"/);
    assert.throws(() => clients([{ name: "t", address: "192.0.2.0/24", certificate: { subject: "edge1" } }]), /clients\[0\]\.certificate\.subject: expected "KEY=VALUE/);
    assert.throws(
      () => buildConfig("/etc/tally/tally.yaml", { radius: { radsec: { listen: "127.0.0.1:2083" } }, clients: [{ name: "t", address: "192.0.2.0/24", certificate: { san: ["DNS:x"] } }] }),
      /tally\.yaml[\s\S]*tls: missing \(expected \{ cert, key, ca \} files: radius\.radsec is set\)/,
    );
  });
});

describe("TLS credentials", () => {
  test("loads the files; a reload with a broken file throws naming it and keeps the running set", () => {
    const cert = join(pki.dir, "live.pem");
    const key = join(pki.dir, "live.key");
    copyFileSync(pki.server.cert, cert);
    copyFileSync(pki.server.key, key);
    const creds = new TlsCredentials({ cert, key, ca: pki.ca, crl: null });
    const before = creds.options.cert;
    let changes = 0;
    creds.onChange(() => changes++);
    writeFileSync(key, "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
    assert.throws(() => creds.reload(), (e: unknown) => e instanceof TlsCredentialsError && /live\.key/.test((e as Error).message));
    assert.equal(creds.options.cert, before, "the old set stays");
    assert.equal(changes, 0);
    // A key that parses but belongs to another certificate is refused too.
    const other = pki.issue("other");
    copyFileSync(other.key, key);
    assert.throws(() => creds.reload(), TlsCredentialsError);
    copyFileSync(other.cert, cert);
    creds.reload();
    assert.equal(changes, 1);
    assert.deepEqual(creds.options.cert, readFileSync(other.cert));
    assert.throws(() => new TlsCredentials({ cert, key, ca: join(pki.dir, "missing.pem"), crl: null }), /tls\.ca: cannot read .*missing\.pem: ENOENT/);
  });
});
