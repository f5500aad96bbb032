// AccountingRecords as the main thread posts them to the store's worker thread, and the
// results it posts back. Structured clone writes every property name of every object: a record
// is 20 fields and a dozen attribute objects, and cloning them was a tenth of the main thread's
// time per accounting request. Packed as one flat array per record the clone carries values
// only, and the attributes travel as the JSON text the store keeps them as: one string to
// clone instead of three values per attribute, made once on the main thread instead of
// flattened there and rebuilt and stringified on the worker (about 10 µs less per record in
// all, 15 against 5). Both ends are here, so they cannot drift apart.

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
    out[FIELDS.length] = attributesJson(r);
    out[FIELDS.length + 1] = r.interimInterval;
    return out;
  });
}

// The fields FIELDS lists, filled in by the constructor (declaration merging: the class has
// them without declaring each again).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
interface UnpackedRecord extends Omit<AccountingRecord, "attributes"> {}

/**
 * A record as the worker unpacks it: every field as sent, its attributes kept as the JSON text
 * they came as, parsed only if something asks for them (the store only writes the text).
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
class UnpackedRecord {
  readonly #json: string;
  #attributes: readonly RecordAttribute[] | undefined;
  constructor(p: PackedRecord) {
    const self = this as unknown as Record<string, unknown>;
    for (let i = 0; i < FIELDS.length; i++) self[FIELDS[i]!] = p[i];
    this.#json = p[FIELDS.length] as string;
    const interval = p[FIELDS.length + 1];
    if (interval !== undefined) self.interimInterval = interval;
  }
  get attributes(): readonly RecordAttribute[] {
    return (this.#attributes ??= JSON.parse(this.#json) as RecordAttribute[]);
  }
  get attributesJson(): string {
    return this.#json;
  }
}

export function unpackRecords(packed: readonly PackedRecord[]): AccountingRecord[] {
  return packed.map((p) => new UnpackedRecord(p) as AccountingRecord);
}

/** A record's attributes as the JSON text the store keeps: as it came if it was unpacked here. */
export function attributesJson(r: AccountingRecord): string {
  return r instanceof UnpackedRecord ? r.attributesJson : JSON.stringify(r.attributes ?? []);
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
