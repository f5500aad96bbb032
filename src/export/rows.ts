// What an export row is: the same objects `tally records --json` and `tally sessions --json`
// print (times as ISO 8601 UTC), so one name means one thing in every output. CSV has one
// column per key, in this order; a record's attributes are one column of JSON text.

import type { StoredRecord } from "../model/record.ts";
import { sessionToJson, type Session } from "../model/session.ts";
import type { CsvValue } from "./csv.ts";

export const RECORD_COLUMNS = [
  "id", "sessionPk", "protocol", "kind", "receivedAt", "eventTime", "client", "nas", "user", "sessionId",
  "inputOctets", "outputOctets", "inputPackets", "outputPackets", "sessionTime", "terminateCause",
  "framedAddress", "clientAddress", "nasPort", "command", "attributes", "dedupKey",
] as const;

export function recordToJson(r: StoredRecord): Record<(typeof RECORD_COLUMNS)[number], unknown> {
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

/** The keys of sessionToJson, in its order (a test keeps the two the same). */
export const SESSION_COLUMNS = [
  "id", "protocol", "client", "nas", "user", "sessionId", "status", "startedAt", "updatedAt", "stoppedAt",
  "inputOctets", "outputOctets", "inputPackets", "outputPackets", "sessionTime", "terminateCause",
  "framedAddress", "clientAddress", "nasPort", "interimInterval", "nextUpdateDue", "disconnect",
  "disconnectReason", "note",
] as const;

export function sessionRow(s: Session): Record<string, unknown> {
  return sessionToJson(s);
}

/** A JSON row's values in column order, for CSV: objects (attributes) become JSON text. */
export function csvValues(row: Record<string, unknown>, columns: readonly string[]): CsvValue[] {
  return columns.map((c) => {
    const v = row[c];
    if (v === null || v === undefined) return null;
    if (typeof v === "string" || typeof v === "number") return v;
    return JSON.stringify(v);
  });
}
