// The dashboard served by a real `tally serve` (its http section), in Debian's chromium:
// sessions started by Debian's radclient appear in the live table without a reload, a
// Disconnect reaches a pyrad dynamic-authorization peer and its outcome is shown, and the
// user page's totals match what the API reports. Screenshots go to test-artifacts/dashboard/.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test, type TestContext } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { formatBytes, usageTotals } from "../../dashboard/src/format.ts";
import type { Usage } from "../../dashboard/src/types.ts";
import { ensureDashboardBuilt } from "../../scripts/build-dashboard.ts";
import { tokenHash } from "../../src/http/server.ts";
import { DasPeer } from "../interop/das-peer.ts";
import { BASE_CONFIG, radclient, SECRET, startTally, type TallyProcess } from "../interop/harness.ts";
import { launchChromium, screenshotPath, skipReason } from "./browser.ts";

const TOKEN = "dashboard-real-token";

function hasRadclient(): boolean {
  try {
    execFileSync("sh", ["-c", "command -v radclient"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const skip = skipReason() || (hasRadclient() ? false : "radclient is missing: install freeradius-utils (scripts/install-test-deps.sh does)");
if (skip) process.stdout.write(`# dashboard tests against tally serve skipped: ${skip}\n`);

async function shot(t: TestContext, page: Page, name: string): Promise<void> {
  const path = screenshotPath(name);
  await page.screenshot({ path, fullPage: true });
  t.diagnostic(`screenshot: ${path}`);
}

describe("dashboard in chromium against tally serve", { skip }, () => {
  let tally: TallyProcess;
  let das: DasPeer;
  let browser: Browser;
  let context: BrowserContext;
  let base: string;

  const acct = async (sessionId: string, user: string, status: string, extra: Record<string, number> = {}) => {
    const fields = { "User-Name": `"${user}"`, "NAS-IP-Address": "127.0.0.1", "NAS-Identifier": '"dash-nas"', "Acct-Session-Id": `"${sessionId}"`, "Acct-Status-Type": status, ...extra };
    const r = await radclient(`127.0.0.1:${tally.acctPort}`, "acct", Object.entries(fields).map(([k, v]) => `${k} = ${v}`).join("\n"));
    assert.match(r.stdout, /Received Accounting-Response/, r.stderr);
  };

  before(async () => {
    await ensureDashboardBuilt();
    das = await DasPeer.start(["dash-kick"], []);
    tally = await startTally({
      ...BASE_CONFIG,
      clients: [{ name: "lab", address: "127.0.0.0/8", secret: SECRET, coa: { address: "127.0.0.1", port: das.port, timeout: 0.3, retries: 1 } }],
      plugins: [{ module: "quota", options: { bytes: 10_000_000, period: "month" } }],
      http: { listen: "127.0.0.1:0", tokens: [{ name: "dashboard-test", sha256: tokenHash(TOKEN) }] },
    });
    base = `http://127.0.0.1:${tally.httpPort}`;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  });
  after(async () => {
    await browser?.close();
    das?.stop();
    await tally?.cleanup();
  });

  test("log in with a token; radclient Starts appear live; Disconnect reaches the NAS and shows acknowledged", async (t) => {
    const page = await context.newPage();
    await page.goto(base);
    await page.fill('input[name="token"]', "not-the-token");
    await page.click('button[type="submit"]');
    await page.getByRole("alert").waitFor();
    assert.match(await page.getByRole("alert").innerText(), /refused/);
    await page.fill('input[name="token"]', TOKEN);
    await page.click('button[type="submit"]');
    await page.locator("h1", { hasText: "Sessions" }).waitFor();
    await page.locator('[data-testid="live-state"]', { hasText: "live" }).waitFor();
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 7));

    await acct("dash-kick", "alice", "Start");
    const row = page.locator("table.sessions tbody tr", { hasText: "alice" });
    await row.waitFor({ timeout: 5000 });
    await acct("dash-kick", "alice", "Interim-Update", { "Acct-Input-Octets": 2_500_000, "Acct-Output-Octets": 750_000, "Acct-Session-Time": 90 });
    await row.locator("td", { hasText: "2.50 MB" }).waitFor({ timeout: 5000 });
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 7, "the page was not reloaded");
    await shot(t, page, "real-sessions-live.png");

    await row.getByRole("button", { name: "Disconnect" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Disconnect" }).click();
    const outcome = page.locator('[data-testid="disconnect-outcome"]');
    await outcome.waitFor({ timeout: 10_000 });
    assert.match(await outcome.innerText(), /Disconnect alice on dash-nas: acknowledged/);
    const seen = await das.waitFor((q) => q.sessionId === "dash-kick");
    assert.equal(seen.code, 40, "the NAS got a Disconnect-Request");
    await row.locator(".disconnect-acknowledged").waitFor();
    await shot(t, page, "real-disconnect.png");
    await page.close();
  });

  test("user page: totals equal the API's usage, uPlot canvases drawn", async (t) => {
    const page = await context.newPage();
    await page.goto(`${base}/#/users/alice`);
    const totals = page.locator('[data-testid="usage-totals"]');
    await totals.waitFor();
    const since = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 - 29 * 86_400_000).toISOString();
    const res = await fetch(`${base}/api/users/alice/usage?since=${encodeURIComponent(since)}&by=day`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const usage = (await res.json()) as Usage;
    assert.equal(usage.inputOctets, 2_500_000, JSON.stringify(usage));
    assert.equal(await totals.innerText(), `Last 30 days: ${usageTotals(usage)}`);
    // The quota plugin's state: 2.5 MB in plus what went out, of 10 MB this month.
    const quota = page.locator('[data-testid="quota"]');
    await quota.waitFor();
    const used = usage.inputOctets + usage.outputOctets;
    assert.equal(await quota.innerText(), `Quota: ${formatBytes(used)} of ${formatBytes(10_000_000)} used, ${formatBytes(10_000_000 - used)} left (month)`);
    const canvas = page.locator(".uplot canvas").first();
    await canvas.waitFor();
    const box = await canvas.boundingBox();
    assert.ok(box !== null && box.width > 100 && box.height > 100, `the chart has a size: ${JSON.stringify(box)}`);
    await shot(t, page, "real-user.png");

    // From the user's open session to its records, in stored order.
    await page.locator("table.sessions tbody tr").first().getByRole("link", { name: "records" }).click();
    await page.locator("h1", { hasText: "Session" }).waitFor();
    const kinds = await page.locator('td[data-label="Kind"]').allInnerTexts();
    assert.deepEqual(kinds, ["start", "interim"]);
    await shot(t, page, "real-session-records.png");
    await page.close();
  });
});
