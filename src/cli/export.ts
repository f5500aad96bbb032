// `tally export records|sessions`: the store's records or sessions of a time range as CSV or
// JSON Lines, streamed page by page (src/export/), to stdout or to a file that appears only
// once it is complete.

import type { Command } from "commander";
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { exportRows, highestId, type ExportFormat, type ExportWhat } from "../export/export.ts";
import type { TimeRange } from "../store/store.ts";
import { action, parseDate, UsageError, withStore, type GlobalOptions } from "./common.ts";
import { bar, ProgressLine, rate } from "./progress.ts";

interface ExportCliOptions {
  format: string;
  since?: string;
  until?: string;
  output?: string;
}

const WHATS: ExportWhat[] = ["records", "sessions"];
const FORMATS: ExportFormat[] = ["csv", "jsonl"];

export function register(program: Command): void {
  program
    .command("export")
    .description("export records or sessions as CSV or JSON Lines (streamed)")
    .argument("<what>", "records or sessions")
    .option("--format <format>", "csv (RFC 4180, with a header line) or jsonl (one JSON object per line)", "csv")
    .option("--since <date>", "from this time (records: received at or after; sessions: active at or after)")
    .option("--until <date>", "before this time (records: received before; sessions: started before)")
    .option("--output <file>", "write to this file instead of stdout (it appears when complete)")
    .action(
      action(async (what: string, o: ExportCliOptions) => {
        if (!WHATS.includes(what as ExportWhat)) throw new UsageError(`export: expected records or sessions, got "${what}"`);
        if (!FORMATS.includes(o.format as ExportFormat)) throw new UsageError(`--format: expected csv or jsonl, got "${o.format}"`);
        const range: TimeRange = {};
        if (o.since !== undefined) range.since = parseDate("--since", o.since);
        if (o.until !== undefined) range.until = parseDate("--until", o.until);
        if (range.since !== undefined && range.until !== undefined && range.until <= range.since) {
          throw new UsageError(`--until: must be after --since (got ${o.since} .. ${o.until})`);
        }

        await withStore(program.opts<GlobalOptions>(), async (store) => {
          const file = o.output === undefined ? null : resolve(o.output);
          const tmp = file === null ? null : join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
          const out: Writable = tmp === null ? process.stdout : createWriteStream(tmp, { flags: "wx" });
          // Errors are taken from the writes (export.ts); this only keeps them from being uncaught.
          const ignore = () => {};
          out.on("error", ignore);

          const started = Date.now();
          const showProgress = process.stderr.isTTY === true && (file !== null || process.stdout.isTTY !== true);
          // How far through the ids the export is: the store has no count, but its highest id is cheap.
          const lastId = showProgress ? await highestId(store, what as ExportWhat) : 0;
          let rows = 0;
          let firstId: number | undefined;
          let atId = 0;
          const progress = new ProgressLine(() => {
            const from = (firstId ?? 1) - 1;
            const share = lastId > from ? (atId - from) / (lastId - from) : 1;
            return `${bar(share)} ${rows} ${what} (${rate(rows, started)}/s)`;
          }, showProgress);

          try {
            rows = await exportRows({
              store,
              what: what as ExportWhat,
              format: o.format as ExportFormat,
              range,
              out,
              onPage: (n, id, first) => {
                firstId = first;
                rows = n;
                atId = id;
                progress.update();
              },
            });
            if (tmp !== null && file !== null) {
              out.end();
              await finished(out);
              await rename(tmp, file);
            }
          } catch (e) {
            if (tmp !== null) {
              out.destroy();
              await rm(tmp, { force: true });
            }
            // The reader went away (`| head`): stop quietly, as command-line tools do.
            if ((e as NodeJS.ErrnoException).code === "EPIPE") return;
            throw e;
          } finally {
            progress.clear();
          }
          if (file !== null) process.stdout.write(`${rows} ${what} written to ${file}\n`);
        });
      }),
    );
}
