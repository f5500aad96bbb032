// Building finished, signed datagrams: replies to a request, Access-Requests and the
// "signed" requests (Accounting, CoA, Disconnect). This is where the order of the RFC
// computations lives: Message-Authenticator first (over the packet with the right value in
// the authenticator field), then the packet's own authenticator, and password hiding with
// the authenticator that the receiver will use to reveal it.
//
// Password convention: every attribute value handed to a builder is cleartext. The builders
// hide the two standard attributes whose hiding depends on the packet being built:
// User-Password (2, RFC 2865 §5.2) and Tunnel-Password (69, RFC 2868 §3.5, value = tag octet +
// cleartext, exactly what encodeAttribute("Tunnel-Password", ...) returns). Pass
// `hidePasswords: false` when the values are already hidden (relaying a packet with the same
// authenticator). Vendor attributes with encrypt= flags are not hidden here.

import { randomBytes } from "node:crypto";
import {
  AUTHENTICATOR_LENGTH,
  Attr,
  HEADER_LENGTH,
  MAX_TAG,
  MESSAGE_AUTHENTICATOR_LENGTH,
  PacketCode,
  SIGNED_REQUEST_CODES,
  packetCodeName,
} from "./constants.ts";
import {
  accountingRequestAuthenticator,
  hideTunnelPassword,
  hideUserPassword,
  hmacMd5,
  messageAuthenticatorKey,
  responseAuthenticator,
} from "./crypto.ts";
import { encodePacket } from "./packet.ts";
import type { RadiusPacket, RawAttribute } from "./packet.ts";

export interface BuildOptions {
  /**
   * Put a Message-Authenticator in the packet (default true). It goes first: a reply whose
   * first attribute is the HMAC cannot be forged by the BlastRADIUS MD5 prefix attack.
   */
  messageAuthenticator?: boolean;
  /** Hide User-Password / Tunnel-Password cleartext values (default true); see the file header. */
  hidePasswords?: boolean;
}

export interface AccessRequestOptions extends BuildOptions {
  /** The Request Authenticator; 16 random octets by default. */
  authenticator?: Buffer;
}

/** Where the Message-Authenticator value sits when it is the first attribute. */
const FIRST_ATTRIBUTE_VALUE = HEADER_LENGTH + 2;

function placeholderMessageAuthenticator(): RawAttribute {
  return { type: Attr.MessageAuthenticator, value: Buffer.alloc(MESSAGE_AUTHENTICATOR_LENGTH) };
}

function refuseOwnedAttributes(attributes: RawAttribute[], owned: number[], what: string): void {
  for (const a of attributes) {
    if (owned.includes(a.type)) {
      throw new Error(
        `${what}: attribute ${a.type} is added by the builder itself; do not pass it (see BuildOptions)`,
      );
    }
  }
}

/**
 * Hides User-Password and Tunnel-Password values with `authenticator`. Each Tunnel-Password
 * gets its own salt, as RFC 2868 §3.5 requires within one packet.
 */
function hidePasswords(attributes: RawAttribute[], secret: Buffer, authenticator: Buffer): RawAttribute[] {
  const salts = new Set<string>();
  return attributes.map((a) => {
    if (a.type === Attr.UserPassword) {
      return { type: a.type, value: hideUserPassword(a.value, secret, authenticator) };
    }
    if (a.type === Attr.TunnelPassword) {
      const tagged = a.value.length > 0 && a.value[0]! <= MAX_TAG;
      const tag = tagged ? a.value[0]! : 0;
      const clear = tagged ? a.value.subarray(1) : a.value;
      let salt: Buffer;
      do {
        salt = randomBytes(2);
        salt[0] = salt[0]! | 0x80;
      } while (salts.has(salt.toString("hex")));
      salts.add(salt.toString("hex"));
      return { type: a.type, value: Buffer.concat([Buffer.from([tag]), hideTunnelPassword(clear, secret, authenticator, salt)]) };
    }
    return a;
  });
}

/**
 * Writes the HMAC-MD5 into the first attribute, computed with the authenticator field set as
 * messageAuthenticatorKey says; the field is then put back as it was.
 */
function signFirstMessageAuthenticator(datagram: Buffer, secret: Buffer, key: Buffer): void {
  const saved = Buffer.from(datagram.subarray(4, HEADER_LENGTH));
  key.copy(datagram, 4);
  hmacMd5(datagram, secret).copy(datagram, FIRST_ATTRIBUTE_VALUE);
  saved.copy(datagram, 4);
}

/**
 * A reply to `request` (Access-Accept/Reject/Challenge, Accounting-Response, CoA/Disconnect
 * ACK/NAK): the request's Identifier; Message-Authenticator first unless disabled, computed
 * with the request's authenticator in the header (RFC 3579 §3.2; zeros for an
 * Accounting-Response to an Accounting-Request, see messageAuthenticatorKey); `attributes`;
 * then every Proxy-State of the request, in order (RFC 2865 §5.33); finally the Response
 * Authenticator.
 * Proxy-State and Message-Authenticator must not be in `attributes`.
 */
