import dgram from "node:dgram";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTcpGate } from "../../bench/tcp-gate.js";
import type { BmcTarget } from "../../src/config/inventory.js";
import { configSchema } from "../../src/config/schema.js";
import { decodePetVarbind, encodePetVarbind } from "../../src/pet/varbind.js";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import { startEventsWorker } from "../../src/pipeline/events-worker.js";
import { readHealth } from "../../src/pipeline/health/health-store.js";
import { startIntake } from "../../src/pipeline/intake/intake.js";
import { deliveredMarkerKey, deliverQueue } from "../../src/pipeline/notify/deliver.js";
import { DeadLetterQueue } from "../../src/pipeline/notify/dlq.js";
import type { RetryOptions } from "../../src/pipeline/notify/retry.js";
import { type Pipeline, startPipeline } from "../../src/pipeline/pipeline.js";
import { ingestQueue } from "../../src/pipeline/queues.js";
import { EmailSink } from "../../src/sinks/email.js";
import type { Sink } from "../../src/sinks/sink.js";
import { WebhookSink } from "../../src/sinks/webhook.js";
import { DELL_CHASSIS_INTRUSION, hexBytes } from "../pet/vectors.js";
import { type Daemon, nodeDaemon, petgate } from "../support/cli.js";
import { type HttpReceiver, type HttpReceiverOptions, startHttpReceiver } from "../support/http-receiver.js";
import { waitFor } from "../support/listener.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { SIM_PASSWORD, startSims } from "../support/sim.js";
import { startSmtp } from "../support/smtp.js";

/** The delivery worker as operators run it (npm test builds dist/ first). */
const DELIVERY_WORKER = fileURLToPath(new URL("../../dist/workers/deliver.js", import.meta.url));
const HOOK_SECRET = "hook-Secret-1";

/*
 * Failure injection through the whole pipeline (listener → Ingest → Redis → events worker → DELIVER →
 * sinks), with PETs sent over UDP straight to the pipeline's listener (a real SNMPv1 datagram, the
 * Dell fixture with its PET varbind re-encoded). Every PET is a distinct event (GUID, sensor number
 * and event data vary), so each one fires its own alert: one notification per PET.
 *
 * Covered: webhook 500s then 200 (and retries running out), Redis stopped mid-stream, SMTP down then
 * up, a wedged simulated BMC (BMC unresponsive alert, its remedy run, recovery), and a delivery
 * worker process SIGKILLed mid-job. Not covered here: an events worker process killed (a batch it
 * held is retried once BullMQ's stalled check finds it, and its events processed again, which the
 * alert book makes idempotent; test/pipeline/ingest.test.ts covers a batch cut off by a Redis stop).
 */

const FIXTURE = "test/fixtures/snmp/pet-v1-dell-chassis-intrusion.hex";
// The fixture is a deassertion (specific trap 056F80h: bit 7 of the offset byte); as an assertion
// (056F00h) each PET fires an alert.
const packetHex = readFileSync(FIXTURE, "utf8").replace(/\s+/g, "").replace("0203056f80", "0203056f00");
const baseVarbind = decodePetVarbind(hexBytes(DELL_CHASSIS_INTRUSION.hex));
const baseVarbindHex = encodePetVarbind(baseVarbind).toString("hex");
const varbindAt = packetHex.lastIndexOf(baseVarbindHex);
if (varbindAt < 0) throw new Error(`${FIXTURE}: PET varbind not found`);

/**
 * The i-th distinct PET datagram: its own GUID, sensor number (so its own alert: the BMC is unknown
 * and named by the source address, the same for all), sequence and event data.
 */
function petDatagram(i: number, run: number): Buffer {
  const guid = Buffer.from(baseVarbind.guid);
  guid.writeUInt16BE(run & 0xffff, 12);
  guid.writeUInt16BE(i & 0xffff, 14);
  const eventData = Buffer.from(baseVarbind.eventData);
  eventData.writeUInt32BE(i >>> 0, 4);
  const octets = encodePetVarbind({
    ...baseVarbind,
    guid,
    sequence: i & 0xffff,
    sensorNumber: i & 0xff,
    eventData,
  });
  const hex = octets.toString("hex");
  if (hex.length !== baseVarbindHex.length) throw new Error("varbind length changed");
  return Buffer.from(
    packetHex.slice(0, varbindAt) + hex + packetHex.slice(varbindAt + baseVarbindHex.length),
    "hex",
  );
}

let runs = 0;
let redis: TestRedis;
let spoolDir: string;
let sender: dgram.Socket;

