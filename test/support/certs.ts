// A private PKI for TLS tests, made with Debian's openssl in a temporary directory: one CA, a
// server certificate for 127.0.0.1 / localhost, and client certificates with the names asked for.
// EC P-256 keys: quick to make. Nothing here is ever used outside the test that made it.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface CertPair {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  /** The CA certificate (PEM file path); its key is `caKey`. */
  ca: string;
  caKey: string;
  /** Server: CN=tally.test, SAN DNS:localhost, DNS:tally.test, IP:127.0.0.1, IP:::1. */
  server: CertPair;
  /** Issues a certificate signed by this CA (or by `other`, another PKI's CA). */
  issue(name: string, opts?: { subject?: string; san?: string[]; days?: number; signer?: TestPki }): CertPair;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

export function makePki(prefix = "tally-pki-"): TestPki {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const ca = join(dir, "ca.pem");
  const caKey = join(dir, "ca.key");
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", caKey], dir);
  openssl(["req", "-x509", "-new", "-key", caKey, "-sha256", "-days", "30", "-subj", "/CN=Tally Test CA", "-out", ca,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
  let serial = 1;
  const pki: TestPki = {
    dir,
    ca,
    caKey,
    server: { cert: "", key: "" },
    issue(name, opts = {}) {
      const signer = opts.signer ?? pki;
      const key = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const cert = join(dir, `${name}.pem`);
      const ext = join(dir, `${name}.ext`);
      openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], dir);
      openssl(["req", "-new", "-key", key, "-subj", opts.subject ?? `/CN=${name}`, "-out", csr], dir);
      const san = opts.san ?? [];
      writeFileSync(
        ext,
        [
          "basicConstraints=critical,CA:FALSE",
          "keyUsage=critical,digitalSignature,keyEncipherment",
          "extendedKeyUsage=serverAuth,clientAuth",
          ...(san.length > 0 ? [`subjectAltName=${san.join(",")}`] : []),
        ].join("\n") + "\n",
      );
      openssl(["x509", "-req", "-in", csr, "-CA", signer.ca, "-CAkey", signer.caKey, "-set_serial", String(1000 + serial++), "-sha256",
        "-days", String(opts.days ?? 30), "-extfile", ext, "-out", cert], dir);
      return { cert, key };
    },
  };
  pki.server = pki.issue("server", { subject: "/CN=tally.test", san: ["DNS:localhost", "DNS:tally.test", "IP:127.0.0.1", "IP:::1"] });
  return pki;
}

/** A PEM file's text, e.g. to hand to tls.connect. */
export function pem(path: string): string {
  return readFileSync(path, "utf8");
}
