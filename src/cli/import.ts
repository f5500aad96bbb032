// `tally import detail FILE...`: FreeRADIUS detail files into the store, each entry as the
// record the live RADIUS path would have made of it (src/import/). Resumable through a state
// file; SIGINT or SIGTERM stops after committing what was read, and a rerun continues there.

import type { Command } from "commander";
import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { importDetailFiles, type ImportReport, type Rejection } from "../import/import-detail.ts";
import { ImportState } from "../import/state.ts";
import { ClientTable } from "../radius/clients.ts";
import { loadDictionary } from "../server/app.ts";
import { action, formatBytes, parsePositiveInt, printJson, UsageError, withStore, type GlobalOptions } from "./common.ts";
import { bar, ProgressLine, rate } from "./progress.ts";

/** Rejections listed in --json (all of them go to stderr). */
const JSON_REJECTIONS = 100;

interface DetailOptions {
  state?: string;
  batch: string;
  limit?: string;
  client?: string;
  json?: boolean;
}

function checkFiles(files: string[]): void {
  for (const f of files) {
    let ok = false;
    try {
      ok = statSync(f).isFile();
    } catch {
      throw new UsageError(`${f}: no such file`);
    }
    if (!ok) throw new UsageError(`${f}: not a regular file`);
  }
}

function printReport(report: ImportReport, statePath: string): void {
  for (const f of report.files) {
    const from = f.start === "resume" ? `from line ${f.startLine}` : f.start === "new" ? "from the start" : `from the start (the file ${f.start === "changed" ? "changed" : "was truncated"} since the last import)`;
    process.stdout.write(`${f.file}: ${f.entries} entries ${from}: ${f.imported} imported, ${f.duplicates} duplicates, ${f.rejected} rejected\n`);
    if (f.incompleteAtLine !== null) {
      process.stdout.write(`${f.file}:${f.incompleteAtLine}: the last entry is incomplete (still being written?); the next run reads it again\n`);
    }
  }
  process.stdout.write(`total: ${report.imported} imported, ${report.duplicates} duplicates, ${report.rejected} rejected\n`);
  if (report.interrupted) process.stdout.write(`interrupted: what was read is committed and recorded in ${statePath}; run again to continue\n`);
  else if (report.limited) process.stdout.write(`stopped after --limit entries; recorded in ${statePath}; run again to continue\n`);
}

export function register(program: Command): void {
  const importCommand = program.command("import").description("import accounting records from other systems");
  importCommand
    .command("detail")
    .description("import FreeRADIUS detail files (resumable)")
    .argument("<files...>", "detail files, e.g. /var/log/freeradius/radacct/*/detail-*")
    .option("--state <path>", "where each file's position is kept (default: tally-import-state.json beside the config)")
    .option("--batch <n>", "entries per transaction", "500")
    .option("--limit <n>", "read at most this many entries in this run; the next run continues after them")
    .option("--client <name>", "client name for entries whose address no configured client covers")
    .option("--json", "print a JSON summary")
    .action(
      action(async (files: string[], o: DetailOptions) => {
        const batchSize = parsePositiveInt("--batch", o.batch);
        if (batchSize < 1) throw new UsageError(`--batch: expected at least 1, got "${o.batch}"`);
        const limit = o.limit === undefined ? undefined : parsePositiveInt("--limit", o.limit);
        if (limit === 0) throw new UsageError(`--limit: expected at least 1, got "${o.limit}"`);
        checkFiles(files);
        await withStore(program.opts<GlobalOptions>(), async (store, config) => {
          const statePath = resolve(o.state ?? join(dirname(config.file), "tally-import-state.json"));
          let state: ImportState;
          try {
            state = await ImportState.load(statePath);
          } catch (e) {
            throw new UsageError(`--state: ${(e as Error).message}`);
          }
          const context = { dictionary: loadDictionary(config), clients: new ClientTable(config.clients), fallbackClient: o.client };

          const started = Date.now();
          let latest = { bytesDone: 0, bytesTotal: 0, entries: 0, imported: 0, duplicates: 0, rejected: 0 };
          const progress = new ProgressLine(() => {
            const p = latest;
            const share = p.bytesTotal === 0 ? 1 : p.bytesDone / p.bytesTotal;
            return `${bar(share)} ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}, ${p.entries} entries (${rate(p.entries, started)}/s), ${p.duplicates} duplicates, ${p.rejected} rejected`;
          });
          const rejections: Rejection[] = [];

          let stopping = false;
          const onSignal = (signal: NodeJS.Signals) => {
            if (stopping) process.exit(130); // a second signal: quit now (the open transaction rolls back)
            stopping = true;
            progress.message(`tally: ${signal}: stopping after committing what was read (again to quit at once)`);
          };
          process.on("SIGINT", onSignal);
          process.on("SIGTERM", onSignal);
          let report: ImportReport;
          try {
            report = await importDetailFiles({
              files,
              store,
              state,
              context,
              // As the live path has it (accounting/core.ts): 0 means no expected interval.
              defaultInterimInterval: config.accounting.defaultInterimInterval > 0 ? config.accounting.defaultInterimInterval : null,
              batchSize,
              limit,
              shouldStop: () => stopping,
              onRejected: (r) => {
                if (rejections.length < JSON_REJECTIONS) rejections.push(r);
                progress.message(`${r.file}:${r.line}: rejected: ${r.reason}`);
              },
              onProgress: (p) => {
                latest = p;
                progress.update();
              },
            });
          } finally {
            process.off("SIGINT", onSignal);
            process.off("SIGTERM", onSignal);
            progress.clear();
          }

          if (o.json) {
            printJson({
              state: statePath,
              interrupted: report.interrupted,
              limited: report.limited,
              entries: report.entries,
              imported: report.imported,
              duplicates: report.duplicates,
              rejected: report.rejected,
              files: report.files,
              rejections,
              rejectionsNotListed: report.rejected - rejections.length,
            });
          } else printReport(report, statePath);
          if (report.interrupted) process.exitCode = 130;
          else if (report.rejected > 0) process.exitCode = 1;
        });
      }),
    );
}
