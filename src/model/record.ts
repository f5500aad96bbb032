// The protocol-neutral accounting record: what every transport (RADIUS, later TACACS+ and
// OpenVPN) turns an accounting message into before the accounting core and the store see it.
// This module is a leaf: it imports nothing of ours, so the store and the core can share it.

export type Protocol = "radius" | "tacacs" | "openvpn";

/** What a record says about its session. `on`/`off` are NAS-wide (Accounting-On/Off). */
export type RecordKind = "start" | "interim" | "stop" | "on" | "off";

/** One attribute-value pair as received, in display form (JSON-safe). */
export interface RecordAttribute {
  readonly name: string;
  readonly value: string | number;
  readonly tag?: number;
}

export interface AccountingRecord {
  readonly protocol: Protocol;
  readonly kind: RecordKind;
  /** When Tally received it (ms since the epoch). */
  readonly receivedAt: number;
  /** When it happened at the NAS (ms): Event-Timestamp, else receivedAt minus Acct-Delay-Time. */
  readonly eventTime: number;
  /** Name of the configured client (NAS entry) that sent it. */
  readonly client: string;
  /** The NAS's identity: NAS-Identifier, else NAS-IP(v6)-Address, else the source address. */
  readonly nas: string;
  readonly user: string | null;
  /** The NAS's session id (RADIUS Acct-Session-Id); null on Accounting-On/Off. */
  readonly sessionId: string | null;
  /** Counters are cumulative for the session; octets already include Gigawords (64-bit totals). */
  readonly inputOctets: number | null;
  readonly outputOctets: number | null;
  readonly inputPackets: number | null;
  readonly outputPackets: number | null;
  /** Seconds the session has lasted so far. */
  readonly sessionTime: number | null;
  readonly terminateCause: string | null;
  /** The user's address inside the network (Framed-IP-Address). */
  readonly framedAddress: string | null;
  /** The user's own address (RADIUS Calling-Station-Id, OpenVPN's real address). */
  readonly clientAddress: string | null;
  readonly nasPort: string | null;
  /**
   * A command the user ran (TACACS+ command accounting: cmd and its cmd-args). Such records
   * are the audit trail; they belong to no session.
   */
  readonly command: string | null;
  /** Every attribute-value pair of the message, in order. */
  readonly attributes: readonly RecordAttribute[];
  /**
   * Seconds between interim updates the NAS was told for this session, when the transport
   * knows it (the Acct-Interim-Interval of Tally's own Access-Accept, the OpenVPN connector's
   * schedule). Session state, not part of the record's identity; not stored with the record.
   */
  readonly interimInterval?: number;
  /**
   * Identical records share this key (a NAS resending with a new identifier and a new
   * Acct-Delay-Time): the store keeps the first and never folds a duplicate twice.
   */
  readonly dedupKey: string;
}

/** A record as stored, with its row id and the session it was folded into. */
export interface StoredRecord extends AccountingRecord {
  readonly id: number;
  readonly sessionPk: number | null;
}

/**
 * A stored record as JSON, the one shape `tally records --json`, the HTTP API and `tally export`
 * print: the record's fields in a fixed order, times as ISO 8601 UTC.
 */
export type RecordJson = {
  id: number;
  sessionPk: number | null;
  protocol: Protocol;
  kind: RecordKind;
  receivedAt: string;
  eventTime: string;
  client: string;
  nas: string;
  user: string | null;
  sessionId: string | null;
  inputOctets: number | null;
  outputOctets: number | null;
  inputPackets: number | null;
  outputPackets: number | null;
  sessionTime: number | null;
  terminateCause: string | null;
  framedAddress: string | null;
  clientAddress: string | null;
  nasPort: string | null;
  command: string | null;
  attributes: readonly RecordAttribute[];
  dedupKey: string;
};

export function recordToJson(r: StoredRecord): RecordJson {
  return {
    id: r.id,
    sessionPk: r.sessionPk,
    protocol: r.protocol,
    kind: r.kind,
    receivedAt: new Date(r.receivedAt).toISOString(),
    eventTime: new Date(r.eventTime).toISOString(),
    client: r.client,
    nas: r.nas,
    user: r.user,
    sessionId: r.sessionId,
    inputOctets: r.inputOctets,
    outputOctets: r.outputOctets,
    inputPackets: r.inputPackets,
    outputPackets: r.outputPackets,
    sessionTime: r.sessionTime,
    terminateCause: r.terminateCause,
    framedAddress: r.framedAddress,
    clientAddress: r.clientAddress,
    nasPort: r.nasPort,
    command: r.command,
    attributes: r.attributes,
    dedupKey: r.dedupKey,
  };
}
