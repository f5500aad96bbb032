// Builds the dashboard (dashboard/ -> dist/dashboard/): one JS bundle (Preact, uPlot and our
// code), one CSS file and index.html; nothing is fetched from elsewhere at run time.
// `npm run build:dashboard`; the browser tests call buildDashboard() themselves.

import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

export const repoRoot = resolve(import.meta.dirname, "..");
export const dashboardDist = join(repoRoot, "dist/dashboard");

export async function buildDashboard(out = dashboardDist): Promise<void> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: { app: join(repoRoot, "dashboard/src/main.tsx") },
    outdir: out,
    bundle: true,
    format: "esm",
    target: ["es2022"],
    minify: true,
    sourcemap: true,
    jsx: "automatic",
    jsxImportSource: "preact",
    logLevel: "warning",
    legalComments: "linked",
  });
  copyFileSync(join(repoRoot, "dashboard/index.html"), join(out, "index.html"));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await buildDashboard();
  process.stdout.write(`dashboard built into ${dashboardDist}\n`);
}
