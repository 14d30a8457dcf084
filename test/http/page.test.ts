import { mkdirSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SensorNumber } from "../../src/sim/default-sdr.js";
import { setSensorValue } from "../../src/sim/sensors.js";
import { API_TOKEN, getJson, type Stack, startStack } from "./stack.js";

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
      "Silence…",
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

describe("the page for people on call (after the alert above)", () => {
  it("charts the last 24 h's events per hour by severity from the history", async () => {
    const bar = page.locator('#chart rect[data-severity="critical"]');
    await bar.first().waitFor({ timeout: 20_000 });
    const counts = await bar.evaluateAll((rects) => rects.map((r) => Number(r.getAttribute("data-count"))));
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
    const hour = await bar.last().getAttribute("data-hour");
    expect(Date.now() - Date.parse(hour ?? "")).toBeLessThan(3_600_000 * 2);
  });

  it("searches the history by BMC, label and words; a filter the API refuses shows why", async () => {
    const form = page.locator("#history-form");
    await form.locator('[name="bmc"]').fill("bmc-1", { timeout: 5_000 });
    await form.locator('[name="label"]').fill("label_rack=r1", { timeout: 5_000 });
    await form.locator('[name="q"]').fill("upper crit", { timeout: 5_000 });
    await form.locator('button[type="submit"]').click({ timeout: 5_000 });
    const row = page.locator("#history tr", { hasText: "CPU1 Temp" });
    await row.first().waitFor({ timeout: 10_000 });
    expect(await row.first().locator("td").nth(2).textContent()).toBe("bmc-1");
    // A filter the API refuses: its message shown, the rows left as they were.
    await form.locator('[name="label"]').fill("=r1", { timeout: 5_000 });
    await form.locator('button[type="submit"]').click({ timeout: 5_000 });
    await page
      .locator("#history-error", { hasText: 'label "=r1": give NAME=VALUE' })
      .waitFor({ timeout: 10_000 });
    expect(await row.count()).toBeGreaterThanOrEqual(1);
    // The refused request, as the browser logs it: expected here, nowhere else.
    await expect.poll(() => problems.filter((p) => p.includes("400 (Bad Request)")).length).toBe(1);
    problems.splice(
      problems.findIndex((p) => p.includes("400 (Bad Request)")),
      1,
    );
  });

  it("silences an event's alert from its row (matchers prefilled; the token asked once), lists and expires it", async () => {
    await page.locator("#events tr", { hasText: "CPU1 Temp" }).first().locator("button.silence-this").click();
    expect(await page.locator("#silence-matchers").inputValue()).toBe(
      'bmc="bmc-1"\nsensor_type="Temperature"\nevent="Upper Critical - going high"',
    );
    await page.locator("#silence-by").fill("oncall");
    await page.locator("#silence-comment").fill("fan swap in rack 1");
    await page.locator('#silence-form button[type="submit"]').click();
    // No token yet: asked for; a wrong one is refused and asked for again.
    await page.locator("#token-form").waitFor();
    await page.locator("#token").fill("not-the-token");
    await page.locator('#token-form button[type="submit"]').click();
    await page.locator("#token-form").waitFor();
    // The refused token's request, as the browser logs it: expected here, nowhere else.
    await expect.poll(() => problems.filter((p) => p.includes("401 (Unauthorized)")).length).toBe(1);
    problems.splice(
      problems.findIndex((p) => p.includes("401 (Unauthorized)")),
      1,
    );
    await page.locator("#token").fill(API_TOKEN);
    await page.locator('#token-form button[type="submit"]').click();
    const silence = page.locator("#silences tr", { hasText: "fan swap in rack 1" });
    await silence.waitFor({ timeout: 10_000 });
    expect(await silence.locator("td").nth(1).textContent()).toBe("active");
    const id = await silence.getAttribute("data-silence");
    // The token is kept for the session: expiring asks for nothing.
    await silence.locator("button.expire").click();
    await expect
      .poll(async () => {
        const { body } = await getJson<{ silences: { id: string; state: string }[] }>(
          `${stack.url}/api/silences?all=true`,
        );
        return body.silences.find((x) => x.id === id)?.state;
      })
      .toBe("expired");
    expect(await page.locator("#token-form").isHidden()).toBe(true);
  });

  it("shows one BMC: its health, identity, sensors read now and its events", async () => {
    await page.locator('[data-bmc="bmc-1"]').click();
    const view = page.locator("#bmc-view");
    await view.waitFor();
    expect(await page.locator("#bmc-view-name").textContent()).toBe("bmc-1");
    const facts = await page.locator("#bmc-view-facts").textContent();
    expect(facts).toContain("healthok");
    expect(facts).toMatch(/product serialSIMP\d+/);
    const cpu = page.locator('#bmc-view-sensors tr[data-sensor="CPU1 Temp"]');
    await cpu.waitFor({ timeout: 10_000 });
    expect(await cpu.locator("td").allTextContents()).toEqual([
      "CPU1 Temp",
      "Temperature",
      "92 degrees C",
      "cr",
    ]);
    await page.locator("#bmc-view-events tr", { hasText: "CPU1 Temp" }).first().waitFor();
    await page.screenshot({ path: "test-results/http-page-oncall.png", fullPage: true });
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
      expect(await fetches()).toBe(5); // the chart (every 5th poll), events, BMCs, queues, silences

      await visible(false);
      await polled.clock.runFor(60_000);
      expect(await fetches()).toBe(5);
      // The clock moved on a minute: the status the next poll writes differs from the first's, so
      // waiting for it waits for that poll to end.
      expect(await status()).not.toBe(await updatedNow());
      await visible(true); // back in view: a poll at once
      await expect.poll(status, settled).toBe(await updatedNow());
      expect(await fetches()).toBe(9);

      // A gateway that fails: the next poll comes after 4 s, not 2 s, the one after that after 8 s.
      const failures = [503, 502, 504];
      await polled.route("**/api/queues", (r) => r.fulfill({ status: failures.shift() ?? 500, body: "{}" }));
      await polled.clock.runFor(2_000);
      await expect.poll(status, settled).toMatch(/HTTP 503$/);
      await polled.clock.runFor(3_999);
      expect(await fetches()).toBe(13);
      await polled.clock.runFor(1);
      await expect.poll(status, settled).toMatch(/HTTP 502$/);
      await polled.clock.runFor(7_999);
      expect(await fetches()).toBe(17);
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
