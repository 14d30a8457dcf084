import type { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import type { TrapEvent } from "../../src/pet/trap.js";
import type { Notification } from "../../src/pipeline/alerting/notification.js";
import { FLEET } from "../../src/pipeline/alerting/storm.js";
import type { EventsWorker } from "../../src/pipeline/events-worker.js";
import { eventId } from "../../src/pipeline/intake/event.js";
import type { DeliveryWorker } from "../../src/pipeline/notify/deliver.js";
import { INGEST_JOB, ingestQueue } from "../../src/pipeline/queues.js";
import type { Sink } from "../../src/sinks/sink.js";
import { type RecordingPipeline, startRecordingPipeline } from "../support/deliver.js";
import { waitFor } from "../support/listener.js";
import { assertedPetFrom } from "../support/redis.js";

/*
 * A flood from many (spoofed) sources, each under its per-BMC storm limit, through the events worker
 * and the delivery worker on a real Redis: the receiver gets the fleet limit of notifications, then,
 * once the fleet's storm window has closed, one summary of what was held.
 */

const SOURCES = 60;
const FLEET_LIMIT = 10;

let running: RecordingPipeline | undefined;
let producer: Redis;
let events: EventsWorker;
let delivery: DeliveryWorker;
/** Storm control's clock runs ahead of Date.now by this much: the test closes the window by moving it. */
let ahead = 0;

const received: Notification[] = [];
const recorder: Sink = {
  name: "ops",
  async send(group) {
    received.push(...group.notifications);
    return { outcome: "delivered" };
  },
};

const config = configSchema.parse({
  routes: { receiver: "ops", group_by: ["bmc"], group_wait: "0s" },
  receivers: [{ name: "ops", webhook: { url: "http://127.0.0.1:9/unused" } }],
  storm: { limit: 20, per: "1m", fleet: { limit: FLEET_LIMIT, per: "1m" } },
});

/** A PET asserted by a source of its own (address and GUID), so that each is an alert of its own. */
function trapFrom(i: number): TrapEvent {
  return assertedPetFrom(`127.0.${i}.1`, `00000000-0000-0000-0000-${i.toString(16).padStart(12, "0")}`, i);
}

beforeAll(async () => {
  running = await startRecordingPipeline(config, recorder, { stormClock: () => Date.now() + ahead });
  ({ producer, events, delivery } = running);
}, 20_000);

afterAll(() => running?.close());

it("delivers at most the fleet limit of a many-source flood, then one summary of what it held", async () => {
  const queue = ingestQueue(producer);
  try {
    const traps = Array.from({ length: SOURCES }, (_, i) => trapFrom(i));
    await queue.add(INGEST_JOB, { events: traps.map((trap) => ({ id: eventId(trap), trap })) });
    await waitFor(
      "every event processed",
      () => {
        const { sent = 0, storm = 0 } = events.stats().outcomes;
        return sent + storm === SOURCES || undefined;
      },
      20_000,
    );
    await waitFor(
      "every enqueued delivery done",
      () => delivery.stats().outcomes.ops?.delivered === events.stats().deliveries || undefined,
      20_000,
    );
    expect(events.stats().outcomes).toEqual({ sent: FLEET_LIMIT, storm: SOURCES - FLEET_LIMIT });
    expect(received).toHaveLength(FLEET_LIMIT);

    ahead = 60_000;
    const summary = await waitFor(
      "the fleet storm summary",
      () => received.find((n) => n.bmc.name === FLEET),
      20_000,
    );
    expect(summary.summary).toBe(
      `fleet: ${SOURCES - FLEET_LIMIT} events suppressed in the last minute from ${SOURCES - FLEET_LIMIT} sources`,
    );
    expect(summary.detail).toMatch(/^Top sources: (127\.0\.\d+\.1 \(1\)(, )?){5}\. Top alerts: /);
    expect(received).toHaveLength(FLEET_LIMIT + 1);
  } finally {
    await queue.close();
  }
});
