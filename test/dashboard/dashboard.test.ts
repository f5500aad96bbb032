// The dashboard in a real browser (Debian's chromium) against test/dashboard/fake-api.ts, the
// HTTP API's contract over in-memory data. Screenshots go to test-artifacts/dashboard/.

import assert from "node:assert/strict";
import { after, before, describe, test, type TestContext } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildDashboard } from "../../scripts/build-dashboard.ts";
import { usageTotals } from "../../dashboard/src/format.ts";
import type { UsageBucket } from "../../dashboard/src/types.ts";
import { launchChromium, screenshotPath, skipReason } from "./browser.ts";
import { makeSession, startFakeApi, type FakeApi, type FakeData } from "./fake-api.ts";

const TOKEN = "s3cret-token";
const skip = skipReason();
if (skip) process.stdout.write(`# dashboard browser tests skipped: ${skip}\n`);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function seed(): FakeData {
  const now = Date.now();
  const day = (i: number) => new Date(Math.floor(now / DAY) * DAY - i * DAY).toISOString().slice(0, 10);
  const hour = (i: number) => new Date(Math.floor(now / HOUR) * HOUR - i * HOUR).toISOString().slice(0, 13);
  const dayBuckets: UsageBucket[] = [3, 2, 1, 0].map((i) => ({
    period: day(i),
    inputOctets: 1_000_000 * (i + 1),
    outputOctets: 250_000 * (i + 2),
    sessionTime: 600 * (i + 1),
    sessions: i + 1,
  }));
  const hourBuckets: UsageBucket[] = [5, 4, 3, 2, 1, 0].map((i) => ({
    period: hour(i),
    inputOctets: 100_000 * (i + 1),
    outputOctets: 50_000 * (i + 1),
    sessionTime: 60 * i,
    sessions: 1,
  }));
  const t = (ms: number) => new Date(now - ms).toISOString();
  return {
    sessions: [
      makeSession({ id: 1, user: "alice", nas: "nas1", sessionId: "a-1", startedAt: t(3 * HOUR), updatedAt: t(60_000), inputOctets: 123_456_789, outputOctets: 9_876_543, sessionTime: 10_800, framedAddress: "10.0.0.5" }),
      makeSession({ id: 2, user: "bob", nas: "vpn1", protocol: "openvpn", sessionId: "b-1", startedAt: t(HOUR), updatedAt: t(120_000), inputOctets: 5_000, outputOctets: 7_000, sessionTime: 3600, clientAddress: "198.51.100.7" }),
      makeSession({ id: 3, user: "carol", nas: "nas1", sessionId: "c-1", status: "closed", startedAt: t(DAY), updatedAt: t(DAY - HOUR), stoppedAt: t(DAY - HOUR), terminateCause: "User-Request" }),
    ],
    records: [],
    commands: [
      {
        id: 10, sessionPk: null, protocol: "tacacs", kind: "stop", receivedAt: t(5000), eventTime: t(5000), client: "lab", nas: "switch1", user: "bob", sessionId: "7",
        inputOctets: null, outputOctets: null, inputPackets: null, outputPackets: null, sessionTime: null, terminateCause: null, framedAddress: null,
        clientAddress: "192.0.2.9", nasPort: "tty1", command: "show running-config", attributes: [{ name: "priv-lvl", value: "15" }], dedupKey: "d10",
      },
    ],
    nas: [
      { nas: "nas1", protocol: "radius", openSessions: 1, sessions: 2, lastSeen: t(60_000) },
      { nas: "vpn1", protocol: "openvpn", openSessions: 1, sessions: 1, lastSeen: t(120_000) },
    ],
    overview: { requestsPerSecond: { radius: 12.5, tacacs: 1, openvpn: 0.5 }, openSessions: 2, drops: 0, pluginErrors: 0, spoolDepth: 0 },
    usage: { alice: { day: dayBuckets, hour: hourBuckets } },
    disconnectOutcome: { outcome: "acknowledged", detail: "Disconnect-ACK from 127.0.0.1:3799" },
  };
}

async function shot(t: TestContext, page: Page, name: string): Promise<void> {
  const path = screenshotPath(name);
  await page.screenshot({ path, fullPage: true });
  t.diagnostic(`screenshot: ${path}`);
}

