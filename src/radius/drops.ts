// Why the RADIUS server drops a packet without answering: a closed list, one text each,
// counted per reason (tally_drops_total, docs/metrics.md). RFC 2865 section 3 and RFC 5080 say to
// drop silently rather than answer anything that cannot be trusted.

import type { PacketDecodeFailure } from "./packet.ts";

export const dropReasonText = {
  "unknown-client": "source address is not a configured client",
  "rate-limited": "over the source's or the client's rate limit (radius.rateLimit, clients[].rateLimit)",
  "overloaded": "radius.maxPending requests already pending; the NAS will retransmit",
  // RadSec connections (radsec.ts), refused or closed before any request on them is read.
  "connection-limit": "too many RadSec connections (radius.radsec.maxConnections or maxConnectionsPerSource)",
  "handshake-timeout": "TLS handshake not done within radius.radsec.handshakeTimeout",
  "handshake-failed": "TLS handshake failed (no client certificate, one the CA did not sign, or no common version or cipher)",
  "certificate-mismatch": "client certificate matches no client's certificate identity for its address",
  "idle-timeout": "RadSec connection idle longer than radius.radsec.idleTimeout",
  "too-short": "datagram shorter than the 20-octet header",
  "length-too-short": "Length field below 20",
  "length-too-long": "Length field above 4096",
  "length-exceeds-datagram": "Length field larger than the datagram",
  "attribute-truncated": "an attribute runs past the packet end",
  "attribute-length-invalid": "an attribute has a length below 2",
  "unknown-code": "unknown packet code",
  "unexpected-code": "packet code not accepted on this port",
  "bad-authenticator": "Request Authenticator does not match the shared secret",
  "bad-message-authenticator": "Message-Authenticator is invalid",
  "missing-message-authenticator": "Message-Authenticator required but absent",
  "proxy-state-without-message-authenticator": "Access-Request with Proxy-State but no Message-Authenticator (limitProxyState)",
  "missing-status-type": "Accounting-Request without Acct-Status-Type",
  "unsupported-status-type": "Acct-Status-Type Tally does not account",
  "missing-session-id": "session record without Acct-Session-Id",
  "nas-not-allowed": "Accounting-Request names a NAS not in the client's nas list",
  "store-failed": "the store could not commit the record; the NAS will retransmit",
  "duplicate-in-progress": "retransmission of a request still being processed",
} as const satisfies Record<PacketDecodeFailure | string, string>;

export type DropReason = keyof typeof dropReasonText;
