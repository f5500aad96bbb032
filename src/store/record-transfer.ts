// AccountingRecords as the main thread posts them to the store's worker thread, and the
// results it posts back. Structured
// clone writes every property name of every object: a record is 20 fields and a dozen
// attribute objects, and cloning them was a tenth of the main thread's time per accounting
// request. Packed as one flat array per record (attributes as name, value, tag triples) the
// clone carries values only. Both ends are here, so they cannot drift apart.

import type { AccountingRecord, RecordAttribute } from "../model/record.ts";
import type { AppendResult } from "./store.ts";

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

/**
 * An appendRecords answer as the worker posts it back: recordId, sessionPk (NaN for null) and
 * duplicate (0 or 1) per record in one Float64Array, whose buffer is transferred, not copied;
 * the sessions an Accounting-On/Off closed beside it, by index, only when there are any.
 */
export interface PackedResults {
  numbers: Float64Array<ArrayBuffer>;
  closed: Record<number, number[]> | null;
}

export function packResults(results: readonly AppendResult[]): PackedResults {
  const numbers = new Float64Array(results.length * 3);
  let closed: Record<number, number[]> | null = null;
  results.forEach((r, i) => {
    if (r.spooled) throw new Error("record-transfer: a spooled result does not cross threads");
    numbers[i * 3] = r.recordId;
    numbers[i * 3 + 1] = r.sessionPk ?? Number.NaN;
    numbers[i * 3 + 2] = r.duplicate ? 1 : 0;
    if (r.closedSessionPks !== undefined) (closed ??= {})[i] = r.closedSessionPks;
  });
  return { numbers, closed };
}

export function unpackResults(packed: PackedResults): AppendResult[] {
  const { numbers, closed } = packed;
  const out: AppendResult[] = new Array(numbers.length / 3);
  for (let i = 0; i < out.length; i++) {
    const pk = numbers[i * 3 + 1]!;
    const r: AppendResult = { recordId: numbers[i * 3]!, sessionPk: Number.isNaN(pk) ? null : pk, duplicate: numbers[i * 3 + 2] === 1 };
    const c = closed?.[i];
    if (c !== undefined) r.closedSessionPks = c;
    out[i] = r;
  }
  return out;
}
