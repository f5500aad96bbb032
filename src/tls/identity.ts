// Which configured client a TLS peer is: the first client whose address range holds the peer's
// address and whose `certificate` identity the peer's (already verified) certificate matches.
// Pure functions over the certificate Node parsed; used by RadSec and TACACS+ over TLS.

import type { PeerCertificate } from "node:tls";
import { AddressTable, canonicalAddress } from "../auth/address-table.ts";
import type { CertificateIdentity, ClientConfig } from "../config/load.ts";

/** "DNS:a, IP Address:192.0.2.1, URI:x" -> ["DNS:a", "IP:192.0.2.1", "URI:x"]. */
export function subjectAltNames(cert: Pick<PeerCertificate, "subjectaltname">): string[] {
  const text = cert.subjectaltname;
  if (typeof text !== "string" || text === "") return [];
  return text.split(/,\s*/).map((entry) => entry.replace(/^IP Address:/, "IP:"));
}

function normaliseSan(entry: string): string {
  const colon = entry.indexOf(":");
  const kind = entry.slice(0, colon);
  const value = entry.slice(colon + 1);
  // DNS names and e-mail domains compare without case; IPv6 addresses in one spelling.
  if (kind === "DNS" || kind === "email") return `${kind}:${value.toLowerCase()}`;
  if (kind === "IP") return `IP:${canonicalAddress(value)}`;
  return entry;
}

/** Whether `cert` shows everything `identity` asks for. */
export function certificateMatches(cert: Pick<PeerCertificate, "subject" | "subjectaltname">, identity: CertificateIdentity): boolean {
  if (identity.subject !== null) {
    const subject = (cert.subject ?? {}) as unknown as Record<string, string | string[] | undefined>;
    for (const [key, want] of Object.entries(identity.subject)) {
      const have = subject[key];
      const values = have === undefined ? [] : Array.isArray(have) ? have : [have];
      if (!values.includes(want)) return false;
    }
  }
  if (identity.san !== null) {
    const have = new Set(subjectAltNames(cert).map(normaliseSan));
    if (!identity.san.some((s) => have.has(normaliseSan(s)))) return false;
  }
  return true;
}

/** Clients that may use the TLS listeners, looked up by address and certificate. */
export class TlsClientTable {
  private readonly entries: { range: AddressTable<true>; client: ClientConfig }[];

  constructor(clients: readonly ClientConfig[]) {
    this.entries = clients
      .filter((c) => c.certificate !== null)
      .map((client) => ({ range: new AddressTable([{ range: client.address, value: true as const }]), client }));
  }

  /** Whether any TLS client could connect from `address` (checked before the handshake, so unknown sources cost no cryptography). */
  mayConnect(address: string): boolean {
    return this.entries.some((e) => e.range.find(address) !== undefined);
  }

  /** The first client in config order whose range holds `address` and whose identity `cert` matches. */
  identify(address: string, cert: Pick<PeerCertificate, "subject" | "subjectaltname">): ClientConfig | undefined {
    return this.entries.find((e) => e.range.find(address) !== undefined && certificateMatches(cert, e.client.certificate!))?.client;
  }
}
