import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Config, configSchema } from "../../src/config/schema.js";
import { IpmiClient } from "../../src/ipmi/client/client.js";
import type { Execute } from "../../src/ipmi/commands/command.js";
import { provision } from "../../src/pef/apply.js";
import { desiredPefState } from "../../src/pef/desired.js";
import type { TrapEvent } from "../../src/pet/trap.js";
import { RedisAlertBook } from "../../src/pipeline/alerting/alert-book-redis.js";
import { eventId, type QueuedEvent } from "../../src/pipeline/intake/event.js";
import { type Pipeline, startPipeline } from "../../src/pipeline/pipeline.js";
import { simConfigSchema } from "../../src/sim/config.js";
import { SensorNumber } from "../../src/sim/default-sdr.js";
import { SimulatorFleet } from "../../src/sim/fleet.js";
import { setSensorValue } from "../../src/sim/sensors.js";
import { AlertmanagerSink } from "../../src/sinks/alertmanager.js";
import { EmailSink } from "../../src/sinks/email.js";
import type { Sink } from "../../src/sinks/sink.js";
import { WebhookSink } from "../../src/sinks/webhook.js";
import { type Alertmanager, startAlertmanager } from "../support/alertmanager.js";
import { type HttpReceiver, startHttpReceiver } from "../support/http-receiver.js";
import { netSnmp, petArgs, waitFor } from "../support/listener.js";
import { CPU_TEMP_UCR_FILTERS } from "../support/pef-fixtures.js";
import { petTrap, startRedis, type TestRedis } from "../support/redis.js";
import { SIM_PASSWORD } from "../support/sim.js";
import { parseMessage, startSmtp, type TestSmtp } from "../support/smtp.js";

/*
 * The whole chain with real parts: simulated BMCs (PEF provisioned by petgate) → PET over UDP → the
 * pipeline's listener → Ingest → Redis (INGEST) → events worker: enrichment over RMCP+ → routing →
 * DELIVER → a real SMTP server, a webhook receiver and a real Alertmanager.
 */

const BMC_HOSTS = ["127.40.0.1", "127.40.0.2"];

let redis: TestRedis;
let smtp: TestSmtp;
let webhook: HttpReceiver;
let alertmanager: Alertmanager;
let fleet: SimulatorFleet;
let pipeline: Pipeline;
let spoolDir: string;
const sinks = new Map<string, Sink>();
const clients: IpmiClient[] = [];

const config: Config = configSchema.parse({
  listener: { bind: "127.0.0.1:0", communities: ["public"], unknownSeverity: "non-critical" },
  bmcs: BMC_HOSTS.map((host, i) => ({
    name: `bmc-${i + 1}`,
    host: `${host}:623`,
    username: "admin",
    password: SIM_PASSWORD,
    insecureInlinePassword: true,
    labels: { rack: "r1" },
  })),
  pef: {
    community: "public",
    filters: CPU_TEMP_UCR_FILTERS,
    // The BMCs want each PET acknowledged: the pipeline acks it once it is durably queued.
    destinations: [
      {
        selector: 1,
        ip: "127.0.0.1",
        mac: "00:00:00:00:00:00",
        acknowledge: true,
        timeoutSeconds: 2,
        retries: 3,
      },
    ],
  },
  routes: {
    receiver: "webhook",
    group_wait: "0s",
    // The resolved notification goes out at the group's next batch.
    group_interval: "100ms",
    // A route whose children match does not take the notification itself (Alertmanager's rule), so
    // the webhook is a child too.
    routes: [
      { receiver: "webhook", continue: true },
      { receiver: "email", continue: true },
      { receiver: "alertmanager", continue: true },
    ],
  },
});

interface AmAlert {
  labels: Record<string, string>;
  status: { state: string };
}

async function activeAlerts(): Promise<AmAlert[]> {
  const r = await fetch(`${alertmanager.url}/api/v2/alerts?active=true`);
  return (await r.json()) as AmAlert[];
}

const webhookBodies = () => webhook.notifications();
const textBody = async (raw: string) =>
  (await parseMessage(raw)).parts.find((p) => p.contentType === "text/plain")?.body ?? "";