/** The config as petgate.yml would hold it; `receivers` are routed to, each one (continue). */
function rawConfig(receivers: string[], extra: { groupInterval?: string; health?: object | undefined } = {}) {
  return {
    listener: { bind: "127.0.0.1:0", communities: ["public"] },
    bmcs: [],
    // All PETs come from one address (one BMC): no storm control at these counts.
    storm: { limit: 1000, per: "1m", fleet: { limit: 1000, per: "1m" } },
    routes: {
      receiver: receivers[0],
      group_wait: "0s",
      // One group (same BMC labels): what arrives after its first batch goes out a second later.
      group_interval: extra.groupInterval ?? "1s",
      routes: receivers.map((receiver) => ({ receiver, continue: true })),
    },
    ...(extra.health && { health: extra.health }),
  };
}

/** Sends PETs from..to-1 of run `run` to the listener on `port`, one datagram each. */
async function sendPets(port: number, run: number, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    await new Promise<void>((resolve, reject) =>
      sender.send(petDatagram(i, run), port, "127.0.0.1", (err) => (err ? reject(err) : resolve())),
    );
  }
}

interface Harness {
  pipeline: Pipeline;
  run: number;
  prefix: string;
  send(from: number, to: number): Promise<void>;
  close(): Promise<void>;
}

async function harness(
  sinks: Map<string, Sink>,
  extra: { inventory?: BmcTarget[]; enrichDeadlineMs?: number; retry?: RetryOptions; health?: object } = {},
): Promise<Harness> {
  const run = ++runs;
  const prefix = `fail${run}`;
  const pipeline = await startPipeline({
    config: configSchema.parse(rawConfig([...sinks.keys()], { health: extra.health })),
    redis: redis.socket,
    prefix,
    spoolFile: join(spoolDir, `spool-${run}.ndjson`),
    sinks,
    inventory: extra.inventory ?? [],
    ...(extra.enrichDeadlineMs !== undefined && { enrichDeadlineMs: extra.enrichDeadlineMs }),
    ...(extra.retry && { retry: extra.retry }),
    log: () => undefined,
  });
  const port = pipeline.listener.address().port;
  return {
    pipeline,
    run,
    prefix,
    send: (from, to) => sendPets(port, run, from, to),
    async close() {
      await pipeline.close();
      await Promise.all([...sinks.values()].map((s) => s.close?.()));
    },
  };
}

async function withWebhook(options: HttpReceiverOptions = {}) {
  const webhook = await startHttpReceiver(options);
  const sinks = new Map<string, Sink>([
    ["webhook", new WebhookSink({ name: "webhook", url: webhook.url, timeoutMs: 5_000 })],
  ]);
  return { webhook, sinks };
}

/** The notifications the webhook received, unpacked from its group bodies. */
const bodies = (w: HttpReceiver) => w.notifications();
const delivered = (p: Pipeline, receiver: string) => p.delivery.stats().outcomes[receiver]?.delivered ?? 0;
/** Fast, deterministic sink retries: the policy is what is tested, not the waiting. */
const FAST_RETRY = { baseMs: 10, maxMs: 50, jitter: false } as const;

beforeAll(async () => {
  spoolDir = mkdtempSync(join(tmpdir(), "petgate-failures-"));
  redis = await startRedis();
  sender = dgram.createSocket("udp4");
  sender.bind(0, "127.0.0.1");
}, 20_000);

afterAll(async () => {
  sender?.close();
  await redis?.dispose();
  rmSync(spoolDir, { recursive: true, force: true });
}, 20_000);