describe("dashboard in chromium (fake API)", { skip }, () => {
  let api: FakeApi;
  let browser: Browser;
  let context: BrowserContext;
  // A private build of the current sources: dist/dashboard/ may be in use by another test file.
  const distDir = mkdtempSync(join(tmpdir(), "tally-dashboard-"));

  before(async () => {
    await buildDashboard(distDir);
    api = await startFakeApi({ token: TOKEN, distDir, data: seed(), overviewMs: 300 });
    browser = await launchChromium();
    // Logged in: the token is where the login page keeps it.
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    await context.addInitScript((tok) => localStorage.setItem("tally.token", tok), TOKEN);
  });
  after(async () => {
    await browser?.close();
    await api?.close();
    rmSync(distDir, { recursive: true, force: true });
  });

  test("login: a wrong token shows an error, the right one opens the sessions page; logout returns to login", async (t) => {
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      await page.goto(api.url);
      await page.fill('input[name="token"]', "wrong");
      await page.click('button[type="submit"]');
      await page.getByRole("alert").waitFor();
      assert.match(await page.getByRole("alert").innerText(), /refused/);
      assert.equal(await page.evaluate(() => localStorage.getItem("tally.token")), null, "a refused token is not kept");
      await shot(t, page, "login-error.png");

      await page.fill('input[name="token"]', TOKEN);
      await page.click('button[type="submit"]');
      await page.locator("h1", { hasText: "Sessions" }).waitFor();
      assert.equal(await page.evaluate(() => localStorage.getItem("tally.token")), TOKEN, "the token is kept in localStorage");
      await page.locator('tr[data-session-id="1"]').waitFor();

      await page.getByRole("button", { name: "Log out" }).click();
      await page.locator('input[name="token"]').waitFor();
      assert.equal(await page.evaluate(() => localStorage.getItem("tally.token")), null, "logout forgets the token");
    } finally {
      await ctx.close();
    }
  });

  test("live sessions: a session the API announces appears without a reload; filters and search narrow the table", async (t) => {
    const page = await context.newPage();
    await page.goto(`${api.url}/#/sessions`);
    await page.locator('tr[data-session-id="2"]').waitFor();
    assert.equal(await page.locator("tbody tr").count(), 2, "open sessions only, by default");
    await page.locator('[data-testid="live-state"]', { hasText: "live" }).waitFor();
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));

    api.emitSession(makeSession({ id: 4, user: "dave", nas: "nas2", sessionId: "d-1", framedAddress: "10.0.0.9" }));
    const row = page.locator('tr[data-session-id="4"]');
    await row.waitFor({ timeout: 5000 });
    assert.match(await row.innerText(), /dave/);
    assert.equal(await page.locator("tbody tr").first().getAttribute("data-session-id"), "4", "newest first");
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, "the page was not reloaded");
    await shot(t, page, "sessions-live.png");

    // A session that closes leaves the open-sessions view.
    api.emitSession({ ...api.data.sessions.find((s) => s.id === 4)!, status: "closed", stoppedAt: new Date().toISOString(), updatedAt: new Date().toISOString() });
    await row.waitFor({ state: "detached", timeout: 5000 });

    await page.fill('input[name="search"]', "198.51.100");
    await page.waitForFunction(() => document.querySelectorAll("tbody tr").length === 1);
    assert.equal(await page.locator("tbody tr").first().getAttribute("data-session-id"), "2");
    await page.fill('input[name="search"]', "");

    await page.selectOption('select[name="status"]', "closed");
    await page.waitForFunction(() => [...document.querySelectorAll("tbody tr")].map((r) => r.getAttribute("data-session-id")).join() === "4,3");
    assert.ok(api.requests.some((r) => r.url.includes("status=closed")), "the status filter is asked of the server");
    await page.close();
  });

  test("user page: uPlot charts of the usage, totals matching the data, current sessions", async (t) => {
    const page = await context.newPage();
    await page.goto(`${api.url}/#/users/alice`);
    const totals = page.locator('[data-testid="usage-totals"]');
    await totals.waitFor();
    const day = api.data.usage.alice!.day;
    const sum = (k: keyof UsageBucket) => day.reduce((a, b) => a + (b[k] as number), 0);
    const expected = `Last 30 days: ${usageTotals({ sessions: sum("sessions"), inputOctets: sum("inputOctets"), outputOctets: sum("outputOctets"), sessionTime: sum("sessionTime") })}`;
    assert.equal(await totals.innerText(), expected);
    assert.match(expected, /10 sessions · in 10.0 MB · out 3.50 MB · time 1h 40m 00s/);

    const canvases = page.locator(".uplot canvas");
    await canvases.first().waitFor();
    assert.equal(await canvases.count(), 3, "bytes per day, bytes per hour, sessions per day");
    for (const c of await canvases.all()) {
      const box = await c.boundingBox();
      assert.ok(box !== null && box.width > 100 && box.height > 100, `a chart canvas has a size: ${JSON.stringify(box)}`);
    }
    // The bars were drawn: some pixel of the first chart is not blank.
    const painted = await canvases.first().evaluate((c: HTMLCanvasElement) => {
      const px = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) return true;
      return false;
    });
    assert.ok(painted, "the chart drew something");
    await page.locator('tr[data-session-id="1"]').waitFor();
    assert.equal(await page.locator("table.sessions tbody tr").count(), 1, "alice's one open session");
    await shot(t, page, "user-alice.png");
    await page.close();
  });

  test("disconnect: confirmation dialog, POST with the reason, the outcome shown", async (t) => {
    const page = await context.newPage();
    await page.goto(`${api.url}/#/sessions`);
    const row = page.locator('tr[data-session-id="2"]');
    await row.getByRole("button", { name: "Disconnect" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /bob on vpn1/);
    // Cancel sends nothing.
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    assert.equal(api.requests.filter((r) => r.method === "POST").length, 0, "cancel posts nothing");

    await row.getByRole("button", { name: "Disconnect" }).click();
    await dialog.locator('input[name="reason"]').fill("over quota");
    await shot(t, page, "disconnect-confirm.png");
    await dialog.getByRole("button", { name: "Disconnect" }).click();
    const outcome = page.locator('[data-testid="disconnect-outcome"]');
    await outcome.waitFor();
    assert.match(await outcome.innerText(), /Disconnect bob on vpn1: acknowledged \(Disconnect-ACK from 127\.0\.0\.1:3799\)/);
    const posts = api.requests.filter((r) => r.method === "POST");
    assert.deepEqual(posts.map((p) => [p.url, p.body]), [["/api/sessions/2/disconnect", { reason: "over quota" }]]);
    await row.locator(".disconnect-acknowledged").waitFor();
    await shot(t, page, "disconnect-outcome.png");
    await page.close();
  });

  test("overview updates live; NAS and command audit pages list the API's data", async (t) => {
    const page = await context.newPage();
    await page.goto(`${api.url}/#/overview`);
    const open = page.locator('[data-testid="tile-open-sessions"]');
    await open.waitFor();
    api.data.overview = { ...api.data.overview, openSessions: 77, drops: 3, requestsPerSecond: { radius: 99.25, tacacs: 0, openvpn: 0 } };
    await page.locator('[data-testid="tile-open-sessions"]', { hasText: "77" }).waitFor({ timeout: 5000 });
    assert.equal(await page.locator('[data-testid="tile-radius"]').innerText(), "99.3");
    assert.equal(await page.locator('[data-testid="tile-drops"]').innerText(), "3");
    await page.locator(".uplot canvas").first().waitFor();
    await shot(t, page, "overview.png");

    await page.goto(`${api.url}/#/nas`);
    await page.locator("td", { hasText: "vpn1" }).waitFor();
    assert.equal(await page.locator("tbody tr").count(), 2);
    await shot(t, page, "nas.png");

    await page.goto(`${api.url}/#/audit`);
    await page.locator("td", { hasText: "show running-config" }).waitFor();
    await shot(t, page, "audit.png");
    await page.close();
  });

  test("responsive: the sessions page at 390x844 has no horizontal overflow", async (t) => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      await phone.addInitScript((tok) => localStorage.setItem("tally.token", tok), TOKEN);
      for (const [hash, name] of [["#/sessions", "phone-sessions.png"], ["#/users/alice", "phone-user.png"]] as const) {
        const page = await phone.newPage();
        await page.goto(`${api.url}/${hash}`);
        await page.locator("table.sessions tbody tr").first().waitFor();
        const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
        assert.ok(scroll <= client, `${hash}: page is ${scroll}px wide in a ${client}px viewport`);
        await shot(t, page, name);
        await page.close();
      }
    } finally {
      await phone.close();
    }
  });
});
