// Rows of the stores' tables and their conversion to Tally's objects. SQLite and PostgreSQL
// name their columns alike, so both stores share these.

import type { Protocol, RecordAttribute, RecordKind, StoredRecord } from "../model/record.ts";
import type { DisconnectState, Session, SessionState, SessionStatus } from "../model/session.ts";
import type { StoredUser } from "./store.ts";

export interface SessionRow {
  id: number;
  session_key: string;
  protocol: string;
  client: string;
  nas: string;
  user: string | null;
  session_id: string;
  status: string;
  started_at: number;
  updated_at: number;
  stopped_at: number | null;
  input_octets: number;
  output_octets: number;
  input_packets: number;
  output_packets: number;
  session_time: number;
  terminate_cause: string | null;
  framed_address: string | null;
  client_address: string | null;
  nas_port: string | null;
  interim_interval: number | null;
  next_update_due: number | null;
  disconnect: string | null;
  disconnect_reason: string | null;
  note: string | null;
}

export interface RecordRow {
  id: number;
  dedup_key: string;
  session_pk: number | null;
  protocol: string;
  kind: string;
  received_at: number;
  event_time: number;
  client: string;
  nas: string;
  user: string | null;
  session_id: string | null;
  input_octets: number | null;
  output_octets: number | null;
  input_packets: number | null;
  output_packets: number | null;
  session_time: number | null;
  terminate_cause: string | null;
  framed_address: string | null;
  client_address: string | null;
  nas_port: string | null;
  command: string | null;
  /** JSON text (SQLite) or already parsed (PostgreSQL jsonb). */
  attributes: string | RecordAttribute[];
}

export interface UserRow {
  name: string;
  password_cleartext: string | null;
  password_scrypt: string | null;
  reply: string | Record<string, string | number>;
  groups: string | string[];
}

export interface UsageRow {
  sessions: number;
  input_octets: number | null;
  output_octets: number | null;
  session_time: number | null;
}

export interface UsageDayRow extends UsageRow {
  day: string;
}

/** The columns of a session row, as named parameters (everything but id and session_key). */
export function sessionParams(s: SessionState) {
  return {
    protocol: s.protocol,
    client: s.client,
    nas: s.nas,
    user: s.user ?? null,
    session_id: s.sessionId,
    status: s.status,
    started_at: s.startedAt,
    updated_at: s.updatedAt,
    stopped_at: s.stoppedAt ?? null,
    input_octets: s.inputOctets,
    output_octets: s.outputOctets,
    input_packets: s.inputPackets,
    output_packets: s.outputPackets,
    session_time: s.sessionTime,
    terminate_cause: s.terminateCause ?? null,
    framed_address: s.framedAddress ?? null,
    client_address: s.clientAddress ?? null,
    nas_port: s.nasPort ?? null,
    interim_interval: s.interimInterval ?? null,
    next_update_due: s.nextUpdateDue ?? null,
    disconnect: s.disconnect ?? null,
    disconnect_reason: s.disconnectReason ?? null,
    note: s.note ?? null,
  };
}

export function rowToSession(r: SessionRow): Session {
  return {
    id: r.id,
    protocol: r.protocol as Protocol,
    client: r.client,
    nas: r.nas,
    user: r.user,
    sessionId: r.session_id,
    status: r.status as SessionStatus,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    stoppedAt: r.stopped_at,
    inputOctets: r.input_octets,
    outputOctets: r.output_octets,
    inputPackets: r.input_packets,
    outputPackets: r.output_packets,
    sessionTime: r.session_time,
    terminateCause: r.terminate_cause,
    framedAddress: r.framed_address,
    clientAddress: r.client_address,
    nasPort: r.nas_port,
    interimInterval: r.interim_interval,
    nextUpdateDue: r.next_update_due,
    disconnect: r.disconnect as DisconnectState | null,
    disconnectReason: r.disconnect_reason,
    note: r.note,
  };
}

export function sessionState(s: Session): SessionState {
  const { id: _id, ...state } = s;
  return state;
}

export function rowToRecord(r: RecordRow): StoredRecord {
  return {
    id: r.id,
    sessionPk: r.session_pk,
    protocol: r.protocol as Protocol,
    kind: r.kind as RecordKind,
    receivedAt: r.received_at,
    eventTime: r.event_time,
    client: r.client,
    nas: r.nas,
    user: r.user,
    sessionId: r.session_id,
    inputOctets: r.input_octets,
    outputOctets: r.output_octets,
    inputPackets: r.input_packets,
    outputPackets: r.output_packets,
    sessionTime: r.session_time,
    terminateCause: r.terminate_cause,
    framedAddress: r.framed_address,
    clientAddress: r.client_address,
    nasPort: r.nas_port,
    command: r.command,
    attributes: typeof r.attributes === "string" ? (JSON.parse(r.attributes) as RecordAttribute[]) : r.attributes,
    dedupKey: r.dedup_key,
  };
}

export function rowToUser(r: UserRow): StoredUser {
  const password =
    r.password_cleartext !== null ? { cleartext: r.password_cleartext } : { scrypt: r.password_scrypt ?? "" };
  return {
    name: r.name,
    password,
    reply: typeof r.reply === "string" ? (JSON.parse(r.reply) as Record<string, string | number>) : r.reply,
    groups: typeof r.groups === "string" ? (JSON.parse(r.groups) as string[]) : r.groups,
  };
}

export function usageTotals(r: UsageRow | undefined) {
  return {
    sessions: r?.sessions ?? 0,
    inputOctets: r?.input_octets ?? 0,
    outputOctets: r?.output_octets ?? 0,
    sessionTime: r?.session_time ?? 0,
  };
}