beforeAll(async () => {
  spoolDir = mkdtempSync(join(tmpdir(), "petgate-e2e-"));
  [redis, smtp, webhook, alertmanager] = await Promise.all([
    startRedis(),
    startSmtp(),
    startHttpReceiver(),
    startAlertmanager(),
  ]);
  sinks.set(
    "email",
    new EmailSink({
      name: "email",
      transport: { host: "127.0.0.1", port: smtp.port, timeoutMs: 5_000 },
      from: "petgate@example.test",
      to: ["ops@example.test"],
    }),
  );
  sinks.set("webhook", new WebhookSink({ name: "webhook", url: webhook.url, timeoutMs: 5_000 }));
  sinks.set(
    "alertmanager",
    new AlertmanagerSink({ name: "alertmanager", url: alertmanager.url, timeoutMs: 5_000 }),
  );
  pipeline = await startPipeline({
    config,
    redis: redis.socket,
    spoolFile: join(spoolDir, "spool.ndjson"),
    sinks,
    log: () => undefined,
  });
  fleet = await SimulatorFleet.start(
    simConfigSchema.parse({
      listen: `${BMC_HOSTS[0]}:623`,
      count: BMC_HOSTS.length,
      spread: "address",
      trapPort: pipeline.listener.address().port,
      users: [{ name: "admin", password: SIM_PASSWORD }],
    }),
  );
  const pef = config.pef;
  if (!pef) throw new Error("no pef config");
  for (const sim of fleet.simulators) {
    const client = new IpmiClient({
      host: sim.address.host,
      port: sim.address.port,
      username: "admin",
      password: SIM_PASSWORD,
      keepAliveMs: 0,
    });
    clients.push(client);
    const execute: Execute = (c, r) => client.execute(c, r);
    const result = await provision(
      execute,
      (capacity) => desiredPefState(pef, capacity, () => undefined),
      pef.channel,
    );
    expect(result.error).toBeUndefined();
    expect(result.status).toBe("changed");
  }
}, 30_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await pipeline?.close();
  await fleet?.stop();
  await Promise.all([...sinks.values()].map((s) => s.close?.()));
  await Promise.all([smtp?.close(), webhook?.close(), alertmanager?.stop()]);
  await redis?.dispose();
  rmSync(spoolDir, { recursive: true, force: true });
}, 20_000);

