// What an export row is: the same objects `tally records --json` and `tally sessions --json`
// print (times as ISO 8601 UTC), so one name means one thing in every output. CSV has one
// column per key, in this order; a record's attributes are one column of JSON text.

import type { RecordJson } from "../model/record.ts";
export { recordToJson } from "../model/record.ts";
import { sessionToJson, type Session } from "../model/session.ts";
import type { CsvValue } from "./csv.ts";

/** The keys of recordToJson (src/model/record.ts), in its order. */
export const RECORD_COLUMNS = [
  "id", "sessionPk", "protocol", "kind", "receivedAt", "eventTime", "client", "nas", "user", "sessionId",
  "inputOctets", "outputOctets", "inputPackets", "outputPackets", "sessionTime", "terminateCause",
  "framedAddress", "clientAddress", "nasPort", "command", "attributes", "dedupKey",
] as const satisfies readonly (keyof RecordJson)[];

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
