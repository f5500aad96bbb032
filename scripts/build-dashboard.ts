// Builds the dashboard (dashboard/ -> dist/dashboard/): one JS bundle (Preact, uPlot and our
// code), one CSS file and index.html; nothing is fetched from elsewhere at run time.
// `npm run build:dashboard`; the browser tests call buildDashboard() themselves.

import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
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

/** The newest modification time (ms) of the dashboard's sources and this script. */
function newestSource(): number {
  const walk = (dir: string): number[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [statSync(join(dir, e.name)).mtimeMs]));
  return Math.max(...walk(join(repoRoot, "dashboard")), statSync(import.meta.filename).mtimeMs);
}

/**
 * Builds dist/dashboard/ unless it is newer than every source (index.html is written last).
 * Tests that serve dist/dashboard/ itself use this: `npm test` has built it already (pretest),
 * and rebuilding under another test file running at the same time could serve it half written.
 */
export async function ensureDashboardBuilt(): Promise<void> {
  const index = join(dashboardDist, "index.html");
  if (existsSync(index) && statSync(index).mtimeMs >= newestSource()) return;
  await buildDashboard();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await buildDashboard();
  process.stdout.write(`dashboard built into ${dashboardDist}\n`);
}
