// AccountingRecords as the main thread posts them to the store's worker thread. Structured
// clone writes every property name of every object: a record is 20 fields and a dozen
// attribute objects, and cloning them was a tenth of the main thread's time per accounting
// request. Packed as one flat array per record (attributes as name, value, tag triples) the
// clone carries values only. Both ends are here, so they cannot drift apart.

import type { AccountingRecord, RecordAttribute } from "../model/record.ts";

/** The fields of a record in the order they are packed; attributes and interimInterval follow. */
const FIELDS = [
  "protocol", "kind", "receivedAt", "eventTime", "client", "nas", "user", "sessionId",
  "inputOctets", "outputOctets", "inputPackets", "outputPackets", "sessionTime",
  "terminateCause", "framedAddress", "clientAddress", "nasPort", "command", "dedupKey",
] as const satisfies readonly (keyof AccountingRecord)[];

export type PackedRecord = unknown[];

export function packRecords(records: readonly AccountingRecord[]): PackedRecord[] {
  return records.map((r) => {
    const out: unknown[] = new Array(FIELDS.length + 2);
    for (let i = 0; i < FIELDS.length; i++) out[i] = r[FIELDS[i]!];
    const flat: unknown[] = new Array(r.attributes.length * 3);
    let j = 0;
    for (const a of r.attributes) {
      flat[j++] = a.name;
      flat[j++] = a.value;
      flat[j++] = a.tag;
    }
    out[FIELDS.length] = flat;
    out[FIELDS.length + 1] = r.interimInterval;
    return out;
  });
}

export function unpackRecords(packed: readonly PackedRecord[]): AccountingRecord[] {
  return packed.map((p) => {
    const r: Record<string, unknown> = {};
    for (let i = 0; i < FIELDS.length; i++) r[FIELDS[i]!] = p[i];
    const flat = p[FIELDS.length] as unknown[];
    const attributes: RecordAttribute[] = new Array(flat.length / 3);
    for (let j = 0, k = 0; j < flat.length; j += 3, k++) {
      const tag = flat[j + 2] as number | undefined;
      attributes[k] = tag === undefined ? { name: flat[j] as string, value: flat[j + 1] as string | number } : { name: flat[j] as string, value: flat[j + 1] as string | number, tag };
    }
    r.attributes = attributes;
    const interval = p[FIELDS.length + 1];
    if (interval !== undefined) r.interimInterval = interval;
    return r as unknown as AccountingRecord;
  });
}
