// RADIUS protocol constants: packet codes, attribute numbers, the few enumerated values the
// server itself acts on, and the size limits of the wire format. Every other radius module
// takes its numbers from here so a protocol number is written down exactly once.

/** Packet codes (RFC 2865 §3, RFC 2866 §3, RFC 5997, RFC 5176 §2.3). */
export const PacketCode = {
  AccessRequest: 1,
  AccessAccept: 2,
  AccessReject: 3,
  AccountingRequest: 4,
  AccountingResponse: 5,
  AccessChallenge: 11,
  StatusServer: 12,
  StatusClient: 13,
  DisconnectRequest: 40,
  DisconnectACK: 41,
  DisconnectNAK: 42,
  CoARequest: 43,
  CoAACK: 44,
  CoANAK: 45,
} as const;

export type PacketCodeValue = (typeof PacketCode)[keyof typeof PacketCode];

const packetCodeNames: ReadonlyMap<number, string> = new Map([
  [PacketCode.AccessRequest, "Access-Request"],
  [PacketCode.AccessAccept, "Access-Accept"],
  [PacketCode.AccessReject, "Access-Reject"],
  [PacketCode.AccountingRequest, "Accounting-Request"],
  [PacketCode.AccountingResponse, "Accounting-Response"],
  [PacketCode.AccessChallenge, "Access-Challenge"],
  [PacketCode.StatusServer, "Status-Server"],
  [PacketCode.StatusClient, "Status-Client"],
  [PacketCode.DisconnectRequest, "Disconnect-Request"],
  [PacketCode.DisconnectACK, "Disconnect-ACK"],
  [PacketCode.DisconnectNAK, "Disconnect-NAK"],
  [PacketCode.CoARequest, "CoA-Request"],
  [PacketCode.CoAACK, "CoA-ACK"],
  [PacketCode.CoANAK, "CoA-NAK"],
]);

/** The RFC name of a packet code, or "Code-<n>" for one this codec does not know. */
export function packetCodeName(code: number): string {
  return packetCodeNames.get(code) ?? `Code-${code}`;
}

/** True for the codes decodePacket accepts. */
export function isKnownPacketCode(code: number): boolean {
  return packetCodeNames.has(code);
}

/**
 * Requests whose Request Authenticator is an MD5 over the packet itself (RFC 2866 §3,
 * RFC 5176 §2.3) rather than a random nonce; their Message-Authenticator is also computed
 * with the authenticator field zeroed (RFC 5176 §3.3).
 */
export const SIGNED_REQUEST_CODES: ReadonlySet<number> = new Set([
  PacketCode.AccountingRequest,
  PacketCode.DisconnectRequest,
  PacketCode.CoARequest,
]);

/** Requests that carry a random Request Authenticator (RFC 2865 §3, RFC 5997 §2). */
export const RANDOM_AUTHENTICATOR_CODES: ReadonlySet<number> = new Set([
  PacketCode.AccessRequest,
  PacketCode.StatusServer,
]);

