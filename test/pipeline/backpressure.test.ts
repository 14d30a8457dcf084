import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { startEventsWorker } from "../../src/pipeline/events-worker.js";
import { eventId } from "../../src/pipeline/intake/event.js";
import { deliverQueue, startDeliveryWorker } from "../../src/pipeline/notify/deliver.js";
import { INGEST_JOB, ingestQueue } from "../../src/pipeline/queues.js";
import { WebhookSink } from "../../src/sinks/webhook.js";
import { type HttpReceiver, startHttpReceiver } from "../support/http-receiver.js";
import { waitFor } from "../support/listener.js";
import { petTrap, startRedis, type TestRedis } from "../support/redis.js";

/*
 * Backpressure (deliverHighWater): while more DELIVER jobs wait than the high water, the events worker
 * takes no INGEST batch; once deliveries catch up it carries on, and nothing is lost. A batch's groups
 * due at once are one flush: one DELIVER job (one receiver here).
 */

const PREFIX = "backpressure-test";

let redis: TestRedis;
let webhook: HttpReceiver;
let client: Redis;
beforeAll(async () => {
  redis = await startRedis();
  webhook = await startHttpReceiver();
  client = new Redis(redis.socket);
});
afterAll(async () => {
  client?.disconnect();
  await webhook?.close();
  await redis?.dispose();
});

/**
 * A batch of `n` assertions, each from its own address and sensor (the alert's key has the sensor and
 * the PET's GUID, the same in every fixture; the group has the BMC, named by address here).
 */
function batch(first: number, n: number) {
  const events = Array.from({ length: n }, (_, i) => {
    const pet = petTrap(first + i, { address: `192.0.2.${first + i}`, port: 623 });
    if (pet.kind !== "pet") throw new Error("not a PET");
    const trap = {
      ...pet,
      pet: { ...pet.pet, eventDirection: "assertion" as const, sensorNumber: first + i },
    };
    return { id: eventId(trap), trap };
  });
  return { events };
}

it("stops taking INGEST batches while deliveries lag, and takes them again once they caught up", async () => {
  const yml = {
    routes: { receiver: "ops", group_by: ["bmc"], group_wait: "0s" }, // a group a BMC, each due at once
    receivers: [{ name: "ops", webhook: { url: webhook.url } }],
  };
  const logs: string[] = [];
  const events = await startEventsWorker({
    config: configSchema.parse(yml),
    connection: redis.socket,
    prefix: PREFIX,
    inventory: [],
    concurrency: 1,
    deliverHighWater: 1,
    log: (l) => logs.push(l),
  });
  const ingest = ingestQueue(client, PREFIX);
  const deliver = deliverQueue(client, PREFIX);
  const sink = new WebhookSink({ name: "ops", url: webhook.url });
  try {
    await ingest.add(INGEST_JOB, batch(1, 2));
    await ingest.add(INGEST_JOB, batch(3, 2));
    await waitFor("2 deliveries waiting", async () => (await deliver.getWaitingCount()) === 2 || undefined);
    await waitFor("the worker paused", () => events.stats().pauses === 1 || undefined);
    // A paused BullMQ worker may still take the one job its blocking fetch was waiting for; no more.
    await ingest.add(INGEST_JOB, batch(5, 2));
    await ingest.add(INGEST_JOB, batch(7, 2));
    await new Promise((r) => setTimeout(r, 1500));
    expect(await ingest.getWaitingCount()).toBeGreaterThanOrEqual(1);
    expect(await deliver.getWaitingCount()).toBeLessThanOrEqual(3);

    const delivery = await startDeliveryWorker({
      connection: redis.socket,
      prefix: PREFIX,
      sinks: new Map([["ops", sink]]),
    });
    try {
      await waitFor(
        "8 notifications at the webhook",
        () => webhook.requests.length === 8 || undefined,
        10_000,
      );
    } finally {
      await delivery.close();
    }
    await waitFor("every batch completed", async () => (await ingest.getCompletedCount()) === 4 || undefined);
    expect(new Set(webhook.idempotencyKeys()).size).toBe(8);
    expect(logs.filter((l) => /events worker (paused|resumed)/.test(l))).toEqual([
      "events worker paused: 2 deliveries waiting (high water 1)",
      "events worker resumed: 0 deliveries waiting",
    ]);
  } finally {
    await sink.close();
    await deliver.close();
    await ingest.close();
    await events.close();
  }
});