describe("failures through the whole pipeline", () => {
  it("webhook answers 500 three times, then 200: delivered once, one idempotency key", async () => {
    const { webhook, sinks } = await withWebhook({
      script: [{ status: 500 }, { status: 500 }, { status: 500 }],
      otherwise: { status: 200 },
    });
    const h = await harness(sinks, { retry: { ...FAST_RETRY, attempts: 4 } });
    try {
      await h.send(0, 1);
      await waitFor("the delivery", () => delivered(h.pipeline, "webhook") === 1 || undefined, 20_000);
      expect(webhook.requests).toHaveLength(4);
      expect(webhook.idempotencyKeys()).toHaveLength(1);
      expect(h.pipeline.delivery.stats().sends.webhook).toBe(4);
      expect(await h.pipeline.delivery.dlq.size()).toBe(0);
    } finally {
      await h.close();
      await webhook.close();
    }
  }, 30_000);

  it("the retry policy given to the pipeline is the one used: three attempts, then the DLQ", async () => {
    const { webhook, sinks } = await withWebhook({
      script: [{ status: 500 }, { status: 500 }, { status: 500 }],
      otherwise: { status: 200 },
    });
    const h = await harness(sinks, { retry: { ...FAST_RETRY, attempts: 3 } });
    try {
      await h.send(0, 1);
      await waitFor(
        "the dead letter",
        () => h.pipeline.delivery.stats().outcomes.webhook?.exhausted === 1 || undefined,
        20_000,
      );
      expect(webhook.requests).toHaveLength(3);
      const [letter] = await h.pipeline.delivery.dlq.list();
      expect(letter).toMatchObject({ receiver: "webhook", outcome: "exhausted", attempts: 3 });
    } finally {
      await h.close();
      await webhook.close();
    }
  }, 30_000);

  it("Redis stopped while PETs arrive, then restarted: every event delivered exactly once", async () => {
    const N = 20;
    const { webhook, sinks } = await withWebhook();
    const h = await harness(sinks);
    try {
      await h.send(0, N / 2);
      await redis.stop();
      await h.send(N / 2, N);
      await waitFor(
        "the events taken in",
        () => {
          const s = h.pipeline.ingest.stats();
          return s.spooled > 0 || undefined;
        },
        10_000,
      );
      await redis.restart();
      await waitFor(
        "every event at the webhook",
        () => webhook.notificationIds().length >= N || undefined,
        30_000,
      );
      await waitFor(
        "the delivery worker to settle",
        () => delivered(h.pipeline, "webhook") >= N || undefined,
        10_000,
      );
      // Nothing more arrives: each notification once, each request with its own idempotency key.
      await new Promise((r) => setTimeout(r, 500));
      const ids = new Set(bodies(webhook).map((n) => n.id));
      expect(ids.size).toBe(N);
      expect(bodies(webhook)).toHaveLength(N);
      expect(webhook.idempotencyKeys()).toHaveLength(webhook.requests.length);
      expect(new Set(bodies(webhook).map((n) => n.event.eventData)).size).toBe(N);
    } finally {
      await h.close();
      await webhook.close();
    }
  }, 45_000);

  it("SMTP down, then up: each mail delivered once after retries", async () => {
    const smtp = await startSmtp();
    const proxy = await startTcpGate(smtp.port, false);
    const sinks = new Map<string, Sink>([
      [
        "email",
        new EmailSink({
          name: "email",
          transport: { host: "127.0.0.1", port: proxy.port, timeoutMs: 5_000 },
          from: "petgate@example.test",
          to: ["ops@example.test"],
        }),
      ],
    ]);
    const h = await harness(sinks);
    try {
      await h.send(0, 2);
      await waitFor("failed SMTP connections", () => proxy.refused >= 3 || undefined, 20_000);
      expect(smtp.messages).toHaveLength(0);
      proxy.setUp(true);
      await waitFor("both mails", () => delivered(h.pipeline, "email") >= 2 || undefined, 30_000);
      await new Promise((r) => setTimeout(r, 500));
      // One mail per group flush: both events in one mail or in two, each mail once.
      expect(h.pipeline.delivery.stats().outcomes.email?.delivered).toBe(2);
      expect(smtp.messages.length).toBeGreaterThanOrEqual(1);
      expect(smtp.messages.length).toBeLessThanOrEqual(2);
      const messageIds = smtp.messages.map((m) => /^message-id:\s*(\S+)/im.exec(m.raw)?.[1]);
      expect(new Set(messageIds).size).toBe(smtp.messages.length);
      expect(h.pipeline.delivery.stats().sends.email).toBeGreaterThan(smtp.messages.length); // retried
    } finally {
      await h.close();
      await proxy.close();
      await smtp.close();
    }
  }, 45_000);

  it("a wedged BMC: events delivered un-enriched, BMC unresponsive raised with its remedy, work bounded; the remedy clears it", async () => {
    const ENRICH_DEADLINE_MS = 500;
    const N = 12;
    // A simulated BMC that opens sessions and answers Get Device ID, but never SEL, SDR or sensor reads.
    const { fleet, sim, port } = await startSims();
    if (!sim) throw new Error("no simulator");
    sim.setFaults({ wedged: true });
    const { webhook, sinks } = await withWebhook();
    const target: BmcTarget = {
      name: "wedged",
      host: "127.0.0.1",
      port,
      username: "admin",
      password: SIM_PASSWORD,
      cipherSuite: 17,
      allowCipherFallback: false,
      labels: { rack: "r9" },
    };
    const h = await harness(sinks, {
      inventory: [target],
      enrichDeadlineMs: ENRICH_DEADLINE_MS,
      // A probe may wait behind enrichment reads (the shared bulkhead): its deadline is longer than theirs.
      health: { interval: "200ms", probe_deadline: "1s", failures_before_alert: 2 },
    });
    const connection = new Redis(redis.socket);
    // The bulkhead: every call to the BMC (enrichment reads and health probes) goes through one
    // client of the shared pool; its own counters are sampled for the whole test.
    const peak = { inFlight: 0, queued: 0 };
    const sampler = setInterval(() => {
      const s = h.pipeline.events.pool.peek("wedged")?.stats();
      peak.inFlight = Math.max(peak.inFlight, s?.inFlight ?? 0);
      peak.queued = Math.max(peak.queued, s?.queued ?? 0);
    }, 2);
    const events = () => bodies(webhook).filter((n) => n.event.text !== "BMC unresponsive");
    const health = (status: Notification["status"]) =>
      bodies(webhook).find((n) => n.event.text === "BMC unresponsive" && n.status === status);
    try {
      await h.send(0, N);
      // Each event waits at most the enrichment deadline, and only until the breaker opens (3
      // timeouts); after that it is not asked at all.
      await waitFor(
        "every event at the webhook",
        () => events().length >= N || undefined,
        3 * ENRICH_DEADLINE_MS + 10_000,
      );
      expect(new Set(events().map((n) => n.id)).size).toBe(N);
      expect(events().every((n) => n.bmc.name === "wedged" && n.sensor === undefined)).toBe(true);
      expect(events().map((n) => n.enrichment)).toContain("timeout");
      expect(events().every((n) => n.enrichment === "timeout" || n.enrichment === "circuit-open")).toBe(true);

      const firing = await waitFor("BMC unresponsive at the webhook", () => health("firing"), 15_000);
      expect(firing).toMatchObject({ severity: "critical", bmc: { name: "wedged", labels: { rack: "r9" } } });
      expect(firing.detail).toContain("answers session set-up and Get Device ID, but not the SEL");
      expect(firing.detail).toContain(`remedy: petgate bmc reset-cold -H 127.0.0.1:${port} -U admin`);
      // What the HTTP role reads.
      const [stored] = await waitFor("the state in Redis", async () => {
        const states = await readHealth(connection, h.prefix);
        return states[0]?.alerting ? states : undefined;
      });
      expect(stored).toMatchObject({ name: "wedged", state: "wedged", alerting: true });

      // Nothing piled up: the INGEST queue drained (every event processed), and the BMC never had more
      // calls on the wire or waiting than the pool allows (BmcPool defaults: 4 in flight, 32 queued;
      // enrichment's reads and the start's warm-up share them).
      const queue = ingestQueue(connection, h.prefix);
      expect(await queue.getJobCounts("wait", "active", "delayed", "failed")).toEqual({
        wait: 0,
        active: 0,
        delayed: 0,
        failed: 0,
      });
      await queue.close();
      expect(peak.inFlight).toBeGreaterThan(0);
      expect(peak.inFlight).toBeLessThanOrEqual(4);
      expect(peak.queued).toBeLessThanOrEqual(32);

      // The operator runs the remedy the alert gives (the password from the environment, as ever).
      const remedy = /remedy: petgate (bmc reset-cold -H \S+ -U \S+)/.exec(firing.detail ?? "")?.[1];
      const reset = await petgate([...(remedy ?? "").split(" "), "--password-env", "BMC_PASSWORD"], "", {
        BMC_PASSWORD: SIM_PASSWORD,
      });
      expect(reset.code, reset.stderr).toBe(0);
      expect(sim.counters().coldResets).toBe(1);
      const resolved = await waitFor("the recovery notification", () => health("resolved"), 15_000);
      expect(resolved).toMatchObject({ bmc: { name: "wedged" }, startsAt: firing.startsAt });
      const [recovered] = await waitFor("the recovery in Redis", async () => {
        const states = await readHealth(connection, h.prefix);
        return states[0]?.alerting === false ? states : undefined;
      });
      expect(recovered).toMatchObject({ name: "wedged", state: "ok", alerting: false });

      // Exactly once each: the events, the alert and its recovery.
      await waitFor(
        "the delivery worker to settle",
        () => delivered(h.pipeline, "webhook") >= N + 2 || undefined,
      );
      expect(bodies(webhook)).toHaveLength(N + 2);
      expect(webhook.notificationIds()).toHaveLength(N + 2);
      expect(webhook.idempotencyKeys()).toHaveLength(webhook.requests.length);
    } finally {
      clearInterval(sampler);
      await h.close();
      await webhook.close();
      await fleet.stop();
      connection.disconnect();
    }
  }, 45_000);

  it("a delivery worker process SIGKILLed mid-job while PETs flow: a new one takes over, each event delivered once", async () => {
    const N = 40;
    const run = ++runs;
    const prefix = `fail${run}`;
    // The fifth request never gets an answer: its worker is killed while it waits.
    const webhook = await startHttpReceiver({
      secret: HOOK_SECRET,
      script: [{ status: 200 }, { status: 200 }, { status: 200 }, { status: 200 }, "hang"],
      otherwise: { status: 200 },
    });
    const raw = {
      ...rawConfig(["webhook"], { groupInterval: "200ms" }),
      receivers: [{ name: "webhook", webhook: { url: webhook.url, secret: { env: "HOOK_SECRET" } } }],
    };
    const config = configSchema.parse(raw);
    const file = join(spoolDir, `petgate-${run}.yml`);
    writeFileSync(file, JSON.stringify(raw)); // JSON is YAML
    const env = {
      PETGATE_REDIS: redis.socket,
      PETGATE_PREFIX: prefix,
      PETGATE_LOCK_DURATION_MS: "1000",
      PETGATE_STALLED_INTERVAL_MS: "300",
      HOOK_SECRET,
    };
    const deliveryWorker = () => nodeDaemon(DELIVERY_WORKER, [file], /delivery worker started/, env);
    const children: Daemon[] = [];
    const intake = await startIntake({
      config,
      redis: redis.socket,
      prefix,
      spoolFile: join(spoolDir, `spool-${run}.ndjson`),
      log: () => undefined,
    });
    const events = await startEventsWorker({
      config,
      connection: redis.socket,
      prefix,
      inventory: [],
      tickMs: 50,
      log: () => undefined,
    });
    const connection = new Redis(redis.socket);
    try {
      children.push(await deliveryWorker());
      const port = intake.listener.address().port;
      const stream = (async () => {
        for (let i = 0; i < N; i++) {
          await sendPets(port, run, i, i + 1);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      await waitFor("the request left hanging", () => webhook.requests.length >= 5 || undefined, 20_000);
      const first = children[0] as Daemon;
      first.child.kill("SIGKILL");
      await first.exited;
      // Keys the killed worker had sent: those it may not have recorded as delivered.
      const sentBeforeKill = new Set(webhook.idempotencyKeys());
      const hung = webhook.requests[4]?.idempotencyKey;
      children.push(await deliveryWorker());
      await stream;

      await waitFor(
        "every event at the webhook",
        () => webhook.notificationIds().length >= N || undefined,
        30_000,
      );
      const deliver = deliverQueue(connection, prefix);
      await waitFor(
        "the DELIVER queue to drain",
        async () => {
          const c = await deliver.getJobCounts("wait", "active", "delayed", "failed");
          return (c.wait === 0 && c.active === 0 && c.delayed === 0 && c.failed === 0) || undefined;
        },
        20_000,
      );
      await deliver.close();

      expect(intake.ingest.stats().received).toBe(N);
      expect(new Set(bodies(webhook).map((n) => n.event.eventData)).size).toBe(N);
      expect(webhook.requests.every((r) => r.signatureValid === true)).toBe(true);
      // Once per idempotency key, except what the killed worker had in hand: sent again once, same key.
      const perKey = new Map<string, number>();
      for (const r of webhook.requests)
        perKey.set(r.idempotencyKey ?? "", (perKey.get(r.idempotencyKey ?? "") ?? 0) + 1);
      expect(perKey.get(hung ?? "")).toBe(2);
      for (const [key, count] of perKey)
        expect(count === 1 || (count === 2 && sentBeforeKill.has(key)), key).toBe(true);
      // Each delivery recorded once, none dead-lettered.
      expect(await connection.keys(deliveredMarkerKey(prefix, "*"))).toHaveLength(N);
      expect(await new DeadLetterQueue(connection, prefix).size()).toBe(0);
    } finally {
      for (const c of children)
        if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGTERM");
      await Promise.all(children.map((c) => c.exited));
      await intake.close();
      await events.close();
      connection.disconnect();
      await webhook.close();
    }
  }, 60_000);
});
