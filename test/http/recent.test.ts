import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventId, type QueuedEvent } from "../../src/pipeline/event.js";
import type { ProcessedEvent } from "../../src/pipeline/events-worker.js";
import { buildNotification } from "../../src/pipeline/notification.js";
import { RecentEvents } from "../../src/pipeline/recent.js";
import { petTrap, startRedis, type TestRedis } from "../support/redis.js";

/*
 * The recent-events store on a real redis-server, with processed events as the events worker hands
 * them over (real PET traps, notifications built by the pipeline's own buildNotification).
 */

let redis: TestRedis;
let writer: Redis;
let reader: Redis;

beforeAll(async () => {
  redis = await startRedis();
  writer = new Redis(redis.socket);
  reader = new Redis(redis.socket);
});

afterAll(async () => {
  writer?.disconnect();
  reader?.disconnect();
  await redis?.dispose();
});

const SOURCE = { address: "127.44.0.1", port: 623 };

function processed(sequence: number, receivers = ["webhook", "email"]): ProcessedEvent {
  const trap = petTrap(sequence, SOURCE);
  const event: QueuedEvent = { id: eventId(trap), trap };
  const notification = buildNotification(event, {
    status: "ok",
    bmc: { name: "bmc-7", address: SOURCE.address, labels: {} },
    sensor: { name: "Intrusion", reading: null, unit: "", thresholds: {} },
  });
  return { event, enrichment: "ok", enrichMs: 3, outcome: "sent", notification, receivers };
}

describe("RecentEvents", () => {
  it("keeps the newest `max` entries, readable from another connection, and drops the rest with their deliveries", async () => {
    const prefix = "trim";
    const store = new RecentEvents(writer, { prefix, max: 3 });
    const all = [1, 2, 3, 4, 5].map((n) => processed(n));
    for (const [i, p] of all.entries()) await store.record(p, 1_000 + i);
    await store.trim();

    const listed = await new RecentEvents(reader, { prefix, max: 3 }).list();
    expect(listed.map((e) => e.id)).toEqual(
      all
        .slice(2)
        .reverse()
        .map((p) => p.event.id),
    );
    expect(listed[0]?.deliveries).toMatchObject({
      webhook: { status: "pending" },
      email: { status: "pending" },
    });
    const deliveryKeys = all.map((p) => `${prefix}:recent:delivery:${p.notification?.id}`);
    expect(await reader.exists(...deliveryKeys.slice(0, 2))).toBe(0);
    expect(await reader.exists(...deliveryKeys.slice(2))).toBe(3);
  });

  it("shows a delivery the worker recorded even before the event itself", async () => {
    const store = new RecentEvents(writer, { prefix: "early" });
    const p = processed(10);
    const id = p.notification?.id ?? "";
    await store.recordDelivery(id, "webhook", "delivered");
    expect(await reader.ttl(`early:recent:delivery:${id}`)).toBeGreaterThan(0);

    await store.record(p);
    await store.recordDelivery(id, "email", "exhausted");
    const [entry] = await store.list();
    expect(entry?.deliveries).toMatchObject({
      webhook: { status: "delivered", outcome: "delivered" },
      email: { status: "dead-lettered", outcome: "exhausted" },
    });
    // Adopted by its entry: it now lives as long as the entry does.
    expect(await reader.ttl(`early:recent:delivery:${id}`)).toBe(-1);
  });

  it("lets the delivery of a notification it never recorded expire", async () => {
    const store = new RecentEvents(writer, { prefix: "orphan" });
    await store.recordDelivery("health-alert-id", "webhook", "delivered");
    const ttl = await reader.ttl("orphan:recent:delivery:health-alert-id");
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3600);
    expect(await store.list()).toEqual([]);
  });

  it("names the sender from the inventory when the event made no notification", async () => {
    const store = new RecentEvents(writer, {
      prefix: "names",
      inventory: [{ name: "bmc-7", host: SOURCE.address }],
    });
    const { notification: _, receivers: __, ...p } = processed(20);
    await store.record({ ...p, outcome: "unchanged" });
    const [entry] = await store.list({ bmc: "bmc-7" });
    expect(entry).toMatchObject({
      bmc: "bmc-7",
      source: SOURCE.address,
      status: null,
      outcome: "unchanged",
      notification: null,
      deliveries: {},
      direction: "deassertion",
    });
  });
});
