// Reads just enough of a TLS ClientHello (RFC 8446 section 4.1.2) to see whether the client
// offers early data (0-RTT, the `early_data` extension, section 4.2.10), before OpenSSL sees it.
// RFC 9887 section 5.1.2: a TACACS+ over TLS server must disconnect a client that sends early
// data. Pure; never throws on wire input.

/** TLS record content type `handshake` (section 5.1). */
export const TLS_HANDSHAKE_RECORD = 0x16;
const CLIENT_HELLO = 1;
const EARLY_DATA_EXTENSION = 42;
const RECORD_HEADER = 5;
const HANDSHAKE_HEADER = 4;
/** legacy_version (2) and random (32) in front of the session id. */
const VERSION_AND_RANDOM = 34;

/**
 * The extension types of the ClientHello at the start of `bytes`, in order; null when `bytes`
 * do not hold one whole ClientHello in their first record (too short, split across records, not
 * a ClientHello, or lengths that do not add up).
 */
export function clientHelloExtensions(bytes: Buffer): number[] | null {
  if (bytes.length < RECORD_HEADER + HANDSHAKE_HEADER || bytes[0] !== TLS_HANDSHAKE_RECORD) return null;
  const recordEnd = RECORD_HEADER + bytes.readUInt16BE(3);
  if (bytes.length < recordEnd || bytes[RECORD_HEADER] !== CLIENT_HELLO) return null;
  const helloEnd = RECORD_HEADER + HANDSHAKE_HEADER + bytes.readUIntBE(RECORD_HEADER + 1, 3);
  if (helloEnd > recordEnd) return null;
  let p = RECORD_HEADER + HANDSHAKE_HEADER + VERSION_AND_RANDOM;
  const skip = (lengthOctets: 1 | 2): boolean => {
    if (p + lengthOctets > helloEnd) return false;
    p += lengthOctets + bytes.readUIntBE(p, lengthOctets);
    return p <= helloEnd;
  };
  // session id, cipher suites, compression methods
  if (!skip(1) || !skip(2) || !skip(1)) return null;
  if (p === helloEnd) return [];
  if (p + 2 > helloEnd) return null;
  const extensionsEnd = p + 2 + bytes.readUInt16BE(p);
  if (extensionsEnd !== helloEnd) return null;
  p += 2;
  const types: number[] = [];
  while (p < extensionsEnd) {
    if (p + 4 > extensionsEnd) return null;
    types.push(bytes.readUInt16BE(p));
    p += 4 + bytes.readUInt16BE(p + 2);
  }
  return p === extensionsEnd ? types : null;
}

/** Whether the ClientHello at the start of `bytes` offers early data; null when that cannot be told from them. */
export function offersEarlyData(bytes: Buffer): boolean | null {
  const types = clientHelloExtensions(bytes);
  return types === null ? null : types.includes(EARLY_DATA_EXTENSION);
}
