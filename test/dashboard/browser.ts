// Debian's chromium driven by playwright-core, as this machine runs it (no downloaded
// browser): the flags keep it off the network, and Playwright gives it a fresh profile.

import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const artifactsDir = resolve(import.meta.dirname, "../../test-artifacts/dashboard");

/** Why the browser tests cannot run here, or false when they can. */
export function skipReason(): string | false {
  return existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: install Debian's chromium (scripts/install-test-deps.sh does)`;
}

export async function launchChromium(): Promise<Browser> {
  // Playwright refuses --user-data-dir in args: launch() always starts from a new temporary profile.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
      "--no-first-run",
    ],
  });
}

export function screenshotPath(name: string): string {
  mkdirSync(artifactsDir, { recursive: true });
  return join(artifactsDir, name);
}
