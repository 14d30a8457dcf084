import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveBmcs } from "../../src/config/inventory.js";
import { loadConfig } from "../../src/config/load.js";
import { desiredPefState } from "../../src/pef/desired.js";
import { isSamplePet } from "../../src/pef/event-test.js";
import { runFleet } from "../../src/pef/fleet.js";
import { planPef } from "../../src/pef/plan.js";
import { readPefState } from "../../src/pef/read.js";
import { catcherRoutes } from "../../src/serve/catchers.js";
import { type Demo, startDemo } from "../../src/serve/demo.js";
import { parseMessage } from "../../src/serve/mime.js";
import { buildSinks } from "../../src/sinks/build.js";
import { WebhookSink } from "../../src/sinks/webhook.js";
import { petgateBodyOf, sampleGroup, sampleNotification } from "../support/http-receiver.js";
import { type RunningListener, startListener, waitFor } from "../support/listener.js";
import { freeUdpPort } from "../support/ports.js";

// The demo's default BMC addresses (127.77.0.x) are left to a demo someone may be running.
const FIRST_BMC = "127.78.0.1";

let dataDir: string;
let listener: RunningListener;
let demo: Demo;
const logs: string[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "petgate-demo-"));
  listener = await startListener();
  demo = await startDemo({
    dataDir,
    listenerAddress: listener.listener.address(),
    log: (line) => logs.push(line),
    intervalMs: 100,
    firstBmc: { host: FIRST_BMC, port: await freeUdpPort(FIRST_BMC) },
  });
});
afterAll(async () => {
  await demo?.close();
  await listener?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const secrets = () => [
  readFileSync(join(dataDir, "demo", "bmc-password"), "utf8").trim(),
  readFileSync(join(dataDir, "demo", "webhook-secret"), "utf8").trim(),
];

describe("petgate serve --demo", () => {
  it("generates ten labelled BMCs, both catchers as receivers and routes to both", () => {
    const { config } = demo;
    expect(config.bmcs.map((b) => b.name)).toEqual(
      Array.from({ length: 10 }, (_, i) => `demo-bmc-${String(i + 1).padStart(2, "0")}`),
    );
    expect(config.bmcs[0]?.labels).toEqual({ site: "demo", rack: "rack-1", role: "compute" });
    expect(new Set(config.bmcs.map((b) => b.host)).size).toBe(10);
    expect(config.pef?.destinations).toMatchObject([{ ip: "127.0.0.1" }]);
    expect(config.receivers?.map((r) => r.name)).toEqual(["demo-mail", "demo-webhook"]);
    expect(config.routes?.group_wait).toBe("1s");
  });

  it("provisions every BMC as pef apply does: planning again finds nothing to change", async () => {
    const pef = demo.config.pef as NonNullable<typeof demo.config.pef>;
    const outcomes = await runFleet(
      resolveBmcs(demo.config),
      async (execute) => {
        const { state, capacity } = await readPefState(execute, pef.channel);
        return planPef(state, desiredPefState(pef, capacity), capacity).writes.length;
      },
      { concurrency: 10, deadlineMs: 15_000 },
    );
    expect(outcomes.map((o) => (o.ok ? o.value : o.error))).toEqual(Array(10).fill(0));
  });

  it("the simulated BMCs send real PETs to the listener, assertions then deassertions, from each BMC", async () => {
    const bmcHosts = resolveBmcs(demo.config).map((t) => t.host);
    const seen = () => {
      const pets = listener.events.flatMap((e) => (e.kind === "pet" && isSamplePet(e.pet, 1) ? [e] : []));
      const from = (direction: string) =>
        new Set(pets.filter((e) => e.pet.eventDirection === direction).map((e) => e.source.address));
      return { assertions: from("assertion"), deassertions: from("deassertion") };
    };
    await waitFor(
      "an assertion and a deassertion from every BMC",
      () => {
        const s = seen();
        return bmcHosts.every((h) => s.assertions.has(h) && s.deassertions.has(h)) || undefined;
      },
      20_000,
    );
    expect([...seen().assertions].sort()).toEqual([...bmcHosts].sort());
    expect(logs.some((l) => /demo-bmc-01: test event 1 .*, deassertion/.test(l))).toBe(true);
  });

  it("writes petgate.demo.yml with the secrets only as references to 0600 files, and never logs them", () => {
    const file = join(dataDir, "petgate.demo.yml");
    expect(loadConfig(file)).toEqual(demo.config);
    const text = readFileSync(file, "utf8");
    expect(text).toContain(join(dataDir, "demo", "bmc-password"));
    for (const secret of secrets()) {
      expect(secret.length).toBeGreaterThanOrEqual(16);
      expect(text).not.toContain(secret);
      expect(logs.join("\n")).not.toContain(secret);
    }
    for (const name of ["bmc-password", "webhook-secret"])
      expect(statSync(join(dataDir, "demo", name)).mode & 0o777).toBe(0o600);
  });

  it("the catchers record a real mail from the email sink and a signed webhook from the webhook sink", async () => {
    const sinks = buildSinks(demo.config);
    const n = sampleNotification({
      summary: "demo-bmc-03: Temperature CPU1 Temp: Upper Critical - going high",
    });
    const group = sampleGroup([n]);
    expect(await sinks.get("demo-mail")?.send(group)).toEqual({ outcome: "delivered" });
    expect(await sinks.get("demo-webhook")?.send(group)).toEqual({ outcome: "delivered" });
    const forged = new WebhookSink({
      name: "forged",
      url: demo.catchers.webhook.url,
      secret: "not-the-secret",
    });
    expect(await forged.send(group)).toEqual({ outcome: "delivered" });
    await Promise.all([...sinks.values()].map((s) => s.close?.()));

    const mail = demo.catchers.mail.messages.at(-1);
    expect(mail?.to).toEqual(["oncall@localhost"]);
    expect((await parseMessage(mail?.raw ?? "")).headers.get("subject")).toBe(
      "[FIRING:1] [CRITICAL] bmc-07 Temperature CPU1 Temp: Upper Critical - going high",
    );
    const [signed, unsigned] = demo.catchers.webhook.requests.slice(-2);
    expect(signed).toMatchObject({ signatureValid: true, idempotencyKey: group.idempotencyKey });
    expect(signed && petgateBodyOf(signed)?.notifications).toEqual([n]);
    expect(unsigned?.signatureValid).toBe(false);
  });

  it("shows what the catchers got at /demo/mail, /demo/webhook and /demo", async () => {
    const app = Fastify();
    catcherRoutes(app, demo.catchers);
    await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      const mail = (await (await fetch(`${base}/demo/mail`)).json()) as {
        messages: { from: string; to: string[]; subject: string; text: string }[];
      };
      expect(mail.messages[0]).toMatchObject({
        from: "petgate-demo@localhost",
        to: ["oncall@localhost"],
        subject: "[FIRING:1] [CRITICAL] bmc-07 Temperature CPU1 Temp: Upper Critical - going high",
      });
      expect(mail.messages[0]?.text).toContain("CPU1 Temp");
      const hooks = (await (await fetch(`${base}/demo/webhook`)).json()) as {
        requests: { signatureValid: boolean; body: { notifications: { summary: string }[] } }[];
      };
      expect(hooks.requests.map((r) => r.signatureValid)).toEqual([false, true]);
      expect(hooks.requests[1]?.body.notifications[0]?.summary).toBe(
        "demo-bmc-03: Temperature CPU1 Temp: Upper Critical - going high",
      );
      const page = await fetch(`${base}/demo`);
      expect(page.headers.get("content-type")).toMatch(/^text\/html/);
      const html = await page.text();
      expect(html).toContain("Mail catcher (1)");
      expect(html).toContain("[CRITICAL] bmc-07 Temperature CPU1 Temp");
      expect(html).toContain("INVALID");
    } finally {
      await app.close();
    }
  });
});
