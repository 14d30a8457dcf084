import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import type { EventsWorker } from "../../src/pipeline/events-worker.js";
import { eventId } from "../../src/pipeline/intake/event.js";
import type { DeliveryWorker } from "../../src/pipeline/notify/deliver.js";
import { INGEST_JOB, ingestQueue } from "../../src/pipeline/queues.js";
import type { Sink } from "../../src/sinks/sink.js";
import { type RecordingPipeline, startRecordingPipeline } from "../support/deliver.js";
import { waitFor } from "../support/listener.js";
import { assertedPetFrom } from "../support/redis.js";

/*
 * Grouping in the events worker: two alerts of one group that arrive within group_wait reach the
 * receiver together, once group_wait has passed (the first is not sent on its own).
 */

let running: RecordingPipeline | undefined;
let producer: Redis;
let events: EventsWorker;
let delivery: DeliveryWorker;

/** What the receiver got, with how many events the events worker had grouped by then. */
const received: { notification: Notification; groupedBefore: number }[] = [];

const recorder: Sink = {
  name: "ops",
  async send(group) {
    const groupedBefore = events.stats().outcomes.sent ?? 0;
    for (const notification of group.notifications) received.push({ notification, groupedBefore });
    return { outcome: "delivered" };
  },
};

const config = configSchema.parse({
  routes: { receiver: "ops", group_by: ["label_rack"], group_wait: "300ms", group_interval: "5m" },
  receivers: [{ name: "ops", webhook: { url: "http://127.0.0.1:9/unused" } }],
});

beforeAll(async () => {
  running = await startRecordingPipeline(config, recorder);
  ({ producer, events, delivery } = running);
}, 20_000);

afterAll(() => running?.close());

describe("grouping in the events worker", () => {
  it("delivers two alerts of one group together, after group_wait", async () => {
    const queue = ingestQueue(producer);
    try {
      const traps = [
        assertedPetFrom("192.0.2.21", "11111111-1111-1111-1111-111111111111"),
        assertedPetFrom("192.0.2.22", "22222222-2222-2222-2222-222222222222"),
      ];
      // As a listener hands them over: one INGEST batch each, a moment apart.
      for (const trap of traps) await queue.add(INGEST_JOB, { events: [{ id: eventId(trap), trap }] });
      await waitFor("both events grouped", () => events.stats().outcomes.sent === 2 || undefined);
      await waitFor("both deliveries", () => received.length === 2 || undefined);
      // Neither went out before both were in the group, and they went out as one batch.
      expect(received.map((r) => r.groupedBefore)).toEqual([2, 2]);
      expect(new Set(received.map((r) => r.notification.bmc.name))).toEqual(
        new Set(["192.0.2.21", "192.0.2.22"]),
      );
      // The sink has answered; the workers count once their own awaits resume.
      await waitFor(
        "both counted delivered",
        () => delivery.stats().outcomes.ops?.delivered === 2 || undefined,
      );
      await waitFor("the batch counted", () => events.stats().batches === 1 || undefined);
      expect(events.stats()).toMatchObject({ batches: 1, deliveries: 2 });
      // Both were held in the outbox until their batch was on the DELIVER queue, then released.
      await waitFor(
        "the outbox released",
        async () => (await producer.zcard("petgate:outbox")) === 0 || undefined,
      );
      expect(await producer.hlen("petgate:outbox:data")).toBe(0);
    } finally {
      await queue.close();
    }
  }, 20_000);
});
