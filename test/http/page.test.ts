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
    await expect.poll(() => page.title()).toBe("petgate");
    const bmc1 = page.locator('[data-bmc="bmc-1"]');
    await bmc1.and(page.locator(".ok")).waitFor({ timeout: 15_000 });
    await page.locator('[data-bmc="bmc-2"]').waitFor();
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

function fail(): never {
  throw new Error("no simulated BMC");
}
