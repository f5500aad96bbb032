// `tally export`'s work: records or sessions of a time range, page by page through the store's
// keyset methods (id > last id, a bounded page each time), written as CSV or JSON Lines to a
// stream, waiting for the stream to drain, so memory stays bounded whatever the store holds.

import type { Writable } from "node:stream";
import type { Store, TimeRange } from "../store/store.ts";
import { csvLine } from "./csv.ts";
import { csvValues, RECORD_COLUMNS, recordToJson, SESSION_COLUMNS, sessionRow } from "./rows.ts";

export type ExportWhat = "records" | "sessions";
export type ExportFormat = "csv" | "jsonl";

export interface ExportOptions {
  store: Store;
  what: ExportWhat;
  format: ExportFormat;
  range: TimeRange;
  out: Writable;
  /** Rows per store call. */
  pageSize?: number;
  /** After each page: rows so far, the id of the last one and of the very first. */
  onPage?(rows: number, lastId: number, firstId: number): void;
}

const PAGE_SIZE = 1000;

/** Writes and waits for the stream to drain; rejects when it fails or closes instead. */
async function write(out: Writable, text: string): Promise<void> {
  if (out.errored) throw out.errored;
  if (out.write(text)) return;
  await new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      out.off("drain", onDrain);
      out.off("error", onError);
      out.off("close", onClose);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const onClose = () => {
      cleanup();
      reject(out.errored ?? new Error("the output was closed"));
    };
    out.on("drain", onDrain);
    out.on("error", onError);
    out.on("close", onClose);
  });
}

/** Writes every row of the range; resolves with the number of rows. */
export async function exportRows(o: ExportOptions): Promise<number> {
  const pageSize = o.pageSize ?? PAGE_SIZE;
  const columns: readonly string[] = o.what === "records" ? RECORD_COLUMNS : SESSION_COLUMNS;
  if (o.format === "csv") await write(o.out, csvLine([...columns]));
  let afterId = 0;
  let rows = 0;
  let firstId = 0;
  for (;;) {
    const page =
      o.what === "records"
        ? (await o.store.exportRecords(o.range, afterId, pageSize)).map((r) => ({ id: r.id, row: recordToJson(r) }))
        : (await o.store.exportSessions(o.range, afterId, pageSize)).map((s) => ({ id: s.id, row: sessionRow(s) }));
    if (page.length === 0) break;
    let text = "";
    for (const p of page) text += o.format === "csv" ? csvLine(csvValues(p.row, columns)) : `${JSON.stringify(p.row)}\n`;
    await write(o.out, text);
    rows += page.length;
    if (firstId === 0) firstId = page[0]!.id;
    afterId = page[page.length - 1]!.id;
    o.onPage?.(rows, afterId, firstId);
    if (page.length < pageSize) break;
  }
  return rows;
}

/**
 * The highest id in the store (0 when empty), found with the keyset method alone (a first row
 * after X exists or not: ~2 log2(n) one-row index probes), so a progress bar has an end
 * without a count method in the Store.
 */
export async function highestId(store: Store, what: ExportWhat): Promise<number> {
  const after = async (id: number): Promise<number | undefined> =>
    (what === "records" ? await store.exportRecords({}, id, 1) : await store.exportSessions({}, id, 1))[0]?.id;
  const first = await after(0);
  if (first === undefined) return 0;
  // Invariant: some id > lo exists (at least `found`), none > hi.
  let lo = first - 1;
  let found = first;
  let hi = Math.max(1, first);
  for (;;) {
    const next = await after(hi);
    if (next === undefined) break;
    lo = hi;
    found = next;
    hi = next * 2;
  }
  lo = Math.max(lo, found - 1);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const next = await after(mid);
    if (next === undefined) hi = mid;
    else {
      lo = Math.max(mid, next - 1);
      found = next;
    }
  }
  return hi;
}
