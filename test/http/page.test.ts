import { mkdirSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SensorNumber } from "../../src/sim/default-sdr.js";
import { setSensorValue } from "../../src/sim/sensors.js";
import { type Stack, startStack } from "./stack.js";

/*
 * The web page in Debian's Chromium (headless, driven by playwright-core), against the real stack:
 * a simulated BMC's sensor crosses its threshold, the PET goes through the pipeline, and the row
 * appears in the page's table with its reading and deliveries.
 */

let stack: Stack;
let browser: Browser;
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  stack = await startStack("127.43.0.1");
  // Flags from the machine notes: nothing reaches out to the network; Playwright adds --headless and
  // a fresh --user-data-dir of its own.
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
}, 30_000);

describe("the web page", () => {
  it("shows the BMC health grid and the queues, then an injected alert with its deliveries", async () => {
    const response = await page.goto(stack.url);
    expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");
    await expect.poll(() => page.title(), { timeout: 20_000 }).toBe("petgate");
    const bmc1 = page.locator('[data-bmc="bmc-1"]');
    await bmc1.and(page.locator(".ok")).waitFor({ timeout: 15_000 });
    await page.locator('[data-bmc="bmc-2"]').waitFor();
    // Its FRU identity, read by the health lease holder at the first good probe (the sim's default FRU).
    const identity = bmc1.locator(".fru");
    await identity.waitFor({ timeout: 15_000 });
    expect(await identity.textContent()).toMatch(/^petgate petgate sim · S\/N SIMP\d+$/);
    expect(await page.locator("[data-queue]").allTextContents()).toEqual([
      expect.stringMatching(/^ingest waiting \d+ active \d+ delayed \d+ failed \d+$/),
      expect.stringMatching(/^deliver /),
    ]);
    expect(await page.locator("#events tr").count()).toBe(0);

    // CPU1 Temp above its upper critical threshold: the simulated BMC sends a PET.
    setSensorValue(stack.fleet.simulators[0]?.state ?? fail(), SensorNumber.Cpu1Temp, 92);

    const row = page.locator("#events tr", { hasText: "webhook ✓" });
    await row.waitFor({ timeout: 20_000 });
    const cells = await row.locator("td").allTextContents();
    expect(cells.slice(1)).toEqual([
      "critical",
      "bmc-1",
      "CPU1 Temp",
      expect.stringContaining("Upper Critical"),
      expect.stringMatching(/^92 degrees C · .*ucr 90/),
      "firing",
      "webhook ✓nowhere ✗",
    ]);
    // An expression in a string: this file is type-checked without the DOM library.
    const red = await page.evaluate(
      "getComputedStyle(document.querySelector('#events tr .sev')).backgroundColor",
    );
    expect(red).toBe("rgb(179, 38, 30)");
    await bmc1.locator(".last", { hasText: "CPU1 Temp:" }).waitFor();

    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/http-page.png", fullPage: true });
    expect(problems).toEqual([]);
  });
});

describe("the web page's polling", () => {
  it("polls only while visible, and waits longer after each failed poll", async () => {
    const polled = await browser.newPage();
    try {
      // Timers that run only when told to, and the page's fetches counted in the page.
      const t0 = Date.parse("2026-01-01T12:00:00Z");
      await polled.clock.install({ time: t0 });
      await polled.clock.pauseAt(t0 + 60_000);
      await polled.addInitScript(`(() => {
        const real = window.fetch.bind(window);
        window.__fetches = 0;
        window.fetch = (...args) => { window.__fetches++; return real(...args); };
      })()`);
      const fetches = async () => Number(await polled.evaluate("window.__fetches"));
      const visible = (shown: boolean) =>
        polled.evaluate(`(() => {
          Object.defineProperty(document, "hidden", { configurable: true, get: () => ${!shown} });
          document.dispatchEvent(new Event("visibilitychange"));
        })()`);
      const status = () => polled.locator("#status").textContent();
      /**
       * The page's status once a poll at the present (paused) time has succeeded. The page sets it in
       * the same run of promise callbacks as it sets the next poll's timer, so once it shows, the timer
       * is set: the clock may be run.
       */
      const updatedNow = async () =>
        String(await polled.evaluate('"updated " + new Date().toLocaleTimeString()'));
      // A real poll goes through the HTTP server and Redis: on a loaded machine that can take seconds.
      const settled = { timeout: 20_000 };

      await polled.goto(stack.url);
      await expect.poll(status, settled).toBe(await updatedNow());
      expect(await fetches()).toBe(3); // events, BMCs, queues

      await visible(false);
      await polled.clock.runFor(60_000);
      expect(await fetches()).toBe(3);
      // The clock moved on a minute: the status the next poll writes differs from the first's, so
      // waiting for it waits for that poll to end.
      expect(await status()).not.toBe(await updatedNow());
      await visible(true); // back in view: a poll at once
      await expect.poll(status, settled).toBe(await updatedNow());
      expect(await fetches()).toBe(6);

      // A gateway that fails: the next poll comes after 4 s, not 2 s, the one after that after 8 s.
      const failures = [503, 502, 504];
      await polled.route("**/api/queues", (r) => r.fulfill({ status: failures.shift() ?? 500, body: "{}" }));
      await polled.clock.runFor(2_000);
      await expect.poll(status, settled).toMatch(/HTTP 503$/);
      await polled.clock.runFor(3_999);
      expect(await fetches()).toBe(9);
      await polled.clock.runFor(1);
      await expect.poll(status, settled).toMatch(/HTTP 502$/);
      await polled.clock.runFor(7_999);
      expect(await fetches()).toBe(12);
      await polled.clock.runFor(1);
      await expect.poll(status, settled).toMatch(/HTTP 504$/);
    } finally {
      await polled.close();
    }
  });
});

function fail(): never {
  throw new Error("no simulated BMC");
}
