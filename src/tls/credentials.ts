// The certificate, key, CA and CRL the TLS listeners (RadSec, TACACS+ over TLS) use, read from
// files. `reload()` re-reads them (SIGHUP): every listener swaps its secure context for new
// handshakes, connections already up keep theirs. A file that cannot be read or parsed leaves
// the running set in place and says which file and why.

import { readFileSync } from "node:fs";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import type { TlsFiles } from "../config/load.ts";

export class TlsCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TlsCredentialsError";
  }
}

function readPem(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new TlsCredentialsError(`tls.${what}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Reads and checks the files: a bad one throws naming it, before anything is swapped. */
export function loadSecureContextOptions(files: TlsFiles): SecureContextOptions {
  const options: SecureContextOptions = {
    cert: readPem("cert", files.cert),
    key: readPem("key", files.key),
    ca: readPem("ca", files.ca),
  };
  if (files.crl !== null) options.crl = readPem("crl", files.crl);
  try {
    // Parses every PEM and checks that the key belongs to the certificate.
    createSecureContext(options);
  } catch (e) {
    throw new TlsCredentialsError(`tls: ${files.cert} / ${files.key} / ${files.ca}${files.crl ? ` / ${files.crl}` : ""}: ${(e as Error).message}`);
  }
  return options;
}

type Listener = (options: SecureContextOptions) => void;

export class TlsCredentials {
  private current: SecureContextOptions;
  private readonly listeners = new Set<Listener>();

  constructor(private files: TlsFiles) {
    this.current = loadSecureContextOptions(files);
  }

  /** The options for a new tls.Server (add minVersion, requestCert and so on to a copy). */
  get options(): SecureContextOptions {
    return this.current;
  }

  /** Called with the new options after each successful reload; returns an unsubscribe. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-reads the files (new paths if given); throws TlsCredentialsError and keeps the old ones on failure. */
  reload(files: TlsFiles = this.files): void {
    const next = loadSecureContextOptions(files);
    this.files = files;
    this.current = next;
    for (const l of this.listeners) l(next);
  }
}
