// What the OpenVPN connector asks of the accounting side. Inside `tally serve` that is Tally
// itself (plugins, users, the store: local-backend.ts); for `tally openvpn` running next to a
// remote Tally or another RADIUS server it is a RADIUS client (radius-backend.ts). The
// connector only speaks OpenVPN's management interface and keeps each client's schedule.

import type { AccountingRecord } from "../model/record.ts";

export interface AuthRequest {
  /** The connector's name (its NAS name). */
  connector: string;
  user: string;
  password: string;
  /** The client's ENV from >CLIENT:CONNECT / REAUTH, without the password. */
  env: Record<string, string>;
}

export type AuthVerdict =
  | {
      ok: true;
      /** Seconds between interims granted at authentication (Acct-Interim-Interval); null: none. */
      interval: number | null;
      /** Reply attributes by dictionary name; the connector turns some into client-auth lines. */
      reply: Record<string, string | number>;
    }
  | { ok: false; reason: string };

export interface AccountResult {
  /** The accounting side's new interval for this session (seconds; 0 stops updates). */
  interimInterval?: number;
  /** The accounting side's handle on the session (the store's id), when it has one. */
  sessionRef?: number | null;
}

/** A session the accounting side holds open for this OpenVPN server. */
export interface KnownSession {
  sessionId: string;
  ref: number | null;
  user: string | null;
  /** ms since the epoch */
  startedAt: number;
  updatedAt: number;
  inputOctets: number;
  outputOctets: number;
  interimInterval: number | null;
  framedAddress: string | null;
  clientAddress: string | null;
}

export interface DisconnectRequest {
  sessionId: string;
  ref: number | null;
  reason: string | null;
}

export interface ConnectorBackend {
  authenticate(request: AuthRequest): Promise<AuthVerdict>;
  /** Resolves once the record is durably stored (or acknowledged); rejects when it is not. */
  account(record: AccountingRecord): Promise<AccountResult>;
  /** Open sessions of this server the accounting side knows, for reconciliation. */
  openSessions(connector: string): Promise<KnownSession[]>;
  /** Disconnects asked for from another process (e.g. `tally disconnect`), if the side has any. */
  requestedDisconnects?(connector: string): Promise<DisconnectRequest[]>;
  /** Records how a disconnect went. */
  settleDisconnect?(request: DisconnectRequest, outcome: { state: "acknowledged" | "refused"; detail: string }): Promise<void>;
  /** Records something about a session no record says (e.g. no byte counts from OpenVPN). */
  noteSession?(ref: number, note: string): Promise<void>;
}

/** Acct-Interim-Interval from reply attributes, or null. */
export function intervalFrom(reply: Record<string, string | number>): number | null {
  const v = Number(reply["Acct-Interim-Interval"]);
  return reply["Acct-Interim-Interval"] !== undefined && Number.isInteger(v) && v >= 0 ? v : null;
}