/** Standard attribute types (RFC 2865 §5 and the RFCs named beside each group). */
export const Attr = {
  UserName: 1,
  UserPassword: 2,
  ChapPassword: 3,
  NasIpAddress: 4,
  NasPort: 5,
  ServiceType: 6,
  FramedProtocol: 7,
  FramedIpAddress: 8,
  FramedIpNetmask: 9,
  FilterId: 11,
  FramedMtu: 12,
  ReplyMessage: 18,
  State: 24,
  Class: 25,
  VendorSpecific: 26,
  SessionTimeout: 27,
  IdleTimeout: 28,
  TerminationAction: 29,
  CalledStationId: 30,
  CallingStationId: 31,
  NasIdentifier: 32,
  ProxyState: 33,
  // RFC 2866
  AcctStatusType: 40,
  AcctDelayTime: 41,
  AcctInputOctets: 42,
  AcctOutputOctets: 43,
  AcctSessionId: 44,
  AcctAuthentic: 45,
  AcctSessionTime: 46,
  AcctInputPackets: 47,
  AcctOutputPackets: 48,
  AcctTerminateCause: 49,
  AcctMultiSessionId: 50,
  AcctLinkCount: 51,
  // RFC 2869
  AcctInputGigawords: 52,
  AcctOutputGigawords: 53,
  EventTimestamp: 55,
  ChapChallenge: 60,
  NasPortType: 61,
  PortLimit: 62,
  // RFC 2868
  TunnelType: 64,
  TunnelMediumType: 65,
  TunnelPassword: 69,
  TunnelPrivateGroupId: 81,
  // RFC 2869 / RFC 3579
  ConnectInfo: 77,
  EapMessage: 79,
  MessageAuthenticator: 80,
  AcctInterimInterval: 85,
  NasPortId: 87,
  FramedPool: 88,
  ChargeableUserIdentity: 89,
  // RFC 3162
  NasIpv6Address: 95,
  FramedInterfaceId: 96,
  FramedIpv6Prefix: 97,
  FramedIpv6Route: 99,
  FramedIpv6Pool: 100,
  // RFC 5176
  ErrorCause: 101,
  // RFC 4818, RFC 6911
  DelegatedIpv6Prefix: 123,
  FramedIpv6Address: 168,
  // RFC 6929 extended attribute containers
  ExtendedAttribute1: 241,
  ExtendedAttribute2: 242,
  ExtendedAttribute3: 243,
  ExtendedAttribute4: 244,
  ExtendedAttribute5: 245,
  ExtendedAttribute6: 246,
} as const;

/** Acct-Status-Type values (RFC 2866 §5.1). */
export const AcctStatusType = {
  Start: 1,
  Stop: 2,
  InterimUpdate: 3,
  AccountingOn: 7,
  AccountingOff: 8,
} as const;

/** Error-Cause values the server sends in CoA/Disconnect NAKs (RFC 5176 §3.6). */
export const ErrorCause = {
  ResidualSessionContextRemoved: 201,
  UnsupportedAttribute: 401,
  MissingAttribute: 402,
  NasIdentificationMismatch: 403,
  InvalidRequest: 404,
  UnsupportedService: 405,
  InvalidAttributeValue: 407,
  AdministrativelyProhibited: 501,
  SessionContextNotFound: 503,
  ResourcesUnavailable: 506,
} as const;

// Sizes of the wire format (RFC 2865 §3 and §5).
/** Code(1) + Identifier(1) + Length(2) + Authenticator(16). */
export const HEADER_LENGTH = 20;
export const AUTHENTICATOR_LENGTH = 16;
/** RFC 2865 §3: "The maximum length is 4096." */
export const MAX_PACKET_LENGTH = 4096;
/** An attribute's Length octet covers Type and Length, so a value holds at most 255 - 2. */
export const MAX_ATTRIBUTE_VALUE_LENGTH = 253;
/** Message-Authenticator's value is an HMAC-MD5 (RFC 3579 §3.2). */
export const MESSAGE_AUTHENTICATOR_LENGTH = 16;

/** RFC 2865 §5.2: User-Password is at most 128 octets. */
export const MAX_USER_PASSWORD_LENGTH = 128;
/** RFC 2865 §5.26: Vendor-Id is 4 octets, the high octet zero. */
export const VENDOR_ID_LENGTH = 4;

/** RFC 6929 §2.1: the "Extended Type" containers (ext-type octet, then value). */
export const EXTENDED_TYPES: ReadonlySet<number> = new Set([241, 242, 243, 244]);
/** RFC 6929 §2.2: the "Long Extended Type" containers (ext-type, flags, value). */
export const LONG_EXTENDED_TYPES: ReadonlySet<number> = new Set([245, 246]);
/** RFC 6929 §2.2: the More bit of a Long Extended Type's flags octet. */
export const LONG_EXTENDED_MORE = 0x80;
/** RFC 6929 §2.4: Extended-Vendor-Specific is ext-type 26 inside each extended container. */
export const EXTENDED_VENDOR_SPECIFIC = 26;

/** RFC 2868 §3.1: a tag is 0x01-0x1F; an octet above 0x1F starts the value instead. */
export const MAX_TAG = 0x1f;

/** RFC 6614 section 2.3: over TLS the shared secret is this fixed string; TLS does the protecting. */
export const RADSEC_SHARED_SECRET = "radsec";