export function buildResponse(
  request: RadiusPacket,
  code: number,
  attributes: RawAttribute[],
  secret: Buffer,
  opts: BuildOptions = {},
): Buffer {
  refuseOwnedAttributes(attributes, [Attr.MessageAuthenticator, Attr.ProxyState], "buildResponse");
  const withMa = opts.messageAuthenticator ?? true;
  const body = (opts.hidePasswords ?? true) ? hidePasswords(attributes, secret, request.authenticator) : attributes;
  const proxyStates = request.attributes.filter((a) => a.type === Attr.ProxyState);
  const datagram = encodePacket({
    code,
    identifier: request.identifier,
    authenticator: request.authenticator,
    attributes: [...(withMa ? [placeholderMessageAuthenticator()] : []), ...body, ...proxyStates],
  });
  if (withMa) {
    signFirstMessageAuthenticator(datagram, secret, messageAuthenticatorKey(datagram, request.authenticator, request.code)!);
  }
  responseAuthenticator(datagram, request.authenticator, secret).copy(datagram, 4);
  return datagram;
}

/**
 * An Access-Request with a random (or given) Request Authenticator; User-Password and
 * Tunnel-Password values are given in cleartext and hidden with that authenticator. The
 * Message-Authenticator (default on) is computed over the packet as sent (RFC 3579 §3.2).
 * Returns the authenticator too: the caller needs it to verify the reply.
 */
export function buildAccessRequest(
  identifier: number,
  attributes: RawAttribute[],
  secret: Buffer,
  opts: AccessRequestOptions = {},
): { datagram: Buffer; authenticator: Buffer } {
  return buildRandomAuthenticatorRequest(PacketCode.AccessRequest, identifier, attributes, secret, opts);
}

/**
 * A Status-Server (RFC 5997 §3): like an Access-Request, and it MUST carry a
 * Message-Authenticator, so that option cannot be turned off here.
 */
export function buildStatusServer(
  identifier: number,
  attributes: RawAttribute[],
  secret: Buffer,
  opts: Omit<AccessRequestOptions, "messageAuthenticator"> = {},
): { datagram: Buffer; authenticator: Buffer } {
  return buildRandomAuthenticatorRequest(PacketCode.StatusServer, identifier, attributes, secret, {
    ...opts,
    messageAuthenticator: true,
  });
}

function buildRandomAuthenticatorRequest(
  code: number,
  identifier: number,
  attributes: RawAttribute[],
  secret: Buffer,
  opts: AccessRequestOptions,
): { datagram: Buffer; authenticator: Buffer } {
  refuseOwnedAttributes(attributes, [Attr.MessageAuthenticator], `build ${packetCodeName(code)}`);
  const authenticator = opts.authenticator ? Buffer.from(opts.authenticator) : randomBytes(AUTHENTICATOR_LENGTH);
  if (authenticator.length !== AUTHENTICATOR_LENGTH) {
    throw new Error(`build ${packetCodeName(code)}: authenticator must be 16 octets, got ${authenticator.length}`);
  }
  const withMa = opts.messageAuthenticator ?? true;
  const body = (opts.hidePasswords ?? true) ? hidePasswords(attributes, secret, authenticator) : attributes;
  const datagram = encodePacket({
    code,
    identifier,
    authenticator,
    attributes: [...(withMa ? [placeholderMessageAuthenticator()] : []), ...body],
  });
  if (withMa) signFirstMessageAuthenticator(datagram, secret, authenticator);
  return { datagram, authenticator };
}

/**
 * A request whose Request Authenticator is an MD5 over itself: Accounting-Request
 * (RFC 2866 §3), CoA-Request and Disconnect-Request (RFC 5176 §2.3). The Message-Authenticator
 * (default on) is computed first, with the authenticator field zeroed (RFC 5176 §3.3), and then
 * the Request Authenticator over the packet including it. No password hiding: these packets
 * carry no User-Password, and a receiver could not reveal one.
 */
export function buildSignedRequest(
  code: number,
  identifier: number,
  attributes: RawAttribute[],
  secret: Buffer,
  opts: Omit<BuildOptions, "hidePasswords"> = {},
): Buffer {
  if (!SIGNED_REQUEST_CODES.has(code)) {
    throw new Error(`buildSignedRequest: ${packetCodeName(code)} is not an Accounting, CoA or Disconnect request`);
  }
  refuseOwnedAttributes(attributes, [Attr.MessageAuthenticator], `build ${packetCodeName(code)}`);
  const withMa = opts.messageAuthenticator ?? true;
  const datagram = encodePacket({
    code,
    identifier,
    authenticator: Buffer.alloc(AUTHENTICATOR_LENGTH),
    attributes: [...(withMa ? [placeholderMessageAuthenticator()] : []), ...attributes],
  });
  if (withMa) signFirstMessageAuthenticator(datagram, secret, Buffer.alloc(AUTHENTICATOR_LENGTH));
  accountingRequestAuthenticator(datagram, secret).copy(datagram, 4);
  return datagram;
}

/** buildSignedRequest for an Accounting-Request. */
export function buildAccountingRequest(
  identifier: number,
  attributes: RawAttribute[],
  secret: Buffer,
  opts: Omit<BuildOptions, "hidePasswords"> = {},
): Buffer {
  return buildSignedRequest(PacketCode.AccountingRequest, identifier, attributes, secret, opts);
}
