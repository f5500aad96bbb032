// `tally import detail`'s work, without the command line: reads each detail file from where
// the last run stopped, turns entries into records (detail-entry.ts), stores them in batches
// through Store.appendRecords, and records each file's position once its batch is durable.
// The store's dedupKey makes a repeated entry a duplicate, never a second count, so a position
// that is behind (a run killed between commit and state write) costs time, not correctness.

import { resolve } from "node:path";
import type { AccountingRecord } from "../model/record.ts";
import type { Store } from "../store/store.ts";
import { recordFromDetailEntry, type EntryContext } from "./detail-entry.ts";
import { readDetailEntries, type Position } from "./detail-reader.ts";
import { fileIdentity, resumePoint, type ImportState, type Resume } from "./state.ts";

export interface Rejection {
  file: string;
  line: number;
  reason: string;
}

export interface FileReport {
  file: string;
  /** Line the run started at (1 = the beginning), and why there. */
  startLine: number;
  start: Resume["why"];
  /** Line the next run will start at. */
  nextLine: number;
  entries: number;
  imported: number;
  duplicates: number;
  rejected: number;
  /** The file ends inside an entry (still being written?): that entry waits for the next run. */
  incompleteAtLine: number | null;
}

export interface ImportReport {
  files: FileReport[];
  entries: number;
  imported: number;
  duplicates: number;
  rejected: number;
  /** Stopped early by a signal (every committed batch and its position are kept). */
  interrupted: boolean;
  /** Stopped early because --limit entries were read. */
  limited: boolean;
}

export interface Progress {
  bytesDone: number;
  bytesTotal: number;
  entries: number;
  imported: number;
  duplicates: number;
  rejected: number;
}

export interface ImportOptions {
  files: readonly string[];
  store: Store;
  state: ImportState;
  context: EntryContext;
  defaultInterimInterval: number | null;
  /** Entries per transaction. */
  batchSize: number;
  /** Read at most this many entries in this run. */
  limit?: number;
  /** Polled between entries; true stops after committing what was read. */
  shouldStop(): boolean;
  onRejected?(r: Rejection): void;
  onProgress?(p: Progress): void;
}

export async function importDetailFiles(o: ImportOptions): Promise<ImportReport> {
  const report: ImportReport = { files: [], entries: 0, imported: 0, duplicates: 0, rejected: 0, interrupted: false, limited: false };
  const paths = o.files.map((f) => resolve(f));
  const identities = await Promise.all(paths.map((p) => fileIdentity(p)));
  const bytesTotal = identities.reduce((n, id) => n + id.size, 0);
  let bytesBefore = 0;

  for (let i = 0; i < paths.length; i++) {
    const file = paths[i]!;
    const id = identities[i]!;
    if (report.interrupted || report.limited) break;
    const resume = resumePoint(o.state.get(file), id);
    const fr: FileReport = {
      file,
      startLine: resume.from.line,
      start: resume.why,
      nextLine: resume.from.line,
      entries: 0,
      imported: 0,
      duplicates: 0,
      rejected: 0,
      incompleteAtLine: null,
    };
    report.files.push(fr);

    let batch: AccountingRecord[] = [];
    let position: Position = resume.from;
    let saved: Position = resume.from;
    // A file seen for the first time, or changed since, gets its new identity saved even at 0.
    let savedOnce = resume.why === "resume";
    const progress = () =>
      o.onProgress?.({ bytesDone: bytesBefore + position.offset, bytesTotal, entries: report.entries, imported: report.imported, duplicates: report.duplicates, rejected: report.rejected });
    const commit = async () => {
      if (batch.length > 0) {
        const results = await o.store.appendRecords(batch, o.defaultInterimInterval);
        const dups = results.filter((r) => r.duplicate).length;
        fr.duplicates += dups;
        fr.imported += results.length - dups;
        report.duplicates += dups;
        report.imported += results.length - dups;
        batch = [];
      }
      if (position.offset !== saved.offset || !savedOnce) {
        await o.state.save(file, id, position);
        saved = position;
        savedOnce = true;
      }
      fr.nextLine = position.line;
      progress();
    };

    let inBatch = 0;
    for await (const item of readDetailEntries(file, resume.from)) {
      if (item.kind === "end") {
        position = item.end;
        break;
      }
      if (item.kind === "incomplete") {
        fr.incompleteAtLine = item.line;
        position = item.start;
        break;
      }
      report.entries++;
      fr.entries++;
      inBatch++;
      const result = recordFromDetailEntry(item, o.context);
      if (result.ok) batch.push(result.record);
      else {
        fr.rejected++;
        report.rejected++;
        o.onRejected?.({ file, line: result.line, reason: result.reason });
      }
      position = item.end;
      if (o.limit !== undefined && report.entries >= o.limit) report.limited = true;
      if (o.shouldStop()) report.interrupted = true;
      if (inBatch >= o.batchSize || report.limited || report.interrupted) {
        await commit();
        inBatch = 0;
        if (report.limited || report.interrupted) break;
      } else if (fr.entries % 64 === 0) progress();
    }
    await commit();
    bytesBefore += id.size;
  }
  return report;
}