describe("end to end: BMC → PET → queue → enrichment → receivers", () => {
  it("fires once to each receiver with the sensor's reading, then resolves once", async () => {
    const bmc1 = fleet.simulators[0];
    if (!bmc1) throw new Error("no BMC 1");

    // CPU1 Temp above its upper critical threshold (90 °C): the SEL logs UNC and UCR going high; the
    // PEF filters alert on UCR only.
    setSensorValue(bmc1.state, SensorNumber.Cpu1Temp, 92);

    await waitFor("the firing webhook", () => webhook.requests.length >= 1 || undefined, 20_000);
    await waitFor("the firing mail", () => smtp.messages.length >= 1 || undefined, 20_000);
    const firingAlerts = await waitFor(
      "the Alertmanager alert",
      async () => {
        const alerts = (await activeAlerts()).filter((a) => a.labels.bmc === "bmc-1");
        return alerts.length > 0 ? alerts : undefined;
      },
      20_000,
    );

    const [firing] = webhookBodies();
    expect(firing).toMatchObject({
      status: "firing",
      bmc: { name: "bmc-1", address: "127.40.0.1", labels: { rack: "r1" } },
      event: { sensorType: "Temperature", sensorNumber: SensorNumber.Cpu1Temp, direction: "assertion" },
      enrichment: "ok",
      sensor: { name: "CPU1 Temp", reading: 92, unit: "degrees C", thresholds: { ucr: 90 } },
    });
    const mail = await textBody(smtp.messages[0]?.raw ?? "");
    expect(mail).toContain("CPU1 Temp");
    expect(mail).toContain("92 degrees C");
    expect(mail).toContain("ucr=90");
    expect(firingAlerts).toHaveLength(1);
    expect(firingAlerts[0]?.labels).toMatchObject({
      alertname: "IpmiTemperature",
      bmc: "bmc-1",
      instance: "127.40.0.1",
      sensor_type: "Temperature",
      sensor_number: String(SensorNumber.Cpu1Temp),
      rack: "r1",
    });

    // Back below the threshold minus the hysteresis (90 − 2): the SEL logs the deassertion → PET.
    setSensorValue(bmc1.state, SensorNumber.Cpu1Temp, 45);

    await waitFor("the resolved webhook", () => webhook.requests.length >= 2 || undefined, 20_000);
    await waitFor("the resolved mail", () => smtp.messages.length >= 2 || undefined, 20_000);
    await waitFor(
      "the Alertmanager alert to resolve",
      async () => {
        const alerts = (await activeAlerts()).filter((a) => a.labels.bmc === "bmc-1");
        return alerts.length === 0 || undefined;
      },
      20_000,
    );
    const resolved = webhookBodies()[1];
    expect(resolved).toMatchObject({ status: "resolved", bmc: { name: "bmc-1" } });
    expect(resolved?.startsAt).toBe(firing?.startsAt);
    expect(resolved?.endsAt).toBeDefined();
    expect((await textBody(smtp.messages[1]?.raw ?? "")).toLowerCase()).toContain("resolved");

    // Exactly once each: nothing more arrives once all is delivered, and BMC 2 sent nothing.
    await waitFor(
      "the delivery worker to settle",
      () => {
        const s = pipeline.delivery.stats();
        return (
          (["webhook", "email", "alertmanager"] as const).every((r) => s.outcomes[r]?.delivered === 2) ||
          undefined
        );
      },
      20_000,
    );
    expect(webhook.requests).toHaveLength(2);
    expect(new Set(webhook.idempotencyKeys()).size).toBe(2);
    expect(smtp.messages).toHaveLength(2);
    expect(pipeline.events.stats().outcomes.sent).toBe(2);
    expect(webhookBodies().every((n) => n.bmc.name === "bmc-1")).toBe(true);
    // Both PETs (assertion, deassertion) were acknowledged after queueing, so none was resent.
    await waitFor("the PET acknowledgements", () => fleet.counters().acksReceived === 2 || undefined, 10_000);
    expect(fleet.counters().retransmissions).toBe(0);
  }, 30_000);

  it("alerts at listener.unknownSeverity for a PET whose severity byte is outside PET 1.0 Table 3-2", async () => {
    const before = webhook.requests.length;
    const mails = smtp.messages.length;
    // Temperature UCR going high with severity 40h, from a sender not in the inventory.
    const varbind =
      "a123456789abcdefa123456789abcdef00071afd41f6003c2020402001070109ffff000000000019000012910f02c1";
    const target = `udp:127.0.0.1:${pipeline.listener.address().port}`;
    await netSnmp("snmptrap", petArgs({ version: "2c", community: "public" }, target, 65801, varbind));

    await waitFor("its webhook", () => webhook.requests.length > before || undefined, 20_000);
    expect(webhookBodies()[before]).toMatchObject({
      status: "firing",
      severity: "non-critical",
      event: { severityRaw: 0x40, text: "Upper Critical - going high" },
    });
    await waitFor("its mail", () => smtp.messages.length > mails || undefined, 20_000);
    expect(await textBody(smtp.messages[mails]?.raw ?? "")).toContain(
      "non-critical (PET severity 40h, outside PET 1.0 Table 3-2)",
    );
    const [alert] = await waitFor(
      "its Alertmanager alert",
      async () => {
        const alerts = (await activeAlerts()).filter((a) => a.labels.bmc === "127.0.0.1");
        return alerts.length > 0 ? alerts : undefined;
      },
      20_000,
    );
    expect(alert?.labels.severity).toBe("non-critical");
  }, 30_000);
});

describe("RedisAlertBook", () => {
  it("fires once, gives the same notification to a re-run of its event, and resolves once", async () => {
    const connection = new Redis(redis.socket);
    try {
      const book = new RedisAlertBook(connection, "book-test");
      const facts = { status: "ok" as const, bmc: { name: "bmc-x", address: "192.0.2.10", labels: {} } };
      const event = (sequence: number, direction: "assertion" | "deassertion"): QueuedEvent => {
        const base = petTrap(sequence);
        if (base.kind !== "pet") throw new Error("not a PET");
        const trap: TrapEvent = { ...base, pet: { ...base.pet, eventDirection: direction } };
        return { id: eventId(trap), trap };
      };
      const up = event(1, "assertion");
      const firing = await book.next(up, facts);
      expect(firing?.status).toBe("firing");
      expect((await book.next(up, facts))?.id).toBe(firing?.id); // a retried job
      expect(await book.next(event(2, "assertion"), facts)).toBeUndefined(); // already firing
      expect(await book.firing()).toHaveLength(1);
      const down = event(3, "deassertion");
      const resolved = await book.next(down, facts);
      expect(resolved).toMatchObject({ status: "resolved", startsAt: firing?.startsAt });
      expect((await book.next(down, facts))?.id).toBe(resolved?.id); // a retried job
      expect(await book.next(event(4, "deassertion"), facts)).toBeUndefined(); // nothing firing
      expect(await book.firing()).toHaveLength(0);
      expect((await book.next(event(5, "assertion"), facts))?.status).toBe("firing"); // fires anew
    } finally {
      connection.disconnect();
    }
  });
});
